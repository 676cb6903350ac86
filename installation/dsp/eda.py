"""Causal skin-conductance analysis: tonic level, phasic part and a normalised arousal."""

from __future__ import annotations

import math

import numpy as np

from installation.dsp.filters import OnePole


class EdaTracker:
    """Streaming skin-conductance level (SCL), phasic part and arousal for one EDA channel.

    Parameters
    ----------
    sampling_rate_hz : float
        Nominal sampling rate in hertz.
    baseline_s : float
        Seconds at the start that define this wearer's resting level; arousal is
        0.5 at that level, towards 1 above it and towards 0 below it.
    """

    def __init__(self, sampling_rate_hz: float, baseline_s: float = 10.0) -> None:
        self.baseline_s = baseline_s
        self._scl = OnePole(2.0, sampling_rate_hz)
        self._fast = OnePole(0.3, sampling_rate_hz)
        # The floor under the responses follows falls within a second and rises
        # over half a minute, so responses stand out even on a drifting level.
        self._floor_fall = 1.0 - math.exp(-1.0 / (1.0 * sampling_rate_hz))
        self._floor_rise = 1.0 - math.exp(-1.0 / (30.0 * sampling_rate_hz))
        self._floor: float | None = None
        self._start_s: float | None = None
        self._baseline_sum = 0.0
        self._baseline_n = 0
        self.scl = float("nan")
        self.phasic = 0.0
        self.arousal = 0.5

    @property
    def baseline(self) -> float:
        """Resting level in the signal's units (microsiemens for calibrated sensors)."""
        return self._baseline_sum / self._baseline_n if self._baseline_n else float("nan")

    def process(self, times_s: np.ndarray, values: np.ndarray) -> None:
        """Feed one block of samples (microsiemens or raw units)."""
        if values.size == 0:
            return
        x = values.astype(float)
        scl = self._scl.process(x)
        fast = self._fast.process(x)
        floor = self._floor if self._floor is not None else float(fast[0])
        fall, rise = self._floor_fall, self._floor_rise
        for v in fast.tolist():
            floor += (v - floor) * (fall if v < floor else rise)
        self._floor = floor
        if self._start_s is None:
            self._start_s = float(times_s[0])
        in_baseline = (times_s - self._start_s) < self.baseline_s
        if in_baseline.any():
            self._baseline_sum += float(scl[in_baseline].sum())
            self._baseline_n += int(in_baseline.sum())
        self.scl = float(scl[-1])
        self.phasic = max(0.0, float(fast[-1]) - floor)
        base = self.baseline
        # Tonic change is weighed against 10 % of the resting level, the phasic
        # part (skin-conductance responses) against 5 %: an SCR of a few tenths
        # of a microsiemens is a clear response on any resting level.
        z = (self.scl - base) / max(0.10 * abs(base), 0.05) + self.phasic / max(0.05 * abs(base), 0.02)
        self.arousal = 1.0 / (1.0 + math.exp(-2.0 * z))
