"""Trends of a channel's health, and the forecast that it will fail soon (pure, no clock).

A :class:`Trend` keeps a rolling window of one measure of a channel's health (its quality
0..1, its skin-conductance level, its share of lost packets, its battery level), fits a
robust line through it (Theil-Sen: the median of the slopes between every two points, so
one odd sample moves it little) and says when that line, carried forward, crosses the
level at which the channel fails within the horizon. A :class:`Hysteresis` turns the
forecast, judged once a second, into a warning that rises only when the forecast has held
for a while and ends only when it has been gone for a while, so that it does not flicker.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Literal

import numpy as np

Direction = Literal["falling", "rising"]


@dataclass(frozen=True, slots=True)
class Forecast:
    """The channel is heading for its limit.

    Attributes
    ----------
    start_value, now_value : float
        The fitted line at the window's first sample and now (the measure's unit).
    span_s : float
        Seconds the window covers.
    eta_s : float
        Seconds until the line crosses the limit (0: it is past it already).
    """

    start_value: float
    now_value: float
    span_s: float
    eta_s: float


def theil_sen(times_s: np.ndarray, values: np.ndarray) -> tuple[float, float, float]:
    """Robust line through the points: ``(slope per second, level at the last time, agreement)``.

    The slope is the median of the slopes between every two points; the level is the median
    of each point carried along that slope to the last time. ``agreement`` (-1..1) is
    Kendall's tau over the pairs that differ (ties left out: a plateau before a decline
    does not water it down): the share of those pairs that rise minus the share that
    fall, a measure of how steadily the points move one way.
    """
    n = times_s.size
    if n < 2:
        return 0.0, float(values[-1]) if n else math.nan, 0.0
    i, j = np.triu_indices(n, k=1)
    dt = times_s[j] - times_s[i]
    dv = values[j] - values[i]
    keep = dt > 0.0
    if not keep.any():
        return 0.0, float(np.median(values)), 0.0
    slope = float(np.median(dv[keep] / dt[keep]))
    level = float(np.median(values + slope * (times_s[-1] - times_s)))
    signs = np.sign(dv[keep])
    moved = int(np.count_nonzero(signs))
    agreement = float(signs.sum() / moved) if moved else 0.0
    return slope, level, agreement


class Trend:
    """A rolling window of one measure of a channel, and whether it will cross ``limit`` soon.

    Parameters
    ----------
    limit : float
        The level at which the channel fails (quality 0.3, skin conductance 0.05 uS, 50 % of
        packets lost, a battery at 3 %).
    direction : {"falling", "rising"}
        Which way the measure goes as the channel fails.
    min_change : float
        How far the fitted line must have moved over the window (the measure's unit), so that
        a flat channel near its limit with a slight slope does not count as failing.
    window_s : float
        Seconds of history the line is fitted to.
    horizon_s : float
        How far ahead the line is carried, seconds.
    min_span_s : float
        The window must cover at least this many seconds before it forecasts anything.
    min_agreement : float
        Kendall's tau (0..1) the points must reach in the failing direction: a steady
        decline, not a wobble whose median slope happens to point down.
    relative : bool
        ``min_change`` is a share of the window's first fitted level (for measures without a
        natural scale, such as a skin-conductance level in the sensor's own units).
    steady_share : float
        Each quarter of the window must be beyond the one before by this share of the whole
        change (0: not asked): a steady decline, not one step down.
    relative_limit : bool
        ``limit`` is a share of the window's first fitted level (a pulse that shrinks to a
        third of its size), not a level of its own.
    """

    def __init__(self, limit: float, direction: Direction, min_change: float, window_s: float = 40.0,
                 horizon_s: float = 60.0, min_span_s: float = 20.0, min_agreement: float = 0.5,
                 relative: bool = False, steady_share: float = 0.0, relative_limit: bool = False) -> None:
        self.limit = limit
        self.sign = -1.0 if direction == "falling" else 1.0
        self.min_change = min_change
        self.window_s = window_s
        self.horizon_s = horizon_s
        self.min_span_s = min_span_s
        self.min_agreement = min_agreement
        self.relative = relative
        self.steady_share = steady_share
        self.relative_limit = relative_limit
        self._points: deque[tuple[float, float]] = deque()

    def add(self, time_s: float, value: float) -> None:
        """One reading of the measure at ``time_s`` (non-finite readings are skipped)."""
        if not math.isfinite(value):
            return
        self._points.append((time_s, value))
        while self._points and self._points[0][0] < time_s - self.window_s:
            self._points.popleft()

    def _spread(self, t: np.ndarray, v: np.ndarray, change: float) -> bool:
        """Whether the move is spread over the window: the median of each quarter of it (by time)
        is beyond the one before by ``steady_share`` of the whole change. A step (a wearer who
        starts walking: the quality drops at once, then stays low) leaves quarters level."""
        edges = t[0] + (t[-1] - t[0]) * np.array([0.25, 0.5, 0.75])
        quarter = np.searchsorted(edges, t, side="right")
        medians = [float(np.median(v[quarter == k])) for k in range(4) if np.any(quarter == k)]
        if len(medians) < 4:
            return False
        return all(self.sign * (b - a) >= self.steady_share * change for a, b in zip(medians, medians[1:]))

    def reset(self) -> None:
        """Forget the window (the channel failed, came back, or started again)."""
        self._points.clear()

    def __len__(self) -> int:
        return len(self._points)

    def values(self) -> list[float]:
        """The readings in the window, oldest first."""
        return [v for _, v in self._points]

    def forecast(self) -> Forecast | None:
        """The forecast from the window as it is: a :class:`Forecast` when the measure moves
        steadily towards ``limit`` and will reach it within the horizon, else None."""
        if len(self._points) < 3:
            return None
        pts = np.asarray(self._points)
        t, v = pts[:, 0], pts[:, 1]
        span_s = float(t[-1] - t[0])
        if span_s < self.min_span_s:
            return None
        slope, now_value, agreement = theil_sen(t, v)
        towards = self.sign * slope  # > 0: moving towards failure
        start_value = now_value - slope * span_s
        change = towards * span_s
        needed = self.min_change * (abs(start_value) if self.relative else 1.0)
        if towards <= 0.0 or change < needed or self.sign * agreement < self.min_agreement:
            return None
        if self.steady_share > 0.0 and not self._spread(t, v, change):
            return None
        limit = self.limit * start_value if self.relative_limit else self.limit
        gap = self.sign * (limit - now_value)  # > 0: still short of the limit
        eta_s = max(0.0, gap / towards)
        if eta_s > self.horizon_s:
            return None
        return Forecast(start_value, now_value, span_s, eta_s)


class Hysteresis:
    """A warning that rises when its condition has held for ``rise_s`` and ends when it has
    been gone for ``fall_s``: judged at a steady rate, it does not flicker.

    Parameters
    ----------
    rise_s : float
        Seconds the condition must hold before the warning rises (0: at once).
    fall_s : float
        Seconds the condition must be gone before the warning ends.
    """

    def __init__(self, rise_s: float, fall_s: float) -> None:
        self.rise_s = rise_s
        self.fall_s = fall_s
        self.on = False
        self._since_s = math.nan  # when the condition last changed to what it is now

    def update(self, time_s: float, condition: bool) -> bool:
        """The condition at ``time_s``; returns whether the warning stands."""
        if condition == self.on:
            self._since_s = math.nan  # nothing pending
            return self.on
        if math.isnan(self._since_s):
            self._since_s = time_s
        if time_s - self._since_s >= (self.rise_s if condition else self.fall_s):
            self.on = condition
            self._since_s = math.nan
        return self.on

    def reset(self) -> None:
        """Down at once, nothing pending."""
        self.on = False
        self._since_s = math.nan
