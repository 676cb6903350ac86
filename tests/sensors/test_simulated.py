"""The simulated audience: paced delivery through the source interface."""

from __future__ import annotations

import numpy as np
import pytest

from installation.clock import FakeClock
from installation.sensors.base import Source
from installation.sensors.simulated import SimulatedAudience


def collect(audience: SimulatedAudience, clock: FakeClock, seconds: float):
    blocks = []
    with audience:
        while clock.now_s() < seconds:
            blocks += audience.read(timeout_s=0.05)
    return blocks


def test_is_a_source() -> None:
    assert isinstance(SimulatedAudience(2), Source)


@pytest.mark.parametrize("count", [1, 4, 9])
def test_delivers_every_sample_once_in_order(count: int) -> None:
    clock = FakeClock()
    audience = SimulatedAudience(count, seed=5, clock=clock)
    blocks = collect(audience, clock, 5.0)
    assert {b.wearer for b in blocks} == {f"p{i + 1}" for i in range(count)}
    for wearer in {b.wearer for b in blocks}:
        for signal, rate in (("ppg", 100.0), ("eda", 25.0)):
            t = np.concatenate([b.times_s for b in blocks if b.wearer == wearer and b.signal == signal])
            assert np.allclose(np.diff(t), 1.0 / rate), (wearer, signal)
            assert t[0] == 0.0 and t[-1] == pytest.approx(5.0, abs=0.05)


def test_blocks_are_small_and_stamped_at_arrival() -> None:
    clock = FakeClock(100.0)
    audience = SimulatedAudience(2, clock=clock)
    blocks = collect(audience, clock, 101.0)
    assert max(b.values.size for b in blocks if b.signal == "ppg") <= 3
    arrivals = [b.arrival_s for b in blocks]
    assert arrivals == sorted(arrivals) and 100.0 <= arrivals[0] and arrivals[-1] <= 101.1


def test_same_seed_same_signals_different_seed_different() -> None:
    def ppg(seed: int) -> np.ndarray:
        clock = FakeClock()
        blocks = collect(SimulatedAudience(1, seed=seed, clock=clock), clock, 2.0)
        return np.concatenate([b.values for b in blocks if b.signal == "ppg"])

    assert np.array_equal(ppg(3), ppg(3))
    assert not np.array_equal(ppg(3), ppg(4))


def test_read_before_open_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="before open"):
        SimulatedAudience(1).read(0.01)


def test_eda_is_plausible_microsiemens() -> None:
    clock = FakeClock()
    blocks = collect(SimulatedAudience(4, clock=clock), clock, 20.0)
    eda = np.concatenate([b.values for b in blocks if b.signal == "eda"])
    assert all(b.unit == "uS" for b in blocks if b.signal == "eda")
    assert 0.5 < eda.min() and eda.max() < 40.0
