"""Filters of the compiled kernels give what scipy gives on the whole signal at once."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from installation.dsp.filters import butter_sos, sos_step

X = np.random.default_rng(0).normal(500.0, 50.0, 2000)


def run(coefficients: np.ndarray, zi: np.ndarray, x: np.ndarray) -> np.ndarray:
    """One channel, sample by sample, seeded like the banks seed it (steady at the first sample)."""
    c, state = coefficients[None], (zi * x[0])[None].copy()
    return np.array([sos_step(c, state, 0, v) for v in x.tolist()])


@pytest.mark.parametrize(
    ("order", "cutoff_hz", "rate_hz", "btype"),
    [
        (2, (0.5, 5.0), 100.0, "bandpass"),  # PPG
        (2, (5.0, 20.0), 360.0, "bandpass"),  # ECG QRS
        (2, 0.5, 1000.0, "highpass"),  # ECG baseline
        (2, 3.0, 32.0, "lowpass"),  # EDA clean
        (1, 0.05, 32.0, "highpass"),  # EDA phasic
    ],
)
def test_sos_step_matches_scipy(order: int, cutoff_hz: float | tuple[float, float], rate_hz: float, btype: str) -> None:
    coefficients, zi = butter_sos(order, cutoff_hz, rate_hz, btype)
    wn = np.array(cutoff_hz) / (rate_hz / 2.0)
    sos = signal.butter(order, wn, btype=btype, output="sos")
    expected, _ = signal.sosfilt(sos, X, zi=signal.sosfilt_zi(sos) * X[0])
    assert np.allclose(run(coefficients, zi, X), expected, rtol=1e-9, atol=1e-9)


def test_designs_are_shared_and_read_only() -> None:
    first, _ = butter_sos(2, (0.5, 5.0), 100.0, "bandpass")
    again, _ = butter_sos(2, (0.5, 5.0), 100.0, "bandpass")
    assert first is again and not first.flags.writeable


def test_band_pass_removes_offset_and_keeps_the_pulse() -> None:
    t = np.arange(0, 20, 0.01)
    x = 800.0 + 50.0 * np.sin(2 * np.pi * 1.2 * t)
    y = run(*butter_sos(2, (0.5, 5.0), 100.0, "bandpass"), x)
    assert abs(y[-500:].mean()) < 1.0 and 40.0 < y[-500:].max() < 60.0
