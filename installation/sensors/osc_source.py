"""OSC over UDP (python-osc's parser): EmotiBit, OpenBCI GUI, Mind Monitor / Muse and
our own ``/eco/...`` namespace, with bundles and time tags, loopback by default and
an allow-list of senders."""

from __future__ import annotations

import logging
import socket
from collections import Counter

from pythonosc.parsing import osc_types
from pythonosc.osc_bundle import OscBundle
from pythonosc.osc_message import OscMessage
from pythonosc.osc_packet import ParseError

from installation.clock import Clock, MonotonicClock
from installation.sensors.assemble import BlockAssembler
from installation.sensors.base import SampleBlock, SourceBase, SourceError
from installation.sensors.parsers import FormatError, Reading, osc_readings

log = logging.getLogger(__name__)

#: Datagrams larger than this are dropped (and counted): no sensor sends them.
MAX_PACKET_BYTES = 8192


def osc_messages(dgram: bytes) -> list[tuple[float | None, OscMessage]]:
    """Messages in a datagram with their bundle's time tag (Unix seconds; None: none given).

    Nested bundles keep their own time tags; "immediately" counts as none.
    """
    if OscBundle.dgram_is_bundle(dgram):
        bundle = OscBundle(dgram)
        tag = None if bundle.timestamp == osc_types.IMMEDIATELY else float(bundle.timestamp)
        out: list[tuple[float | None, OscMessage]] = []
        for content in bundle:
            if isinstance(content, OscBundle):
                out += osc_messages(content.dgram)
            else:
                out.append((tag, content))
        return out
    if OscMessage.dgram_is_message(dgram):
        return [(None, OscMessage(dgram))]
    raise ParseError("neither an OSC message nor a bundle")


class OscSource(SourceBase):
    """Listens for sensor OSC on one UDP port.

    Parameters
    ----------
    port : int
        UDP port (EmotiBit and OpenBCI default to 12345, Mind Monitor to 5000).
    host : str
        Address to bind. Loopback unless the show file opens it (``0.0.0.0``).
    allow : list of str, optional
        Sender addresses accepted; default: only the loopback range when bound to
        loopback, anyone otherwise.
    wearers : list of str
        Wearer slot for each device index (EmotiBit ``/EmotiBit/<n>``, OpenBCI and
        Muse are device 0). ``/eco/p<N>/...`` names its slot itself.
    rates_hz : dict, optional
        Nominal rate per reading kind (EmotiBit: PPG 25 Hz, EDA 15 Hz).
    clock : Clock, optional
        Monotonic time source (arrival stamps).
    """

    def __init__(
        self,
        port: int,
        host: str = "127.0.0.1",
        allow: list[str] | None = None,
        wearers: list[str] | None = None,
        rates_hz: dict[str, float] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.port = port
        self.host = host
        self.allow = set(allow) if allow is not None else None
        self.name = f"osc {host}:{port}"
        self.clock = clock or MonotonicClock()
        self.devices = BlockAssembler(wearers or ["p1"], rates_hz)
        self.native = BlockAssembler([f"p{i + 1}" for i in range(256)], rates_hz)
        self._socket: socket.socket | None = None
        self.packets = 0
        self.corrupt = 0
        self.refused = 0
        self.oversized = 0
        self.ignored = 0
        self.rigs: Counter[str] = Counter()

    def open(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind((self.host, self.port))
        except OSError as exc:
            sock.close()
            raise SourceError(f"{self.name}: cannot listen: {exc.strerror or exc}") from None
        self.port = sock.getsockname()[1]
        self.name = f"osc {self.host}:{self.port}"
        self._socket = sock

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def _allowed(self, sender: str) -> bool:
        if self.allow is not None:
            return sender in self.allow
        if self.host.startswith("127."):
            return sender.startswith("127.")
        return True

    def read(self, timeout_s: float) -> list[SampleBlock]:
        """Datagrams that arrive within ``timeout_s`` seconds (then whatever is queued), as blocks."""
        sock = self._socket
        if sock is None:
            raise SourceError(f"{self.name}: read() before open()")
        sock.settimeout(timeout_s)
        got = False
        while True:
            try:
                data, (sender, _) = sock.recvfrom(65536)
            except (TimeoutError, BlockingIOError):
                break
            except OSError as exc:
                log.warning("%s: receive failed: %s", self.name, exc)
                break
            got = True
            self._datagram(data, sender)
            sock.settimeout(0.0)  # drain what is already there, without waiting again
        if not got:
            return []
        arrival_s = self.clock.now_s()
        return self.devices.blocks(arrival_s) + self.native.blocks(arrival_s)

    def _datagram(self, data: bytes, sender: str) -> None:
        self.packets += 1
        if not self._allowed(sender):
            self.refused += 1
            if self.refused <= 3:
                log.warning("%s: refused a packet from %s (not in the allow-list)", self.name, sender)
            return
        if len(data) > MAX_PACKET_BYTES:
            self.oversized += 1
            return
        try:
            messages = osc_messages(data)
        except Exception as exc:  # python-osc raises several types on garbage; none may escape
            self.corrupt += 1
            if self.corrupt <= 3:
                log.warning("%s: dropped a packet that is not OSC (%s: %s)", self.name, type(exc).__name__, exc)
            return
        for device_time, message in messages:
            try:
                found = osc_readings(message.address, list(message.params))
            except FormatError as exc:
                self.corrupt += 1
                if self.corrupt <= 3:
                    log.warning("%s: dropped a message: %s", self.name, exc)
                continue
            if found is None:
                self.ignored += 1
                continue
            self.rigs[found.rig] += 1
            n = len(found.values)
            readings = [
                Reading(found.sensor, found.kind, v, found.unit,
                        None if device_time is None else device_time - (n - 1 - i) / self.devices.rates_hz[found.kind])
                for i, v in enumerate(found.values)
            ]
            (self.native if found.rig == "native" else self.devices).add(readings)
