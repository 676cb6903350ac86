"""The shared animation clock: closed-form, so a reading does not depend on how often it is read."""

from __future__ import annotations

import math

import pytest

from installation.visuals.scene_clock import DRIFT_DEFAULT, SceneClock


@pytest.mark.parametrize("steps", [1, 7, 60, 1000])
def test_a_reading_is_the_same_however_many_steps_lead_to_it(steps: int) -> None:
    start = SceneClock(time_s=2.0, sway_s=1.0, rise=0.1, drift_shown=0.1, drift_target=0.9)
    stepped = start
    for i in range(1, steps + 1):
        stepped = stepped.at(2.0 + 3.0 * i / steps)
    once = start.at(5.0)
    for a, b in zip(stepped.as_list(), once.as_list()):
        assert a == pytest.approx(b, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("drift", [0.0, DRIFT_DEFAULT, 1.0])
def test_a_steady_drift_sways_at_its_own_speed(drift: float) -> None:
    c = SceneClock(drift_shown=drift, drift_target=drift).at(10.0)
    assert c.sway_s == pytest.approx(10.0 * (0.3 + 2.0 * drift))
    assert c.rise == pytest.approx(10.0 * (0.004 + 0.05 * drift))
    assert c.drift_shown == pytest.approx(drift)


def test_the_eased_drift_reaches_its_target_and_the_sway_speeds_up() -> None:
    c = SceneClock().steer(0.0, 1.0)
    assert c.at(0.5).drift_shown == pytest.approx(1.0 - 0.7 * math.exp(-1.0))
    assert c.at(5.0).drift_shown == pytest.approx(1.0, abs=1e-4)
    assert c.at(6.0).sway_s - c.at(5.0).sway_s == pytest.approx(2.3, abs=1e-3)


@pytest.mark.parametrize("target, kept", [(0.7, 0.7), (2.0, 1.0), (-1.0, 0.0), (math.nan, DRIFT_DEFAULT)])
def test_steering_clips_the_target_and_ignores_nan(target: float, kept: float) -> None:
    assert SceneClock().steer(1.0, target).drift_target == kept


def test_going_back_a_little_undoes_going_forward() -> None:
    c = SceneClock(time_s=3.0, sway_s=2.0, rise=0.2, drift_shown=0.2, drift_target=0.6)
    back = c.at(3.2).at(3.0)
    for a, b in zip(back.as_list(), c.as_list()):
        assert a == pytest.approx(b, abs=1e-12)


def test_a_reading_goes_over_the_wire_unchanged() -> None:
    c = SceneClock(1.5, 2.5, 0.25, 0.4, 0.6)
    assert SceneClock.from_list(c.as_list()) == c
    with pytest.raises(ValueError, match="5 numbers"):
        SceneClock.from_list([1.0, 2.0])
