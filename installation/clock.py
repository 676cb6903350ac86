"""Clocks: the monotonic clock every stage stamps time with, and a fake for tests."""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    """A monotonic time source in seconds."""

    def now_s(self) -> float:
        """Return the current time in seconds (monotonic, arbitrary origin)."""
        ...

    def sleep_s(self, duration_s: float) -> None:
        """Block the calling thread for ``duration_s`` seconds of this clock."""
        ...


class MonotonicClock:
    """The process-wide monotonic clock (``time.perf_counter``)."""

    def now_s(self) -> float:
        return time.perf_counter()

    def sleep_s(self, duration_s: float) -> None:
        if duration_s > 0:
            time.sleep(duration_s)


class FakeClock:
    """A clock that only moves when told to; ``sleep_s`` advances it.

    Parameters
    ----------
    start_s : float
        Initial time in seconds.
    """

    def __init__(self, start_s: float = 0.0) -> None:
        self._now_s = start_s
        self._lock = threading.Lock()

    def now_s(self) -> float:
        with self._lock:
            return self._now_s

    def sleep_s(self, duration_s: float) -> None:
        self.advance_s(max(0.0, duration_s))

    def advance_s(self, duration_s: float) -> None:
        """Move the clock forward by ``duration_s`` seconds."""
        with self._lock:
            self._now_s += duration_s
