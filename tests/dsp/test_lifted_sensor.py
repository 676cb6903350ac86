"""A pulse sensor lifted off the skin: the core says so for as long as it is off, and finds no
heartbeats in the ambient light it then sees (a heart of 150 bpm found in that noise would set
off the welfare watch's racing heart, and bring a silent wearer's bell back)."""

from __future__ import annotations

import pytest

from installation.clock import FakeClock
from installation.dsp.core import SignalCore
from installation.sensors.scripted import Scenario, ScenarioEvent, ScriptedAudience
from installation.sensors.simulated import SimulatedAudience

OFF_S, BACK_S = 20.0, 45.0
SETTLE_S = 5.0  # the core needs a few seconds without a pulse to call it lost


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_a_lifted_pulse_sensor_stays_without_contact_and_beats_none(seed: int) -> None:
    clock = FakeClock()
    scenario = Scenario(events=[ScenarioEvent(at_s=OFF_S, duration_s=BACK_S - OFF_S, wearer="p1", what="lift_off")])
    source = ScriptedAudience(SimulatedAudience(2, seed=seed, clock=clock), scenario, seed=seed)
    core = SignalCore()
    states: list[tuple[float, str]] = []
    beats_off: list[float] = []
    source.open()
    try:
        while clock.now_s() < BACK_S + 15.0:
            clock.advance_s(0.02)
            for event in core.process_many(source.read(0.0)):
                if event.address == "p1.heart.beat" and OFF_S + SETTLE_S < event.time_s < BACK_S:
                    beats_off.append(event.time_s)
            states.append((clock.now_s(), core.states()["p1.heart"]))
    finally:
        source.close()
    off = {state for t, state in states if OFF_S + SETTLE_S < t < BACK_S}
    assert off == {"no_contact"}, sorted({(round(t), s) for t, s in states if OFF_S < t < BACK_S and s != "no_contact"})
    assert beats_off == []
    assert any(state == "ok" for t, state in states if t > BACK_S + 10.0)  # and the pulse is found again
    assert all(state == "ok" for t, state in states if 5.0 < t < OFF_S)
