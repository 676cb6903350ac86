"""The signal core: routing, feature addresses, faults that fade a wearer out, group features."""

from __future__ import annotations

import math

import numpy as np
import pytest

from installation.clock import FakeClock
from installation.addresses import GROUP_FEATURES, WEARER_FEATURES
from installation.dsp.core import CoreSettings, SignalCore
from installation.sensors.base import SampleBlock
from installation.sensors.simulated import SimulatedAudience


def run_audience(count: int, seconds: float, core: SignalCore | None = None, seed: int = 2):
    clock = FakeClock()
    core = core or SignalCore(CoreSettings(baseline_s=5.0))
    audience = SimulatedAudience(count, seed=seed, clock=clock)
    events = []
    with audience:
        while clock.now_s() < seconds:
            for block in audience.read(0.05):
                events += core.process(block)
    return core, audience, clock, events


def test_every_wearer_gets_every_feature() -> None:
    core, _, clock, events = run_audience(3, 30.0)
    features = core.features(clock.now_s())
    for wearer in ("p1", "p2", "p3"):
        for name in WEARER_FEATURES:
            if name.startswith(("motion.", "device.")):
                assert f"{wearer}.{name}" not in features, name  # only wearers with an accelerometer, a battery level
                continue
            assert f"{wearer}.{name}" in features, name
        assert features[f"{wearer}.quality"] > 0.9
        assert 40 < features[f"{wearer}.heart.bpm"] < 120
        assert 0.0 <= features[f"{wearer}.eda.arousal"] <= 1.0
        assert -1.0 < features[f"{wearer}.heart.next_in"] < 1.5
        assert math.isfinite(features[f"{wearer}.heart.rmssd"])
    for name in GROUP_FEATURES:
        assert name in features
    assert features["group.count"] == 3 and features["group.heart.count"] == 3 and features["group.sync.count"] == 3
    assert 0.0 <= features["group.sync"] <= 1.0
    kinds = {e.address.split(".", 1)[1] for e in events}
    assert kinds == {"heart.beat", "heart.predicted", "eda.scr"}
    assert all(e.reported_s >= e.time_s for e in events if not e.address.endswith(".predicted"))
    predicted = [e for e in events if e.address.endswith(".heart.predicted")]
    assert predicted and all(e.time_s > e.reported_s for e in predicted)


def test_predicted_beats_land_near_the_next_true_beat() -> None:
    core, audience, _, events = run_audience(2, 40.0)
    for wearer in audience.wearers:
        name = wearer.profile.wearer
        truth = wearer.true_beats_s(41.0)
        predicted = np.array([e.time_s for e in events if e.address == f"{name}.heart.predicted"])
        assert predicted.size > 20
        error_s = np.array([np.min(np.abs(truth - p)) for p in predicted])
        assert np.median(error_s) < 0.06 and np.quantile(error_s, 0.9) < 0.15, (np.median(error_s), np.quantile(error_s, 0.9))


def test_silent_wearer_drops_out() -> None:
    core, audience, clock, _ = run_audience(2, 20.0)
    clock.advance_s(5.0)  # nothing arrives for 5 s
    features = core.features(clock.now_s())
    assert features["p1.quality"] == 0.0 and features["p2.quality"] == 0.0
    assert features["group.count"] == 0 and features["group.heart.count"] == 0
    assert math.isnan(features["group.heart.bpm"])
    assert core.states()["p1.heart"] == "dropout"


def blocks(wearer: str, signal: str, values: np.ndarray, rate_hz: float, unit: str, clock: FakeClock, start_s: float = 0.0):
    step = max(1, int(rate_hz * 0.02))
    for i in range(0, values.size, step):
        v = values[i : i + step]
        t = start_s + np.arange(i, i + v.size) / rate_hz
        clock.advance_s(v.size / rate_hz)
        yield SampleBlock(wearer, signal, t, v, unit, clock.now_s(), rate_hz)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fault", "state"),
    [("flat", "flat"), ("lifted", "no_contact"), ("nan", "implausible"), ("rail", "saturated")],
)
def test_faulty_heart_sensor_goes_quiet(fault: str, state: str) -> None:
    core, audience, clock, _ = run_audience(1, 20.0)
    n = 1000  # 10 s at 100 Hz
    t = 20.0 + np.arange(n) / 100.0
    x = audience.wearers[0].ppg(t)
    if fault == "flat":
        x = np.full(n, 700.0)
    elif fault == "lifted":
        x = 300.0 + np.random.default_rng(1).normal(0, 1.0, n)  # ambient light, no pulse
    elif fault == "nan":
        x = np.full(n, np.nan)
    elif fault == "rail":
        x = np.minimum((x - 512.0) * 8 + 512.0, 1023.0)
    events = []
    for block in blocks("p1", "ppg", x, 100.0, "adc", clock, start_s=20.0):
        events += core.process(block)
    assert core.states()["p1.heart"] == state
    late = [e for e in events if e.address == "p1.heart.beat" and e.time_s > 25.0]
    assert not late, "a faulty sensor must not drive the show"
    assert core.features(clock.now_s())["p1.heart.quality"] <= 0.2


def test_eda_contact_and_plausibility() -> None:
    core = SignalCore()
    clock = FakeClock()
    open_circuit = 0.01 + np.random.default_rng(0).normal(0, 0.002, 250)  # electrodes off the skin
    for block in blocks("p1", "eda", open_circuit, 25.0, "uS", clock):
        core.process(block)
    assert core.states()["p1.eda"] == "no_contact"
    for block in blocks("p2", "eda", -3.0 + np.random.default_rng(1).normal(0, 0.01, 250), 25.0, "uS", clock):
        core.process(block)
    assert core.states()["p2.eda"] == "implausible"


def test_rebaseline_makes_the_present_level_the_new_rest() -> None:
    core = SignalCore(CoreSettings(baseline_s=5.0))
    clock = FakeClock()
    for block in blocks("p1", "eda", np.full(500, 5.0), 25.0, "uS", clock):
        core.process(block)
    for block in blocks("p1", "eda", np.full(500, 7.0), 25.0, "uS", clock, start_s=20.0):
        core.process(block)
    assert core.features(clock.now_s())["p1.eda.arousal"] > 0.9
    core.rebaseline("p1")
    for block in blocks("p1", "eda", np.full(500, 7.0), 25.0, "uS", clock, start_s=40.0):
        core.process(block)
    assert core.features(clock.now_s())["p1.eda.arousal"] == pytest.approx(0.5, abs=0.05)


def test_synchrony_high_for_locked_hearts_low_for_free_ones() -> None:
    def sync(periods: list[float]) -> float:
        core = SignalCore()
        clock = FakeClock()
        rate = 100.0
        t = np.arange(0, 40 * rate) / rate
        waves = [np.exp(-0.5 * (((t + 0.05) % p - 0.05) / 0.05) ** 2) for p in periods]
        values = {f"p{i + 1}": w for i, w in enumerate(waves)}
        step = 2
        for i in range(0, t.size, step):
            clock.advance_s(step / rate)
            for name, w in values.items():
                core.process(SampleBlock(name, "ppg", t[i : i + step], w[i : i + step], "adc", clock.now_s(), rate))
            if i % 10 == 0:
                features = core.features(clock.now_s())
        return features["group.sync"]

    assert sync([0.8, 0.8, 0.8, 0.8]) > 0.9
    assert sync([0.8, 0.63, 0.71, 0.93]) < 0.6


def test_device_beats_and_rates_drive_the_heart_features() -> None:
    """A sensor that only reports intervals (PulseSensor 'Q', OpenBCI /pulse/ibi) still beats."""
    core = SignalCore()
    clock = FakeClock()
    events = []
    t = 0.0
    for _ in range(20):
        t += 0.8
        clock.advance_s(0.8)
        events += core.process(SampleBlock("p1", "ibi", np.array([t]), np.array([0.8]), "s", clock.now_s(), 1.0))
    core.process(SampleBlock("p2", "bpm", np.array([t]), np.array([64.0]), "bpm", clock.now_s(), 1.0))
    features = core.features(clock.now_s())
    assert len([e for e in events if e.address == "p1.heart.beat"]) == 20
    assert features["p1.heart.bpm"] == pytest.approx(75.0)
    assert features["p2.heart.bpm"] == pytest.approx(64.0)
    assert features["group.heart.count"] == 2
    # An implausible interval is not a beat.
    assert core.process(SampleBlock("p1", "ibi", np.array([t + 3.0]), np.array([3.0]), "s", clock.now_s(), 1.0)) == []


def test_arrivals_and_departures_are_events() -> None:
    core, audience, clock, _ = run_audience(2, 5.0)
    core.features(clock.now_s())
    arrived = core.take_events()
    assert sorted(e.address for e in arrived) == ["p1.wearer.arrive", "p2.wearer.arrive"]
    clock.advance_s(5.0)
    core.features(clock.now_s())
    assert sorted(e.address for e in core.take_events()) == ["p1.wearer.leave", "p2.wearer.leave"]
    assert core.take_events() == []


@pytest.mark.parametrize(
    ("periods_s", "pair", "high"),
    [
        ([0.8, 0.8, 0.63], "p1.p2", True),   # two hearts in step
        ([0.8, 0.8, 0.63], "p1.p3", False),  # a free heart against a steady one
        ([0.8, 0.8, 0.63], "p2.p3", False),
        ([0.9, 0.7], "p1.p2", False),
    ],
)
def test_pair_synchrony_follows_two_hearts_in_step(periods_s: list[float], pair: str, high: bool) -> None:
    core = SignalCore()
    clock = FakeClock()
    rate = 100.0
    t = np.arange(0, 40 * rate) / rate
    waves = {f"p{i + 1}": np.exp(-0.5 * (((t + 0.05) % p - 0.05) / 0.05) ** 2) for i, p in enumerate(periods_s)}
    step = 2
    for i in range(0, t.size, step):
        clock.advance_s(step / rate)
        for name, w in waves.items():
            core.process(SampleBlock(name, "ppg", t[i : i + step], w[i : i + step], "adc", clock.now_s(), rate))
        if i % 10 == 0:
            features = core.features(clock.now_s())
    n = len(periods_s)
    assert sum(k.startswith("group.sync.p") for k in features) == n * (n - 1) // 2  # lower slot first, each pair once
    value = features[f"group.sync.{pair}"]
    assert (value > 0.9) if high else (value < 0.5), value


def test_pair_synchrony_fades_when_a_heart_goes_quiet() -> None:
    core = SignalCore()
    clock = FakeClock()
    rate = 100.0
    t = np.arange(0, 60 * rate) / rate
    wave = np.exp(-0.5 * (((t + 0.05) % 0.8 - 0.05) / 0.05) ** 2)
    step = 2
    for i in range(0, t.size, step):
        clock.advance_s(step / rate)
        for name in ("p1", "p2") if i < 30 * rate else ("p1",):
            core.process(SampleBlock(name, "ppg", t[i : i + step], wave[i : i + step], "adc", clock.now_s(), rate))
        if i % 10 == 0:
            features = core.features(clock.now_s())
            if i == 30 * rate - 10:
                assert features["group.sync.p1.p2"] > 0.9
    assert features["group.sync.p1.p2"] < 0.2


def test_the_heart_baseline_is_the_median_rate_of_its_window_and_is_learnt_again() -> None:
    """``p1.heart.bpm_change``: the rate now minus the median rate of the baseline window."""
    core = SignalCore(CoreSettings(baseline_s=10.0))
    clock = FakeClock()
    t = 0.0

    def beats(ibi_s: float, seconds: float) -> None:
        nonlocal t
        end_s = t + seconds
        while t < end_s:
            t += ibi_s
            clock.advance_s(ibi_s)
            core.process(SampleBlock("p1", "ibi", np.array([t]), np.array([ibi_s]), "s", clock.now_s(), 0.0))

    beats(1.0, 15.0)  # 60 bpm through the baseline window
    beats(0.75, 15.0)  # then 80 bpm
    assert core.features(clock.now_s())["p1.heart.bpm_change"] == pytest.approx(20.0, abs=0.5)
    core.rebaseline("p1")
    assert math.isnan(core.features(clock.now_s())["p1.heart.bpm_change"])  # nothing learnt yet
    beats(0.75, 15.0)
    assert core.features(clock.now_s())["p1.heart.bpm_change"] == pytest.approx(0.0, abs=0.5)
