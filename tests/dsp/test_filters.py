"""Streaming filters give the same output whatever the block sizes."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from installation.dsp.filters import OnePole, StreamingSos, butter_bandpass


def blockwise(f: StreamingSos | OnePole, x: np.ndarray, sizes: list[int]) -> np.ndarray:
    out, i, k = [], 0, 0
    while i < x.size:
        n = sizes[k % len(sizes)]
        out.append(f.process(x[i : i + n]))
        i, k = i + n, k + 1
    return np.concatenate(out)


X = np.random.default_rng(0).normal(500.0, 50.0, 3000)


@pytest.mark.parametrize("sizes", [[1], [2, 3], [100], [1, 200, 7, 64], [3000]])
def test_sos_matches_scipy_in_one_go(sizes: list[int]) -> None:
    sos = signal.butter(2, [0.5 / 50, 5.0 / 50], "bandpass", output="sos")
    expected, _ = signal.sosfilt(sos, X, zi=signal.sosfilt_zi(sos) * X[0])
    assert np.allclose(blockwise(StreamingSos(sos), X, sizes), expected, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("sizes", [[1], [5, 40], [3000]])
def test_one_pole_matches_lfilter(sizes: list[int]) -> None:
    a = np.exp(-1.0 / (2.0 * 100.0))
    expected, _ = signal.lfilter([1 - a], [1, -a], X, zi=[a * X[0]])
    assert np.allclose(blockwise(OnePole(2.0, 100.0), X, sizes), expected, rtol=1e-9, atol=1e-9)


def test_band_pass_removes_offset_and_keeps_the_pulse() -> None:
    t = np.arange(0, 20, 0.01)
    x = 800.0 + 50.0 * np.sin(2 * np.pi * 1.2 * t)
    y = blockwise(butter_bandpass(0.5, 5.0, 100.0), x, [2])
    assert abs(y[-500:].mean()) < 1.0 and 40.0 < y[-500:].max() < 60.0
