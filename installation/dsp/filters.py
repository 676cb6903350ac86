"""Causal streaming filters that keep their state between blocks, for the compiled kernels.

The live core runs its filters inside compiled per-channel kernels: scipy
designs them (:func:`butter_sos`) and :func:`sos_step` runs one sample of one
channel, with the state in scipy's ``zi`` layout, so the output is what
``scipy.signal.sosfilt`` gives on the whole signal at once.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numba import njit
from scipy import signal


@lru_cache(maxsize=256)
def butter_sos(order: int, cutoff_hz: float | tuple[float, float], sampling_rate_hz: float, btype: str = "lowpass") -> tuple[np.ndarray, np.ndarray]:
    """A Butterworth design for :func:`sos_step`: ``(coefficients, zi)``, ``zi`` being the state of a unit steady input.

    Cached (read-only arrays): wearers on the same sensors share their rates, and
    designing a filter costs far more than analysing a block.

    Parameters
    ----------
    order : int
        Filter order.
    cutoff_hz : float or tuple of float
        Corner frequency, or band edges, in hertz.
    sampling_rate_hz : float
        Sampling rate in hertz.
    btype : str
        ``lowpass``, ``highpass`` or ``bandpass``.
    """
    nyquist_hz = sampling_rate_hz / 2.0
    wn = [f / nyquist_hz for f in cutoff_hz] if isinstance(cutoff_hz, tuple) else cutoff_hz / nyquist_hz
    sos = signal.butter(order, wn, btype=btype, output="sos")
    coefficients, zi = sos_rows(sos), signal.sosfilt_zi(sos)
    coefficients.flags.writeable = zi.flags.writeable = False
    return coefficients, zi


def sos_rows(sos: np.ndarray) -> np.ndarray:
    """Second-order sections as rows of ``(b0, b1, b2, a1, a2)``, the layout :func:`sos_step` reads."""
    sos = np.asarray(sos, dtype=float)
    return np.ascontiguousarray(sos[:, [0, 1, 2, 4, 5]])


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def sos_step(coefficients: np.ndarray, state: np.ndarray, row: int, value: float) -> float:
    """One sample through a channel's second-order sections (transposed direct form II).

    Parameters
    ----------
    coefficients : numpy.ndarray
        ``(channels, sections, 5)``: ``b0, b1, b2, a1, a2`` per section (see :func:`sos_rows`).
    state : numpy.ndarray
        ``(channels, sections, 2)``: the filter state, scipy's ``zi`` layout; updated in place.
    row : int
        The channel.
    value : float
        The input sample.

    Returns
    -------
    float
        The output sample.
    """
    for k in range(coefficients.shape[1]):
        c = coefficients[row, k]
        y = c[0] * value + state[row, k, 0]
        state[row, k, 0] = c[1] * value - c[3] * y + state[row, k, 1]
        state[row, k, 1] = c[2] * value - c[4] * y
        value = y
    return value
