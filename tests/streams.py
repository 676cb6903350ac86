"""Helpers shared by the tests that read from real sources."""

from __future__ import annotations

import time
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
