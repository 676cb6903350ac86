"""Real UDP peers on loopback for the output tests."""

from __future__ import annotations

import socket
import time
from collections import defaultdict

from installation.sensors.osc_source import osc_messages


class Peer:
    """A UDP socket on loopback that collects the OSC messages sent to it (our own parser)."""

    def __init__(self, port: int = 0) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", port))
        self.port = self.socket.getsockname()[1]
        self.messages: list[tuple[str, list[object]]] = []

    def drain(self, wait_s: float = 0.05) -> list[tuple[str, list[object]]]:
        """Messages that arrived (waiting up to ``wait_s`` for the first), added to :attr:`messages`."""
        got = []
        self.socket.settimeout(wait_s)
        while True:
            try:
                data = self.socket.recv(65536)
            except (TimeoutError, BlockingIOError):
                break
            got += [(m.address, list(m.params)) for _, m in osc_messages(data)]
            self.socket.settimeout(0.0)
        self.messages += got
        return got

    def collect(self, seconds: float) -> None:
        """Drain for ``seconds`` of wall time."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.drain(0.05)

    def by_address(self) -> dict[str, list[list[object]]]:
        out: dict[str, list[list[object]]] = defaultdict(list)
        for address, args in self.messages:
            out[address].append(args)
        return dict(out)

    def close(self) -> None:
        self.socket.close()
