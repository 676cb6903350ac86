"""Causal streaming filters that keep their state between blocks."""

from __future__ import annotations

import math

import numpy as np
from scipy import signal


class StreamingSos:
    """A causal IIR filter (second-order sections) applied block by block.

    Parameters
    ----------
    sos : numpy.ndarray
        Second-order sections, as from :func:`scipy.signal.butter` with ``output="sos"``.
    """

    def __init__(self, sos: np.ndarray) -> None:
        self.sos = sos
        self._zi: np.ndarray | None = None

    def process(self, x: np.ndarray) -> np.ndarray:
        """Filter one block; the first block seeds the state to avoid a start transient."""
        if x.size == 0:
            return x.astype(float)
        if self._zi is None:
            self._zi = signal.sosfilt_zi(self.sos) * float(x[0])
        y, self._zi = signal.sosfilt(self.sos, x, zi=self._zi)
        return y


def butter_bandpass(low_hz: float, high_hz: float, sampling_rate_hz: float, order: int = 2) -> StreamingSos:
    """Streaming Butterworth band-pass from ``low_hz`` to ``high_hz``."""
    nyquist_hz = sampling_rate_hz / 2.0
    high_hz = min(high_hz, 0.45 * sampling_rate_hz)
    sos = signal.butter(order, [low_hz / nyquist_hz, high_hz / nyquist_hz], btype="bandpass", output="sos")
    return StreamingSos(sos)


class OnePole:
    """One-pole low-pass smoother with time constant ``tau_s`` seconds, block-wise.

    Parameters
    ----------
    tau_s : float
        Time constant in seconds.
    sampling_rate_hz : float
        Rate of the samples it will see, in hertz.
    """

    def __init__(self, tau_s: float, sampling_rate_hz: float) -> None:
        a = math.exp(-1.0 / (tau_s * sampling_rate_hz))
        self._b = np.array([1.0 - a])
        self._a = np.array([1.0, -a])
        self._zi: np.ndarray | None = None

    def process(self, x: np.ndarray) -> np.ndarray:
        """Smooth one block and return it."""
        if x.size == 0:
            return x.astype(float)
        if self._zi is None:
            self._zi = signal.lfilter_zi(self._b, self._a) * float(x[0])
        y, self._zi = signal.lfilter(self._b, self._a, x, zi=self._zi)
        return y
