"""The welfare watch end to end, offline: the shipped scenarios played on a simulated audience through
the show's pipeline (the signal core, the mapper, the watch's tap), on a fake clock.

Each welfare scenario raises its rule for its wearer and nothing else; the calm scenarios (and the
sensors' faults in them) raise nothing. The scenarios' times are compressed (x0.4) and the baseline
shortened to 20 s so that each plays in seconds; the thresholds are the defaults.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from installation.clock import FakeClock
from installation.config import parse_show
from installation.pipeline.pipeline import Pipeline
from installation.pipeline.sinks import Sink
from installation.runtime.launch import prepare_show
from installation.sensors.scripted import Scenario, ScriptedAudience, load_scenario
from installation.sensors.simulated import SimulatedAudience
from tests.helpers import REPO

SCENARIOS = REPO / "patches" / "scenarios"
WEARERS = ["p1", "p2", "p3", "p4"]
SHOW = f'''
[sound]
patch = "{(REPO / "patches" / "eco_symphony.py").as_posix()}"

[care.welfare]
baseline_s = 20
withdraw_fade_s = 5

[[mappings]]
from = "p*.heart.beat"
to = "sound.p*.pulse"
'''


def compressed(scenario: Scenario, factor: float) -> Scenario:
    """The scenario with its start times scaled by ``factor`` (the durations kept)."""
    events = [e.model_copy(update={"at_s": e.at_s * factor}) for e in scenario.events]
    return scenario.model_copy(update={"events": events})


class Levels(Sink):
    """The wearers' voice levels as the sound would get them: (show seconds, parameter, value)."""

    def __init__(self) -> None:
        self.sets: list[tuple[float, str, float]] = []

    def set(self, address: str, value: float, now_s: float) -> None:
        if address.endswith(".level"):
            self.sets.append((now_s, address, value))


def play(scenario: Scenario, seconds: float, seed: int = 1, withdraw: bool = False,
         sink: Sink | None = None) -> tuple[list[tuple[float, str, str]], Pipeline]:
    """Raised notices as ``(show seconds, wearer, rule)``, and the pipeline (closed)."""
    prepared = prepare_show(parse_show(SHOW.replace("baseline_s = 20", f"baseline_s = 20\nwithdraw = {str(withdraw).lower()}")))
    clock = FakeClock()
    pipeline = Pipeline(prepared.show, prepared.mapper, WEARERS, clock, live_outputs=False)
    if sink is not None:
        pipeline.sinks["sound"] = sink
    raised: list[tuple[float, str, str]] = []
    pipeline.notices.listen(lambda n: raised.append((clock.now_s(), n.wearer, n.rule)))
    source = ScriptedAudience(SimulatedAudience(len(WEARERS), seed=seed, clock=clock), scenario, seed=seed)
    source.open()
    try:
        while clock.now_s() < seconds:
            clock.advance_s(0.02)
            pipeline.tick(source.read(0.0))
    finally:
        source.close()
        pipeline.close()
    return raised, pipeline


@pytest.mark.parametrize(
    ("name", "seconds", "wearer", "rule", "within_s"),
    [
        ("welfare_racing.toml", 110.0, "p2", "care.racing_heart", (85.0, 105.0)),  # from 60 s: ramp, 30 s held
        ("welfare_scr_storm.toml", 140.0, "p3", "care.scr_storm", (100.0, 140.0)),
        ("welfare_irregular.toml", 110.0, "p1", "care.irregular_rhythm", (80.0, 110.0)),
        ("welfare_heart_lost.toml", 100.0, "p4", "care.heart_lost", (74.0, 80.0)),  # 15 s after 60 s
    ],
)
def test_each_welfare_scenario_raises_its_rule_for_its_wearer_only(
        name: str, seconds: float, wearer: str, rule: str, within_s: tuple[float, float]) -> None:
    scenario = load_scenario(SCENARIOS / name)
    assert {e.wearer for e in scenario.events if e.at_s >= 150} == {wearer}
    raised, pipeline = play(compressed(scenario, 0.4), seconds)
    assert [(w, r) for _, w, r in raised] == [(wearer, rule)], raised
    assert within_s[0] <= raised[0][0] <= within_s[1]
    assert pipeline.welfare is not None
    for other in WEARERS:  # every wearer learned their own baseline meanwhile
        assert 50.0 < pipeline.welfare.baseline(other)["bpm"] < 110.0 or other == "p1" and name == "welfare_heart_lost.toml"


@pytest.mark.parametrize(
    ("name", "seconds", "seed"),
    [
        ("doors_open.toml", 150.0, 1),  # calm, a startle, walking, a lift-off, a radio gap, excitement
        ("walking.toml", 90.0, 2),
        (None, 150.0, 3),  # the simulated audience's own arcs of calm and excitement
    ],
)
def test_calm_wearers_raise_nothing(name: str | None, seconds: float, seed: int) -> None:
    scenario = load_scenario(SCENARIOS / name) if name else Scenario()
    raised, _ = play(scenario, seconds, seed)
    assert [r for r in raised if r[2].startswith("care.")] == []  # (a lifted sensor may warn of itself: sensor.*)


def test_the_shipped_welfare_scenarios_load(tmp_path: Path) -> None:
    names = sorted(p.name for p in SCENARIOS.glob("welfare_*.toml"))
    assert names == ["welfare_heart_lost.toml", "welfare_irregular.toml", "welfare_racing.toml", "welfare_scr_storm.toml"]
    for name in names:
        assert load_scenario(SCENARIOS / name).title.startswith("Welfare:")


def test_the_show_takes_a_racing_wearer_out_of_the_piece_and_back() -> None:
    """``withdraw = true``: p2's voice fades out when the notice is raised and back once it ends;
    the others' voices are untouched."""
    levels = Levels()
    scenario = compressed(load_scenario(SCENARIOS / "welfare_racing.toml"), 0.4)  # racing from 60 s to 120 s
    raised, pipeline = play(scenario, 150.0, withdraw=True, sink=levels)
    assert [(w, r) for _, w, r in raised] == [("p2", "care.racing_heart")]
    raised_s = raised[0][0]
    p2 = [(t, v) for t, a, v in levels.sets if a == "p2.level"]
    assert p2 and p2[0][0] >= raised_s - 0.02  # nothing before the notice: the patch's default level
    silent_s = next(t for t, v in p2 if v == 0.0)
    assert 4.9 <= silent_s - raised_s <= 5.2  # over withdraw_fade_s
    back = [t for t, v in p2 if t > silent_s and v == 1.0]
    assert back and back[0] > 120.0  # back once the notice ended, after the mood did
    assert p2[-1][1] == 1.0 and not pipeline.notices.standing()
    assert not any(a != "p2.level" for _, a, _ in levels.sets)  # nobody else's voice moved
