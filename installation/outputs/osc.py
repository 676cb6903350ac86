"""OSC peers: UDP senders that never hold up the show, and say once when a peer stops answering.

A peer that is not there is no error. Each peer has its own connected UDP socket:
on Linux, a closed port answers with an ICMP "port unreachable" that the next send
reports as ``ECONNREFUSED``; the peer is then logged once as not answering, and once
again when it has answered for a while (no refusal for ``BACK_AFTER_S`` of sending).
A host that drops packets silently cannot be told apart from one that listens.
"""

from __future__ import annotations

import errno
import logging
import math
import socket

from pythonosc.parsing import osc_types

from installation.outputs.encoders import Message

log = logging.getLogger(__name__)

#: A peer that refused is "back" after answering this long without a refusal (seconds).
BACK_AFTER_S = 3.0
#: A socket that could not be made or connected (no route) is tried again after this (seconds).
RETRY_S = 2.0

_REFUSED = {errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN, errno.ENETDOWN}


class OscEncoder:
    """OSC messages as bytes, with python-osc's primitives; the address and type tags of each
    address are encoded once (a message then costs about 2 us instead of python-osc's builder's 12)."""

    def __init__(self) -> None:
        self._heads: dict[tuple[str, str], bytes] = {}

    def encode(self, address: str, args: tuple[float | int, ...]) -> bytes:
        tags = "".join("i" if isinstance(a, int) and not isinstance(a, bool) else "f" for a in args)
        head = self._heads.get((address, tags))
        if head is None:
            if len(self._heads) > 100_000:
                self._heads.clear()
            head = self._heads[(address, tags)] = osc_types.write_string(address) + osc_types.write_string("," + tags)
        if not args:
            return head
        return head + b"".join(osc_types.write_int(a) if t == "i" else osc_types.write_float(a)  # type: ignore[arg-type]
                               for a, t in zip(args, tags))


class OscPeer:
    """One OSC receiver at ``host:port``, sent to over UDP without ever blocking or raising.

    Parameters
    ----------
    host : str
        The peer's IP address (a broadcast address works).
    port : int
        Its UDP port.
    label : str, optional
        How the log names it (default ``osc HOST:PORT``).

    Attributes
    ----------
    sent : int
        Messages handed to the network.
    failed : int
        Messages that could not be sent (refused, no route, buffer full).
    answering : bool
        False after a refusal, until the peer has answered for ``BACK_AFTER_S``.
    """

    def __init__(self, host: str, port: int, label: str | None = None) -> None:
        self.target = (host, port)
        self.label = label or f"osc {host}:{port}"
        self.sent = 0
        self.failed = 0
        self.answering = True
        self._encoder = OscEncoder()
        self._socket: socket.socket | None = None
        self._retry_s = -math.inf
        self._refused_s = -math.inf
        self._ok_since_s = math.nan
        self._reason = ""

    def _open(self, now_s: float) -> socket.socket | None:
        if self._socket is not None:
            return self._socket
        if now_s < self._retry_s:
            return None
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
            sock.setblocking(False)
            sock.connect(self.target)  # connected: refusals (ICMP) come back as errors
        except OSError as exc:
            sock.close()
            self._retry_s = now_s + RETRY_S
            self._refused(now_s, exc)
            return None
        self._socket = sock
        return sock

    def send(self, address: str, args: tuple[float | int, ...], now_s: float) -> bool:
        """Send one message; False when it could not go (counted, logged once per outage).

        ``now_s``: the caller's clock, seconds (times the "back again" test and retries).
        """
        sock = self._open(now_s)
        if sock is None:
            self.failed += 1
            return False
        try:
            sock.send(self._encoder.encode(address, args))
        except BlockingIOError:
            self.failed += 1  # the socket's buffer is full: drop rather than wait
            return False
        except OSError as exc:
            self.failed += 1
            if exc.errno not in _REFUSED:  # something odd: start again with a fresh socket later
                self._close_socket()
                self._retry_s = now_s + RETRY_S
            self._refused(now_s, exc)
            return False
        self.sent += 1
        if not self.answering:
            if math.isnan(self._ok_since_s):
                self._ok_since_s = now_s
            elif now_s - self._ok_since_s >= BACK_AFTER_S:
                self.answering = True
                log.warning("%s: answering again", self.label)
        return True

    def send_all(self, messages: list[Message], now_s: float) -> int:
        """Send messages in order; the number that went."""
        return sum(self.send(address, args, now_s) for address, args in messages)

    def _refused(self, now_s: float, exc: OSError) -> None:
        self._refused_s = now_s
        self._ok_since_s = math.nan
        if self.answering:
            self.answering = False
            self._reason = exc.strerror or str(exc)
            log.warning("%s: not answering (%s); the show goes on, still sending", self.label, self._reason.lower())

    def _close_socket(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def close(self) -> None:
        self._close_socket()
        self._retry_s = math.inf


class OscOutLink:
    """Sends ``osc.out./address`` parameters as OSC (one float), at most ``rate_hz`` per address.

    A trigger (``force``) goes at once; a value that comes before its address's turn
    waits for :meth:`flush`, so the last value is never lost. A peer that is not
    there is no error.
    """

    def __init__(self, host: str, port: int, rate_hz: float) -> None:
        self.target = (host, port)
        self.period_s = 1.0 / rate_hz
        self.peer = OscPeer(host, port, f"osc_out {host}:{port}")
        self._last_sent: dict[str, float] = {}
        self._pending: dict[str, float] = {}

    @property
    def sent(self) -> int:
        """Messages sent."""
        return self.peer.sent

    def send(self, address: str, value: float, now_s: float, force: bool = False) -> None:
        if not force and now_s - self._last_sent.get(address, -math.inf) < self.period_s:
            self._pending[address] = value  # sent by flush() when its turn comes: the last value is never lost
            return
        self._pending.pop(address, None)
        self._last_sent[address] = now_s
        self.peer.send(address, (float(value),), now_s)

    def flush(self, now_s: float) -> None:
        """Send the values that waited for their address's next turn."""
        for address, value in list(self._pending.items()):
            self.send(address, value, now_s)

    def close(self) -> None:
        self.peer.close()
