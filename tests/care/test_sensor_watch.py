"""The sensor watch: notices before a channel fails, none on healthy recordings; from made-up
readings, from the scripted audience through the real signal core and pipeline, and from
real recordings in tests/data."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from installation.care.board import NoticeBoard
from installation.care.sensor_watch import BATTERY_RULE, EDA_RULE, HEART_RULE, LINK_RULE, SensorWatch, within
from installation.clock import FakeClock
from installation.commands.analyze import load_recording, nominal_rate_hz
from installation.config import CareSensorsConfig, ConfigError, load_show
from installation.dsp.core import SignalCore
from installation.dsp.quality import BAD_STATES
from installation.pipeline.pipeline import Pipeline
from installation.runtime.launch import prepare_show
from installation.sensors.base import SampleBlock
from installation.sensors.scripted import Scenario, ScenarioEvent, ScriptedAudience
from installation.sensors.simulated import SimulatedAudience
from tests.helpers import REPO

MESSAGE = re.compile(r"^p\d+: (heart sensor|skin-conductance sensor|link) failing, likely within a minute "
                     r"\((quality|pulse size|skin conductance|loss) \d+(\.\d+)?( %)? -> \d+(\.\d+)?( %)? over \d+ s\)$")


def watch_of(**settings: float) -> tuple[SensorWatch, NoticeBoard]:
    board = NoticeBoard(clock=lambda: 0.0)
    return SensorWatch(CareSensorsConfig(**settings), board), board


def heart_quality(t: float) -> float:
    return 0.95 - 0.01 * max(0.0, t - 30.0)  # fails (0.3) at 95 s


@pytest.mark.parametrize(
    ("state_of", "quality_of", "rule_raised"),
    [
        (lambda t: "ok", heart_quality, True),  # a steady decline: warned
        (lambda t: "ok", lambda t: 0.95, False),  # healthy
        (lambda t: "learning", heart_quality, False),  # not judged while learning
        (lambda t: "noisy", lambda t: 0.35 + 0.05 * math.sin(t), False),  # low but not falling
        (lambda t: "ok", lambda t: 0.95 if t < 60 else 0.35 + 0.15 * math.sin(2.3 * t), False),  # walking: one step down
        # a long walk: the channel is noisy and its quality slides for a minute; movement, not the sensor
        (lambda t: "noisy" if t >= 20 else "ok", heart_quality, False),
    ],
)
def test_heart_quality_cases(state_of, quality_of, rule_raised: bool) -> None:
    watch, board = watch_of()
    for t in range(0, 90):
        watch.observe(float(t), {"p3.heart.quality": quality_of(t)}, {"p3.heart": state_of(t)})
    assert board.is_standing("p3", HEART_RULE) == rule_raised
    if rule_raised:
        (notice,) = board.standing("p3")
        assert MESSAGE.match(notice.message), notice.message
        # the notice's message is kept up to date while it stands: the line fitted to 49..89 s
        assert notice.message == "p3: heart sensor failing, likely within a minute (quality 0.8 -> 0.4 over 40 s)"


def test_the_warning_comes_before_the_failure_and_ends_when_it_fails() -> None:
    watch, board = watch_of()
    raised_s = math.nan
    for t in range(0, 110):
        q = heart_quality(t)
        state = "no_contact" if q < 0.3 else "ok"
        watch.observe(float(t), {"p1.heart.quality": q}, {"p1.heart": state})
        if board.is_standing("p1", HEART_RULE) and math.isnan(raised_s):
            raised_s = t
        if state in BAD_STATES:
            assert not board.is_standing("p1", HEART_RULE)  # the fault report takes over
    assert 50.0 <= raised_s <= 80.0  # 15 s or more ahead of the failure at 95 s
    assert watch.raised == 1


def test_recovery_clears_the_notice() -> None:
    watch, board = watch_of()
    seen = []
    for t in range(0, 200):
        q = heart_quality(t) if t < 60 else min(0.95, heart_quality(60) + 0.05 * (t - 60))
        watch.observe(float(t), {"p1.heart.quality": q}, {"p1.heart": "ok"})
        seen.append(board.is_standing("p1", HEART_RULE))
    assert any(seen[40:80]) and not any(seen[150:])


@pytest.mark.parametrize(
    ("pulse_of", "fires"),
    [
        (lambda t: 140.0 if t < 20 else 140.0 - 1.5 * (t - 20), True),  # a loosening sensor: the pulse shrinks
        (lambda t: 140.0 if t < 30 else 420.0, False),  # walking: the wave grows
        (lambda t: 140.0 if t < 30 else 80.0, False),  # a startle's vasoconstriction: one step down
        (lambda t: 140.0 + 10.0 * math.sin(0.7 * t), False),  # healthy
    ],
)
def test_pulse_size_cases(pulse_of, fires: bool) -> None:
    watch, board = watch_of()
    for t in range(0, 60):
        watch.observe(float(t), {"p1.heart.quality": 1.0, "p1.heart.pulse_size": pulse_of(t)}, {"p1.heart": "ok"})
    notices = board.standing("p1")
    assert bool(notices) == fires
    if fires:
        assert notices[0].rule == HEART_RULE and MESSAGE.match(notices[0].message), notices[0].message
        assert notices[0].message.startswith("p1: heart sensor failing, likely within a minute (pulse size 100 % -> ")


def test_contact_falling_warns_for_the_skin_conductance() -> None:
    watch, board = watch_of()
    for t in range(0, 60):
        scl = 6.0 if t < 20 else 6.0 - 0.12 * (t - 20)  # off the skin (0.05 uS) at ~70 s
        watch.observe(float(t), {"p2.eda.quality": 1.0, "p2.eda.scl": scl}, {"p2.eda": "ok"})
    (notice,) = board.standing("p2")
    assert notice.rule == EDA_RULE and MESSAGE.match(notice.message), notice.message
    # the line fitted through the bend (flat, then falling) starts a little above the flat level
    assert notice.message == ("p2: skin-conductance sensor failing, likely within a minute "
                              "(skin conductance 6.12 -> 1.32 over 40 s)")


def test_a_link_losing_more_and_more_packets() -> None:
    watch, board = watch_of()
    packets = lost = 0
    for t in range(0, 45):
        share = min(1.0, 0.012 * t)  # 0 -> 0.54 over 45 s
        lost += int(round(100 * share))
        packets += 100 - int(round(100 * share))
        watch.link_counts(float(t), "osc 127.0.0.1:12345", ["p1", "p2"], {"packets": packets, "lost": lost, "other": 5})
        watch.observe(float(t), {}, {"p1.heart": "ok", "p2.heart": "ok"})
    for wearer in ("p1", "p2"):
        (notice,) = board.standing(wearer)
        assert notice.rule == LINK_RULE and MESSAGE.match(notice.message), notice.message


def test_counters_that_start_again_are_not_a_loss() -> None:
    watch, board = watch_of()
    for t in range(0, 60):
        n = 100 * (t % 20)  # the source reopened every 20 s: its counts start from 0
        watch.link_counts(float(t), "serial", ["p1"], {"packets": n, "lost": 0})
        watch.observe(float(t), {}, {"p1.heart": "ok"})
    assert board.standing() == []


@pytest.mark.parametrize(
    ("levels", "message"),
    [
        ([50.0] * 30 + [8.0] * 3, "p1: battery low (8 %)"),  # low: told at once
        ([40.0 - 0.5 * t for t in range(40)], "p1: battery running out, likely within a minute (battery 40 % -> 20 % over 39 s)"),
        ([80.0 - 0.01 * t for t in range(40)], None),  # a normal discharge
    ],
)
def test_battery(levels: list[float], message: str | None) -> None:
    watch, board = watch_of()
    for t, level in enumerate(levels):
        watch.observe(float(t), {"p1.device.battery": level}, {"p1.heart": "ok"})
    notices = board.standing("p1")
    assert [n.message for n in notices] == ([message] if message else [])
    assert all(n.rule == BATTERY_RULE for n in notices)


def test_within() -> None:
    assert [within(s) for s in (60.0, 30.0, 180.0)] == ["within a minute", "within 30 s", "within 3 minutes"]


@pytest.mark.parametrize(
    ("section", "error"),
    [
        ("[care.sensors]\nhorizon = 60\n", "horizon"),  # unknown key, named
        ("[care.sensors]\nwindow_s = 20\nmin_span_s = 30\n", "min_span_s"),
        ("[care.sensors]\nquality_limit = 1.5\n", "quality_limit"),
    ],
)
def test_settings_refused(tmp_path, section: str, error: str) -> None:
    path = tmp_path / "show.toml"
    path.write_text(section)
    with pytest.raises(ConfigError, match=error):
        load_show(path)


# ---- end to end ------------------------------------------------------------------------------
def test_a_loosening_sensor_through_the_pipeline_is_told_before_it_fails() -> None:
    """The scripted audience's gradual fault, through the real simulated source, signal core and
    pipeline: the notice stands before the channel's state goes bad."""
    prepared = prepare_show(load_show(REPO / "patches" / "gathering.toml"))
    clock = FakeClock()
    pipeline = Pipeline(prepared.show, prepared.mapper, ["p1"], clock, live_outputs=False)
    scenario = Scenario(events=[ScenarioEvent(at_s=40.0, duration_s=70.0, wearer="p1", what="loosening"),
                                ScenarioEvent(at_s=110.0, duration_s=20.0, wearer="p1", what="lift_off")])
    audience = ScriptedAudience(SimulatedAudience(1, seed=4, clock=clock), scenario, seed=4)
    raised: dict[str, tuple[float, str]] = {}
    pipeline.notices.listen(lambda n: raised.setdefault(n.rule, (clock.now_s(), n.message)))
    bad_s = {"eda": math.nan, "heart": math.nan}
    audience.open()
    while clock.now_s() < 125.0:
        clock.advance_s(0.02)
        pipeline.tick(audience.read(0.0))
        states = pipeline.core.states()
        for channel, when in bad_s.items():
            if math.isnan(when) and states.get(f"p1.{channel}") in BAD_STATES:
                bad_s[channel] = clock.now_s()
    audience.close()
    for rule, channel, what in ((EDA_RULE, "eda", "skin-conductance sensor"), (HEART_RULE, "heart", "heart sensor")):
        assert rule in raised, raised
        warned_s, message = raised[rule]
        assert 40.0 < warned_s < bad_s[channel] - 10.0, (rule, warned_s, bad_s)
        assert MESSAGE.match(message) and message.startswith(f"p1: {what} failing"), message
        assert not pipeline.notices.is_standing("p1", rule)  # failed: the fault report's business now


def test_healthy_recordings_raise_nothing() -> None:
    """Real recordings (tests/data), replayed through the core in 20 ms blocks with the watch reading
    the features ten times a second: no sensor failed, so no notice."""
    data = REPO / "tests" / "data"
    total_s = 0.0
    for name, signal, unit, scale in [("ppg_bsnb_rest_1000hz", "ppg", "", 1.0),
                                      ("ecg_mitbih208_360hz", "ecg", "mV", 1.0),
                                      ("eda_bsnb_hot_surface_1000hz", "eda", "uS", 3.3 / 2**10 / 0.132)]:
        times_s, values = load_recording(data / f"{name}.csv.gz")
        rate_hz = nominal_rate_hz(times_s)
        core = SignalCore()
        board = NoticeBoard()
        watch = SensorWatch(CareSensorsConfig(), board, core.states)
        step = int(round(0.02 * rate_hz))
        loops = 3 if times_s[-1] < 60.0 else 1  # the short record three times over, end to end
        duration_s = float(times_s[-1] - times_s[0]) + 1.0 / rate_hz
        next_s = 0.0
        for loop in range(loops):
            for i in range(0, times_s.size, step):
                t = times_s[i : i + step] - times_s[0] + loop * duration_s
                core.process(SampleBlock("p1", signal, t, values[i : i + step] * scale, unit, float(t[-1]), rate_hz))  # type: ignore[arg-type]
                if t[-1] >= next_s:
                    next_s = float(t[-1]) + 0.1
                    watch.features(float(t[-1]), core.features(float(t[-1])))
        total_s += loops * duration_s
        assert board.history == type(board.history)(), (name, list(board.history))
        assert watch.raised == 0
    assert total_s > 400.0


def test_scripted_gradual_faults() -> None:
    """The gradual faults themselves: loss counted and rising, a battery read falling, contact fading."""
    clock = FakeClock()
    scenario = Scenario(events=[ScenarioEvent(at_s=5.0, duration_s=20.0, wearer="p1", what="fading_link"),
                                ScenarioEvent(at_s=0.0, duration_s=20.0, wearer="p2", what="battery_drain"),
                                ScenarioEvent(at_s=5.0, duration_s=20.0, wearer="p3", what="loosening")])
    audience = ScriptedAudience(SimulatedAudience(3, seed=2, clock=clock), scenario, seed=2)
    blocks: list[SampleBlock] = []
    lost_by_5s = []
    with audience:
        while clock.now_s() < 28.0:
            blocks += audience.read(0.05)
            lost_by_5s.append((clock.now_s(), audience.lost))
    # link: nothing lost before it fades, most of the blocks near its end
    assert dict(lost_by_5s).get(next(t for t, _ in lost_by_5s if t >= 5.0)) in (0, 1)
    p1_eda = [b for b in blocks if b.wearer == "p1" and b.signal == "eda"]
    late = [b for b in p1_eda if 20.0 <= b.times_s[-1] < 25.0]
    assert len(late) < 0.5 * 5.0 / 0.02 and audience.lost > 100 and audience.packets > audience.lost
    assert audience.wearer_counts["p1"]["lost"] == audience.lost  # counted per wearer too: only p1's link fades
    assert audience.wearer_counts["p3"]["lost"] == 0 and audience.wearer_counts["p3"]["packets"] > 1000
    # battery: once a second, falling, then the device is silent
    battery = [(float(b.times_s[0]), float(b.values[0])) for b in blocks if b.signal == "battery"]
    assert {b.wearer for b in blocks if b.signal == "battery"} == {"p2"}
    levels = [v for _, v in battery]
    assert levels[0] == 40.0 and levels == sorted(levels, reverse=True) and levels[-1] <= 4.0
    assert 18 <= len(battery) <= 21
    assert not [b for b in blocks if b.wearer == "p2" and b.times_s[-1] >= 20.0]
    # loosening: the skin conductance sinks towards an open circuit's
    p3_eda = np.concatenate([b.values for b in blocks if b.wearer == "p3" and b.signal == "eda" and b.times_s[-1] < 5.0])
    p3_late = np.concatenate([b.values for b in blocks if b.wearer == "p3" and b.signal == "eda" and 23.0 <= b.times_s[-1] < 25.0])
    assert p3_late.mean() < 0.2 * p3_eda.mean()
