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
    """biosignalsplux EDA: the clear SCR (onset 22.0 s) lifts arousal above its level before."""
    d = np.loadtxt(data_dir / "eda_bsnb_slow_100hz.csv", delimiter=",", skiprows=1)
    t, counts = d[:, 0], d[:, 1]
    microsiemens = counts * 3.0 / 2**16 / 0.12
    tracker = EdaTracker(100.0, baseline_s=10.0)
    arousal = np.array(feed(tracker, t, microsiemens, block=10))
    block_t = t[::10][: arousal.size]
    before = arousal[(block_t > 18.0) & (block_t < 21.5)].mean()
    after = arousal[(block_t > 24.0) & (block_t < 27.0)].mean()
    assert after > before + 0.1, (before, after)
