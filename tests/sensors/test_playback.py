"""Replaying a recording as a source, paced by a fake clock."""

from __future__ import annotations

import numpy as np
import pytest

from installation.clock import FakeClock
from installation.sensors.playback import PlaybackSource


@pytest.mark.parametrize(
    ("rate_hz", "block_s", "step_s"),
    [(100.0, 0.02, 0.005), (1000.0, 0.02, 0.02), (25.0, 0.04, 0.1), (360.0, 0.02, 0.5)],
)
def test_every_sample_once_in_order_and_never_early(rate_hz: float, block_s: float, step_s: float) -> None:
    t = 3.0 + np.arange(0.0, 5.0, 1.0 / rate_hz)  # a recording that does not start at 0
    x = np.sin(t)
    clock = FakeClock(100.0)
    source = PlaybackSource("p2", "ppg", t, x, "adc", clock=clock, block_s=block_s)
    got_t, got_x = [], []
    with source:
        for _ in range(int(6.0 / step_s)):
            clock.advance_s(step_s)
            for block in source.read(0.0):
                assert block.wearer == "p2" and block.signal == "ppg" and block.arrival_s == clock.now_s()
                assert block.times_s[-1] <= clock.now_s() - 100.0 + 1e-9  # nothing from the future
                assert block.times_s.size <= round(block_s * rate_hz)
                got_t.append(block.times_s)
                got_x.append(block.values)
    assert source.finished
    np.testing.assert_allclose(np.concatenate(got_t), t - 3.0)
    np.testing.assert_allclose(np.concatenate(got_x), x)
    assert source.sampling_rate_hz == pytest.approx(rate_hz, rel=1e-3)


def test_read_waits_at_most_its_timeout() -> None:
    clock = FakeClock()
    source = PlaybackSource("p1", "eda", np.arange(0.0, 2.0, 0.04), np.ones(50), "uS", clock=clock, block_s=0.5)
    source.open()
    assert source.read(0.1) == [] and clock.now_s() == pytest.approx(0.1)
    blocks = source.read(1.0)  # sleeps until the first block is due, then delivers it
    assert blocks and clock.now_s() == pytest.approx(0.5)


@pytest.mark.parametrize(("times", "values"), [(np.array([]), np.array([])), (np.arange(3.0), np.arange(4.0))])
def test_bad_recording_is_refused(times: np.ndarray, values: np.ndarray) -> None:
    with pytest.raises(ValueError, match="matching, non-empty"):
        PlaybackSource("p1", "ppg", times, values)


def test_read_before_open_names_the_source() -> None:
    with pytest.raises(RuntimeError, match="replay of ecg as p3"):
        PlaybackSource("p3", "ecg", np.arange(3.0), np.zeros(3)).read(0.0)
