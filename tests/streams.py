"""Helpers shared by the tests that read from real sources."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable

from installation.sensors.base import SampleBlock, Source


def collect(source: Source, seconds: float, until: Callable[[list[SampleBlock]], object] | None = None) -> list[SampleBlock]:
    """Read ``source`` for up to ``seconds``, or until ``until(blocks)`` is true."""
    blocks: list[SampleBlock] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        blocks += source.read(0.02)
        if until is not None and until(blocks):
            break
    return blocks


def values(blocks: list[SampleBlock], wearer: str, signal: str) -> list[float]:
    """All sample values of one wearer's signal, in order."""
    return [v for b in blocks if b.wearer == wearer and b.signal == signal for v in b.values.tolist()]


class Pty:
    """A pseudo-terminal whose slave end is reachable through a stable symlink (the 'port')."""

    def __init__(self, link: Path) -> None:
        self.link = link
        self.master = -1
        self.plug()

    def plug(self) -> None:
        self.master, slave = os.openpty()
        path = os.ttyname(slave)
        os.close(slave)
        if self.link.is_symlink():
            self.link.unlink()
        self.link.symlink_to(path)

    def unplug(self) -> None:
        os.close(self.master)
        self.master = -1
        self.link.unlink()

    def write(self, text: str | bytes) -> None:
        os.write(self.master, text.encode() if isinstance(text, str) else text)

    def close(self) -> None:
        if self.master >= 0:
            os.close(self.master)
        if self.link.is_symlink():
            self.link.unlink()
