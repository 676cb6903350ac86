"""Causal streaming filters that keep their state between blocks.

Live blocks are small (a few samples): there the per-call overhead of
``scipy.signal.sosfilt`` (tens of microseconds) dwarfs the arithmetic, so short
blocks run a plain transposed direct-form II loop with the same state layout as
scipy's, and long blocks go to scipy. Both paths give the same numbers.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import signal

#: Blocks shorter than this run the pure-Python loop.
SHORT_BLOCK = 24


class StreamingSos:
    """A causal IIR filter (second-order sections) applied block by block.

    Parameters
    ----------
    sos : numpy.ndarray
        Second-order sections, as from :func:`scipy.signal.butter` with ``output="sos"``.
    """

    def __init__(self, sos: np.ndarray) -> None:
        self.sos = np.asarray(sos, dtype=float)
        self._coefficients = [tuple(float(c) for c in (s[0], s[1], s[2], s[4], s[5])) for s in self.sos]
        self._zi: np.ndarray | None = None  # scipy layout: (sections, 2)
        self._state: list[list[float]] | None = None  # the same, as Python floats

    def process(self, x: np.ndarray) -> np.ndarray:
        """Filter one block; the first block seeds the state to avoid a start transient."""
        if x.size == 0:
            return x.astype(float)
        if self._zi is None and self._state is None:
            self._zi = signal.sosfilt_zi(self.sos) * float(x[0])
        if x.size < SHORT_BLOCK:
            return self._short(x)
        if self._zi is None:
            self._zi = np.array(self._state)
            self._state = None
        y, self._zi = signal.sosfilt(self.sos, x, zi=self._zi)
        return y

    def _short(self, x: np.ndarray) -> np.ndarray:
        if self._state is None:
            assert self._zi is not None
            self._state = [[float(a), float(b)] for a, b in self._zi]
            self._zi = None
        values = x.tolist()
        for (b0, b1, b2, a1, a2), z in zip(self._coefficients, self._state):
            z0, z1 = z
            out = []
            for v in values:
                y = b0 * v + z0
                z0 = b1 * v - a1 * y + z1
                z1 = b2 * v - a2 * y
                out.append(y)
            z[0], z[1] = z0, z1
            values = out
        return np.array(values)


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
        self._a = math.exp(-1.0 / (tau_s * sampling_rate_hz))
        self._y: float | None = None

    def process(self, x: np.ndarray) -> np.ndarray:
        """Smooth one block and return it."""
        if x.size == 0:
            return x.astype(float)
        a = self._a
        y = float(x[0]) if self._y is None else self._y
        if x.size < SHORT_BLOCK:
            out = []
            for v in x.tolist():
                y = a * y + (1.0 - a) * v
                out.append(y)
            self._y = y
            return np.array(out)
        result, _ = signal.lfilter([1.0 - a], [1.0, -a], x, zi=[a * y])
        self._y = float(result[-1])
        return result
