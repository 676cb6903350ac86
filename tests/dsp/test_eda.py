"""Skin-conductance level and arousal."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from installation.dsp.eda import EdaTracker


def feed(tracker: EdaTracker, t: np.ndarray, x: np.ndarray, block: int = 5) -> list[float]:
    arousal = []
    for i in range(0, t.size, block):
        tracker.process(t[i : i + block], x[i : i + block])
        arousal.append(tracker.arousal)
    return arousal


@pytest.mark.parametrize(
    ("step_us", "direction"),
    [(+2.0, "up"), (-2.0, "down"), (0.0, "flat")],
)
def test_arousal_is_relative_to_baseline(step_us: float, direction: str) -> None:
    rate_hz = 25.0
    t = np.arange(0.0, 40.0, 1.0 / rate_hz)
    x = np.where(t < 20.0, 6.0, 6.0 + step_us)
    tracker = EdaTracker(rate_hz, baseline_s=10.0)
    feed(tracker, t, x)
    assert tracker.baseline == pytest.approx(6.0, abs=0.01)
    assert tracker.scl == pytest.approx(6.0 + step_us, abs=0.05)
    if direction == "up":
        assert tracker.arousal > 0.8
    elif direction == "down":
        assert tracker.arousal < 0.2
    else:
        assert tracker.arousal == pytest.approx(0.5, abs=0.01)


def test_real_response_raises_arousal(data_dir: Path) -> None:
    """biosignalsplux EDA: the clear SCR (onset 22.0 s, peak 24.1 s) shows as phasic and arousal."""
    d = np.loadtxt(data_dir / "eda_bsnb_slow_100hz.csv", delimiter=",", skiprows=1)
    t, counts = d[:, 0], d[:, 1]
    microsiemens = counts * 3.0 / 2**16 / 0.12
    reference_us = 1479.5 * 3.0 / 2**16 / 0.12  # the reference SCR amplitude, 0.56 uS
    tracker = EdaTracker(100.0, baseline_s=10.0)
    arousal, phasic = [], []
    for i in range(0, t.size, 10):
        tracker.process(t[i : i + 10], microsiemens[i : i + 10])
        arousal.append(tracker.arousal)
        phasic.append(tracker.phasic)
    block_t = t[9::10][: len(arousal)]
    a, p = np.array(arousal), np.array(phasic)
    before = (block_t > 18.0) & (block_t < 21.5)
    after = (block_t > 24.0) & (block_t < 27.0)
    # The response stands out of a level that drifts down all along ...
    assert p[before].max() < 0.1 * reference_us
    assert p[after].max() > 0.5 * reference_us
    # ... and lifts arousal although the level is far below the baseline.
    assert a[after].mean() > 1.5 * a[before].mean(), (a[before].mean(), a[after].mean())
