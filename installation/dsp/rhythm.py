"""A wearer's beat series: plausibility of intervals, heart rate, HRV and the next beat.

Pure bookkeeping on beat times; the detectors in :mod:`installation.dsp.heart`
feed it. Intervals that are implausible (a double detection, a missed beat, an
ectopic beat) still mark a beat when the detector trusts the beat itself, but
stay out of the rate, the HRV and the prediction.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

MIN_IBI_S = 60.0 / 220.0
MAX_IBI_S = 60.0 / 30.0


def median(values: deque[float] | list[float]) -> float:
    """Median of a few numbers (numpy's call overhead dwarfs sorting a few dozen of them)."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2.0


@dataclass(frozen=True, slots=True)
class Beat:
    """One detected heartbeat.

    Attributes
    ----------
    time_s : float
        Estimated R-peak (ECG) or systolic-peak (PPG) time in seconds, source clock.
    reported_s : float
        Source-clock time in seconds of the newest sample when it was detected.
    ibi_s : float
        Interval since the previous beat in seconds (``nan`` for the first).
    normal : bool
        True when the interval is plausible and fits the recent rhythm.
    bpm : float
        Heart rate in beats per minute after this beat (``nan`` until known).
    next_s : float
        Predicted time of the next beat in seconds (``nan`` until known).
    """

    time_s: float
    reported_s: float
    ibi_s: float
    normal: bool
    bpm: float
    next_s: float


class BeatSeries:
    """Heart rate, HRV and next-beat prediction from a stream of beat times.

    Parameters
    ----------
    hrv_window_s : float
        Seconds of normal-to-normal intervals used for RMSSD and SDNN.
    reject_short : bool
        Drop beats whose interval is under 60 % of the recent median (for PPG,
        where such a beat is the dicrotic wave or noise); ECG keeps them (an early
        ectopic beat is still a beat).
    min_ibi_s : float
        Beats closer than this to the previous one are not beats, seconds.
    """

    def __init__(self, hrv_window_s: float = 60.0, reject_short: bool = True, min_ibi_s: float = MIN_IBI_S) -> None:
        self.hrv_window_s = hrv_window_s
        self.reject_short = reject_short
        self.min_ibi_s = min_ibi_s
        self.last_s = -math.inf
        self._recent: deque[float] = deque(maxlen=8)  # normal intervals, s
        self._nn: deque[tuple[float, float, bool]] = deque()  # (time_s, ibi_s, follows a normal one)
        self._odd_in_row = 0
        self._last_normal = False
        self._kinds: deque[bool] = deque(maxlen=8)  # normal or not, last beats
        self.beats = 0
        self.bpm = math.nan
        self.ibi_s = math.nan
        self._hrv: tuple[float, float] | None = None  # (SDNN, RMSSD) until the next beat

    def median_ibi_s(self) -> float:
        """Median of the recent normal intervals in seconds (``nan`` with fewer than 3)."""
        return median(self._recent) if len(self._recent) >= 3 else math.nan

    def add(self, time_s: float, reported_s: float) -> Beat | None:
        """Record a detected beat; None when it is rejected as not a beat."""
        ibi_s = time_s - self.last_s
        if ibi_s < self.min_ibi_s:
            return None
        median_s = self.median_ibi_s()
        known = not math.isnan(median_s)
        if self.reject_short and known and ibi_s < 0.6 * median_s:
            self._odd_in_row += 1
            if self._odd_in_row < 4:
                return None
            self._recent.clear()  # four in a row: the heart really sped up
            median_s, known = math.nan, False
        first = math.isinf(ibi_s)
        normal = first or (ibi_s <= MAX_IBI_S and (not known or 0.7 * median_s <= ibi_s <= 1.4 * median_s))
        if first:
            pass  # no interval yet
        elif normal:
            self._recent.append(ibi_s)
            self._nn.append((time_s, ibi_s, self._last_normal))
            self._odd_in_row = 0
            self.ibi_s = ibi_s
        else:
            self._odd_in_row += 1
            if self._odd_in_row >= 4:
                self._recent.clear()  # the rhythm really changed: learn it again
        self._last_normal = normal
        self._kinds.append(normal)
        while self._nn and self._nn[0][0] < time_s - self.hrv_window_s:
            self._nn.popleft()
        if len(self._recent) >= 2:
            self.bpm = 60.0 / median(self._recent)
        self.last_s = time_s
        self.beats += 1
        self._hrv = None
        return Beat(time_s, reported_s, ibi_s if math.isfinite(ibi_s) else math.nan, normal, self.bpm, self.next_beat_s())

    def regularity(self) -> float:
        """Share of normal intervals among the last 8 beats, 0..1 (0 before any beat)."""
        return sum(self._kinds) / len(self._kinds) if self._kinds else 0.0

    def next_beat_s(self) -> float:
        """Predicted time in seconds of the next beat: the last one plus the recent median interval."""
        if not self._recent:
            return math.nan
        return self.last_s + median(self._recent)

    def sdnn_ms(self) -> float:
        """Standard deviation of normal-to-normal intervals in the window, milliseconds."""
        return self._hrv_ms()[0]

    def rmssd_ms(self) -> float:
        """Root mean square of successive differences of normal intervals in the window, ms."""
        return self._hrv_ms()[1]

    def _hrv_ms(self) -> tuple[float, float]:
        """(SDNN, RMSSD) in milliseconds, computed once per beat (features are read far more often)."""
        if self._hrv is None:
            sdnn = float(np.std([ibi for _, ibi, _ in self._nn], ddof=1) * 1000.0) if len(self._nn) >= 3 else math.nan
            diffs = [self._nn[i][1] - self._nn[i - 1][1] for i in range(1, len(self._nn)) if self._nn[i][2]]
            rmssd = float(math.sqrt(float(np.mean(np.square(diffs)))) * 1000.0) if len(diffs) >= 2 else math.nan
            self._hrv = (sdnn, rmssd)
        return self._hrv
