"""Serial sensors (pyserial): read what is waiting, split lines ourselves, parse,
and survive the cable being pulled (reconnect with a short backoff)."""

from __future__ import annotations

import fnmatch
import logging


import serial
from serial.tools import list_ports

from installation.clock import Clock, MonotonicClock
from installation.sensors.assemble import BlockAssembler
from installation.sensors.base import SampleBlock, SourceBase
from installation.sensors.parsers import AutoParser, FormatError, LineParser

log = logging.getLogger(__name__)

MAX_LINE_BYTES = 512


def find_port(pattern: str) -> str | None:
    """The first serial port whose device, description or hardware id matches.

    ``pattern`` is a glob on the device path or description (``"*ACM*"``,
    ``"*Arduino*"``), or a USB id ``"usb:VID:PID"`` in hex (``"usb:2341:0043"``).
    """
    for port in list_ports.comports():
        if pattern.lower().startswith("usb:"):
            vid, _, pid = pattern[4:].partition(":")
            if port.vid == int(vid, 16) and (not pid or port.pid == int(pid, 16)):
                return port.device
        elif any(fnmatch.fnmatch(text or "", pattern) for text in (port.device, port.description, port.hwid)):
            return port.device
    return None


class SerialSource(SourceBase):
    """A line-based sensor on a serial port.

    Parameters
    ----------
    port : str
        Device path (``/dev/ttyACM0``, ``COM3``), or ``match:<pattern>`` (a glob, or
        ``usb:VID:PID``) to find it with :func:`find_port`, again at every reconnect.
    baudrate : int
        Line speed.
    parser : LineParser
        The format of its lines.
    wearers : list of str
        Wearer slot of each sensor on the device.
    rates_hz : dict, optional
        Nominal rate per reading kind, for lines without a device clock.
    clock : Clock, optional
        Monotonic time source (arrival stamps).
    max_backoff_s : float
        Longest wait between reconnection attempts, so a replugged sensor is back
        within about this long.
    """

    def __init__(
        self,
        port: str,
        baudrate: int,
        parser: LineParser | AutoParser,
        wearers: list[str],
        rates_hz: dict[str, float] | None = None,
        clock: Clock | None = None,
        max_backoff_s: float = 0.5,
    ) -> None:
        self.port = port
        self.baudrate = baudrate
        self.parser = parser
        self.name = f"serial {port} ({parser.name})"
        self.clock = clock or MonotonicClock()
        self.assembler = BlockAssembler(wearers, rates_hz)
        self.max_backoff_s = max_backoff_s
        self._serial: serial.Serial | None = None
        self._buffer = b""
        self._next_try_s = 0.0
        self._backoff_s = 0.05
        self._last_seq: int | None = None
        self._open_requested = False
        self.lines = 0
        self.corrupt = 0
        self.lost = 0
        self.reconnects = 0
        self.last_error = ""

    @property
    def connected(self) -> bool:
        return self._serial is not None

    def open(self) -> None:
        """Start using the port; if it is not there yet, keep trying in :meth:`read`."""
        self._open_requested = True
        self._try_connect()

    def close(self) -> None:
        self._open_requested = False
        self._drop("closed")

    def _device(self) -> str | None:
        if self.port.startswith("match:"):
            return find_port(self.port[len("match:") :])
        return self.port

    def _try_connect(self) -> None:
        device = self._device()
        try:
            if device is None:
                raise OSError("no port matches")
            self._serial = serial.Serial(device, self.baudrate, timeout=0)
        except (OSError, serial.SerialException) as exc:
            self._serial = None
            self.last_error = str(exc)
            self._next_try_s = self.clock.now_s() + self._backoff_s
            self._backoff_s = min(self.max_backoff_s, self._backoff_s * 2)
            return
        if self.reconnects or self.lines:
            log.warning("%s: connected again", self.name)
        self.reconnects += 1
        self._backoff_s = 0.05
        self._buffer = b""

    def _drop(self, why: str) -> None:
        if self._serial is not None:
            try:
                self._serial.close()
            except (OSError, serial.SerialException):
                pass
            self._serial = None
            if self._open_requested:
                log.warning("%s: lost (%s); reconnecting", self.name, why)
        self._next_try_s = self.clock.now_s() + self._backoff_s

    def read(self, timeout_s: float) -> list[SampleBlock]:
        """Whatever complete lines arrived within ``timeout_s`` seconds, as blocks."""
        if self._serial is None:
            wait = self._next_try_s - self.clock.now_s()
            if wait > 0:
                self.clock.sleep_s(min(wait, timeout_s))
                return []
            self._try_connect()
            if self._serial is None:
                return []
        port = self._serial
        try:
            port.timeout = timeout_s
            data = port.read(max(1, port.in_waiting))
            if data:
                waiting = port.in_waiting
                if waiting:
                    data += port.read(waiting)
        except (OSError, serial.SerialException) as exc:
            self.last_error = str(exc)
            self._drop(str(exc) or type(exc).__name__)
            return []
        if not data:
            return []
        arrival_s = self.clock.now_s()
        self._feed(data)
        return self.assembler.blocks(arrival_s)

    def _feed(self, data: bytes) -> None:
        self._buffer += data
        *lines, self._buffer = self._buffer.replace(b"\r", b"\n").split(b"\n")
        if len(self._buffer) > MAX_LINE_BYTES:
            self.corrupt += 1
            self._buffer = b""
        for raw in lines:
            if not raw.strip():
                continue
            self.lines += 1
            try:
                text = raw.decode("ascii")
                readings = self.parser.parse(text)
            except (UnicodeDecodeError, FormatError) as exc:
                self.corrupt += 1
                if self.corrupt <= 5:
                    log.warning("%s: dropped a bad line (%s): %r", self.name, exc, raw[:60])
                continue
            seq = readings[0].seq if readings else None
            if seq is not None:
                if self._last_seq is not None:
                    self.lost += (seq - self._last_seq - 1) % 65536
                self._last_seq = seq
            self.assembler.add(readings)


