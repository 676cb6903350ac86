"""Replaying a recorded signal as a live source, paced by a clock."""

from __future__ import annotations

import math

import numpy as np

from installation.clock import Clock, MonotonicClock
from installation.sensors.base import SampleBlock, SignalKind, SourceBase


class PlaybackSource(SourceBase):
    """One wearer's recorded signal sent again in small blocks, as it arrived.

    A peer of the real and simulated sources: with the monotonic clock it replays in
    real time; with a :class:`~installation.clock.FakeClock` an offline render moves
    time itself and the same blocks come out, faster than real time.

    Parameters
    ----------
    wearer : str
        Slot the recording is played as (``"p1"``).
    signal : {"ppg", "ecg", "eda"}
        What the recording holds.
    times_s, values : numpy.ndarray
        The recording: seconds (non-decreasing) and values in ``unit``.
    unit : str
        Unit of the values (``"adc"``, ``"mV"``, ``"uS"``).
    clock : Clock, optional
        Time source; defaults to the monotonic clock.
    block_s : float
        Seconds of recording per delivered block.
    """

    def __init__(self, wearer: str, signal: SignalKind, times_s: np.ndarray, values: np.ndarray, unit: str = "",
                 clock: Clock | None = None, block_s: float = 0.02) -> None:
        if times_s.size == 0 or times_s.size != values.size:
            raise ValueError(f"a replay needs matching, non-empty times and values (got {times_s.size} and {values.size})")
        self.name = f"replay of {signal} as {wearer}"
        self.wearer, self.signal, self.unit = wearer, signal, unit
        self.times_s = np.asarray(times_s, dtype=float) - float(times_s[0])
        self.values = np.asarray(values, dtype=float)
        span_s = float(self.times_s[-1])
        self.sampling_rate_hz = (self.times_s.size - 1) / span_s if span_s > 0 else 1.0
        self.clock = clock or MonotonicClock()
        self.block_s = block_s
        self._start_s: float | None = None
        self._next = 0

    @property
    def duration_s(self) -> float:
        """Length of the recording in seconds."""
        return float(self.times_s[-1])

    @property
    def started_s(self) -> float:
        """Clock time at which the replay began (its time 0), ``nan`` when not open."""
        return math.nan if self._start_s is None else self._start_s

    @property
    def finished(self) -> bool:
        """True once every sample has been sent."""
        return self._next >= self.times_s.size

    def open(self) -> None:
        self._start_s = self.clock.now_s()
        self._next = 0

    def close(self) -> None:
        self._start_s = None

    def read(self, timeout_s: float) -> list[SampleBlock]:
        """The samples whose time has come (in blocks of ``block_s``), waiting at most ``timeout_s``."""
        if self._start_s is None:
            raise RuntimeError(f"{self.name}: read() before open()")
        if self.finished:
            self.clock.sleep_s(timeout_s)
            return []
        due_s = self.times_s[self._next] + self.block_s
        elapsed_s = self.clock.now_s() - self._start_s
        if elapsed_s < due_s:
            self.clock.sleep_s(min(due_s - elapsed_s, timeout_s))
            elapsed_s = self.clock.now_s() - self._start_s
            if elapsed_s < due_s:
                return []
        end = int(np.searchsorted(self.times_s, elapsed_s, side="right"))
        arrival_s = self.clock.now_s()
        blocks = []
        for lo in range(self._next, end, max(1, int(round(self.block_s * self.sampling_rate_hz)))):
            hi = min(end, lo + max(1, int(round(self.block_s * self.sampling_rate_hz))))
            blocks.append(SampleBlock(self.wearer, self.signal, self.times_s[lo:hi], self.values[lo:hi], self.unit,
                                      arrival_s, self.sampling_rate_hz))
        self._next = end
        return blocks
