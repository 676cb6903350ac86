"""Causal skin-conductance analysis: tonic level, phasic part and a normalised arousal."""

from __future__ import annotations

import math

import numpy as np

from installation.dsp.filters import OnePole


class EdaTracker:
    """Streaming skin-conductance level (SCL) and arousal for one EDA channel.

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
        self._slow = OnePole(20.0, sampling_rate_hz)
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
        slow = self._slow.process(x)
        if self._start_s is None:
            self._start_s = float(times_s[0])
        in_baseline = (times_s - self._start_s) < self.baseline_s
        if in_baseline.any():
            self._baseline_sum += float(scl[in_baseline].sum())
            self._baseline_n += int(in_baseline.sum())
        self.scl = float(scl[-1])
        self.phasic = max(0.0, float(fast[-1] - slow[-1]))
        base = self.baseline
        spread = max(0.12 * abs(base), 0.1)
        z = (self.scl - base) / spread + self.phasic / spread
        self.arousal = 1.0 / (1.0 + math.exp(-2.0 * z))
