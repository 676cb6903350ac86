"""The steward's notification: each welfare notice as one OSC message to a phone or a desk.

``[care.notify]`` names the device: a notice raised goes to ``ADDRESS/raised`` with three strings
(the wearer's slot, the rule, the message in words and figures) and its time as a float (Unix
seconds); its end goes to ``ADDRESS/cleared`` with the slot and the rule. One UDP datagram each,
from a socket of its own that never blocks the show; a device that is not there is logged once.
Nothing is sent unless a port is configured.
"""

from __future__ import annotations

import errno
import logging
import socket

from pythonosc.osc_message_builder import OscMessageBuilder

from installation.config import CareNotifyConfig
from installation.status import Notice

log = logging.getLogger(__name__)


def notice_message(address: str, notice: Notice) -> bytes:
    """``ADDRESS/raised ,sssf wearer rule message wall_time_s`` as an OSC datagram."""
    builder = OscMessageBuilder(f"{address.rstrip('/')}/raised")
    for text in (notice.wearer, notice.rule, notice.message):
        builder.add_arg(text, OscMessageBuilder.ARG_TYPE_STRING)
    builder.add_arg(float(notice.wall_time_s), OscMessageBuilder.ARG_TYPE_FLOAT)
    return builder.build().dgram


def cleared_message(address: str, wearer: str, rule: str) -> bytes:
    """``ADDRESS/cleared ,ss wearer rule`` as an OSC datagram."""
    builder = OscMessageBuilder(f"{address.rstrip('/')}/cleared")
    builder.add_arg(wearer, OscMessageBuilder.ARG_TYPE_STRING)
    builder.add_arg(rule, OscMessageBuilder.ARG_TYPE_STRING)
    return builder.build().dgram


class StewardNotify:
    """A notice board's listener that sends each welfare notice (``care.*``) to the steward's device.

    Parameters
    ----------
    settings : CareNotifyConfig
        ``[care.notify]`` with a port.
    rules : str
        Prefix of the rules that are sent (the welfare watch's; the sensor warnings stay on the console).

    Attributes
    ----------
    sent, failed : int
        Datagrams handed to the network, and those that could not be.
    """

    def __init__(self, settings: CareNotifyConfig, rules: str = "care.") -> None:
        if settings.port is None:
            raise ValueError("[care.notify] has no port: nothing to send to")
        self.target = (settings.host, settings.port)
        self.address = settings.address
        self.rules = rules
        self.sent = 0
        self.failed = 0
        self._warned = False
        self._socket: socket.socket | None = None

    def _open(self) -> socket.socket:
        if self._socket is None:
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.setblocking(False)
            if self.target[0].endswith(".255"):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
            self._socket = sock
        return self._socket

    def _send(self, datagram: bytes) -> None:
        try:
            self._open().sendto(datagram, self.target)
            self.sent += 1
        except OSError as exc:
            self.failed += 1
            if not self._warned:
                self._warned = True
                reason = "refused" if exc.errno == errno.ECONNREFUSED else (exc.strerror or str(exc))
                log.warning("care.notify %s:%d: cannot send the notice (%s); it stays on the console",
                            self.target[0], self.target[1], reason)

    def raised(self, notice: Notice) -> None:
        """A notice was raised (the board calls this)."""
        if notice.rule.startswith(self.rules):
            self._send(notice_message(self.address, notice))

    def cleared(self, wearer: str, rule: str) -> None:
        """A notice ended (the board calls this)."""
        if rule.startswith(self.rules):
            self._send(cleared_message(self.address, wearer, rule))

    def close(self) -> None:
        """Release the socket."""
        if self._socket is not None:
            self._socket.close()
            self._socket = None
