"""The welfare watch in the pipeline: the withdrawal's gains, whose parameters are whose, and a
wearer's voice and light taken out of the piece and brought back while a notice stands."""

from __future__ import annotations

import math

import pytest

from installation.clock import FakeClock
from installation.config import parse_show
from installation.operator_commands import Rebaseline
from installation.pipeline.care import Withdrawal, owner
from installation.pipeline.pipeline import Pipeline
from installation.pipeline.sinks import Firing, Sink
from installation.runtime.launch import prepare_show
from installation.sensors.simulated import SimulatedAudience
from tests.helpers import REPO


@pytest.mark.parametrize(
    ("steps", "at_s", "gain"),
    [
        ([], 3.0, 1.0),
        ([("out", 0.0)], 0.0, 1.0),
        ([("out", 0.0)], 2.0, 0.6),  # 5 s fade: 40 % of the way out
        ([("out", 0.0)], 9.0, 0.0),
        ([("out", 0.0), ("back", 10.0)], 12.5, 0.5),
        ([("out", 0.0), ("back", 2.5)], 5.0, 1.0),  # back half way down: up from 0.5 over 2.5 s
        ([("out", 0.0), ("back", 2.5), ("out", 3.5)], 4.5, 0.5),  # out again from 0.7
        ([("back", 1.0)], 2.0, 1.0),  # nothing to bring back
    ],
)
def test_withdrawal_gain(steps: list[tuple[str, float]], at_s: float, gain: float) -> None:
    w = Withdrawal(5.0)
    for what, t in steps:
        (w.withdraw if what == "out" else w.restore)("p2", t)
    assert w.gain("p2", at_s) == pytest.approx(gain)
    assert w.gain("p1", at_s) == 1.0


def test_withdrawal_forgets_a_wearer_fully_back() -> None:
    w = Withdrawal(2.0)
    w.withdraw("p1", 0.0)
    assert w.moving(1.0) == ["p1"] and w
    w.restore("p1", 10.0)
    assert w.moving(11.0) == ["p1"]
    assert w.moving(20.0) == [] and not w


@pytest.mark.parametrize(
    ("address", "owned"),
    [
        ("sound.p2.level", "p2"),
        ("sound.p12.pulse", "p12"),
        ("light.strip.segment.p3", "p3"),
        ("light.wash1.intensity", "p1"),  # a mapping from p1's feature drives it
        ("light.wash2.intensity", None),
        ("sound.drone.level", None),
        ("visual.p2.glow", None),  # the screen is not withdrawn
        ("osc.out./p2/bpm", None),
        ("sound.p*.level", None),
    ],
)
def test_owner(address: str, owned: str | None) -> None:
    assert owner(address, {"light.wash1.intensity": "p1"}) == owned


class Tap(Sink):
    def __init__(self) -> None:
        self.sets: list[tuple[float, str, float]] = []
        self.firings: list[Firing] = []

    def set(self, address: str, value: float, now_s: float) -> None:
        self.sets.append((now_s, address, value))

    def trigger(self, firing: Firing) -> None:
        self.firings.append(firing)


SHOW = f'''
[sound]
patch = "{(REPO / "patches" / "eco_symphony.py").as_posix()}"

[care.welfare]
withdraw = true
withdraw_fade_s = 4

[[mappings]]
from = "p*.heart.beat"
to = "sound.p*.pulse"

[[mappings]]
from = "p*.eda.arousal"
to = "sound.p*.tone"
'''


def test_a_wearer_is_withdrawn_gently_and_comes_back() -> None:
    prepared = prepare_show(parse_show(SHOW))
    clock = FakeClock()
    pipeline = Pipeline(prepared.show, prepared.mapper, ["p1", "p2"], clock, live_outputs=False)
    pipeline.sinks["sound"] = Tap()  # the sound family's parameters, as the sound engine would get them
    sound = pipeline.sinks["sound"]
    audience = SimulatedAudience(2, seed=3, clock=clock)
    audience.open()

    def play(seconds: float) -> None:
        for _ in range(int(seconds / 0.02)):
            clock.advance_s(0.02)
            pipeline.tick(audience.read(0.0))

    play(20.0)
    assert not any(a == "p2.level" for _, a, _ in sound.sets)  # in the piece: the patch's default
    out_s = clock.now_s()
    pipeline.notices.raise_("p2", "care.racing_heart", "p2: heart racing")
    play(10.0)
    levels = [(t - out_s, v) for t, a, v in sound.sets if a == "p2.level"]
    assert levels[0][1] > 0.9 and levels[-1][1] == 0.0
    assert all(b <= a for (_, a), (_, b) in zip(levels, levels[1:]))  # only ever down
    silent_s = next(t for t, v in levels if v == 0.0)
    assert 3.9 <= silent_s <= 4.2  # over withdraw_fade_s, not at once
    half = [v for t, v in levels if 1.9 <= t <= 2.1]
    assert half and 0.4 < half[0] < 0.6
    # p2's bells strike softer on the way out and not at all once out; p1's are untouched
    pulses = [(f.now_s - out_s, f.value) for f in sound.firings if f.address == "p2.pulse"]
    assert pulses and all(t < 4.05 for t, _ in pulses)
    assert any(f.address == "p1.pulse" and f.now_s - out_s > 5.0 for f in sound.firings)
    tones = [v for t, a, v in sound.sets if a == "p2.tone" and t - out_s > 4.1]
    assert tones and all(v == 0.0 for v in tones)
    assert all(v > 0.0 for t, a, v in sound.sets if a == "p1.tone")

    back_s = clock.now_s()
    pipeline.notices.clear("p2", "care.racing_heart")
    play(8.0)
    back = [(t - back_s, v) for t, a, v in sound.sets if a == "p2.level" and t > back_s]
    assert back[-1][1] == pytest.approx(1.0)
    assert all(b >= a for (_, a), (_, b) in zip(back, back[1:]))  # only ever up
    assert not pipeline.withdrawal
    assert any(f.address == "p2.pulse" and f.now_s > back_s + 4.0 and f.value > 0.0 for f in sound.firings)
    pipeline.close()


def test_the_sensor_warnings_do_not_withdraw_anyone() -> None:
    prepared = prepare_show(parse_show(SHOW))
    pipeline = Pipeline(prepared.show, prepared.mapper, ["p1"], FakeClock(), live_outputs=False)
    pipeline.notices.raise_("p1", "sensor.heart_failing", "p1: heart sensor failing")
    assert pipeline.withdrawal is not None and not pipeline.withdrawal
    pipeline.close()


def test_without_withdraw_nobody_is_taken_out() -> None:
    prepared = prepare_show(parse_show(SHOW.replace("withdraw = true", "withdraw = false")))
    pipeline = Pipeline(prepared.show, prepared.mapper, ["p1"], FakeClock(), live_outputs=False)
    pipeline.notices.raise_("p1", "care.racing_heart", "p1: heart racing")
    assert pipeline.withdrawal is None and pipeline.welfare is not None
    pipeline.close()


def test_the_steward_is_notified_only_with_live_outputs() -> None:
    prepared = prepare_show(parse_show(SHOW + "\n[care.notify]\nport = 9\n"))
    offline = Pipeline(prepared.show, prepared.mapper, ["p1"], FakeClock(), live_outputs=False)
    live = Pipeline(prepared.show, prepared.mapper, ["p1"], FakeClock(), live_outputs=True)
    try:
        assert offline.steward is None
        assert live.steward is not None and live.steward.target == ("127.0.0.1", 9)
    finally:
        offline.close()
        live.close()


def test_the_rebaseline_command_rebaselines_the_watch_too() -> None:
    prepared = prepare_show(parse_show(SHOW.replace("withdraw_fade_s = 4", "withdraw_fade_s = 4\nbaseline_s = 5")))
    clock = FakeClock()
    pipeline = Pipeline(prepared.show, prepared.mapper, ["p1"], clock, live_outputs=False)
    audience = SimulatedAudience(1, seed=5, clock=clock)
    audience.open()
    for _ in range(int(20.0 / 0.02)):
        clock.advance_s(0.02)
        pipeline.tick(audience.read(0.0))
    assert pipeline.welfare is not None and 50.0 < pipeline.welfare.baseline("p1")["bpm"] < 110.0
    pipeline.command(Rebaseline("p1"))
    pipeline.tick([])
    assert math.isnan(pipeline.welfare.baseline("p1")["bpm"])
    pipeline.close()


def test_a_trigger_of_strength_zero_of_someone_else_still_fires() -> None:
    prepared = prepare_show(parse_show(SHOW))
    pipeline = Pipeline(prepared.show, prepared.mapper, ["p1", "p2"], FakeClock(), live_outputs=False)
    sound = pipeline.sinks["sound"] = Tap()
    pipeline.notices.raise_("p2", "care.scr_storm", "p2: skin-response storm")
    pipeline._fire("sound.p1.pulse", 0.0)
    pipeline._fire("sound.p2.pulse", 1.0)  # withdrawn at once (no time passed): gain 1 still
    pipeline.clock.advance_s(5.0)
    pipeline._fire("sound.p2.pulse", 1.0)  # out of the piece now
    assert [(f.address, f.value) for f in sound.firings] == [("p1.pulse", 0.0), ("p2.pulse", 1.0)]
    pipeline.close()
