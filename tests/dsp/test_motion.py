"""Motion from an accelerometer: its level and cadence, heart quality lowered while a wearer
moves, and PPG peaks that follow the movement rejected, on synthetic walks whose true beats
are known; and nothing changed for a wearer without an accelerometer."""

from __future__ import annotations

import math

import numpy as np
import pytest

from installation.bench.motion import replay, walk
from installation.commands.analyze import load_recording
from installation.dsp.core import SignalCore
from installation.dsp.motion import MotionBank
from installation.dsp.scoring import heart_rate_error, match_events, reference_bpm
from installation.sensors.base import SampleBlock
from installation.sensors.simulated import ArmSwing, SimulatedWearer, WearerProfile

from conftest import DATA


def feed_motion(bank: MotionBank, times: np.ndarray, axes: np.ndarray, rate_hz: float, signals=("acc_x", "acc_y", "acc_z")) -> None:
    rows = [bank.add("p1", s, rate_hz, float(axes[i, 0])) for i, s in enumerate(signals)]
    step = max(1, int(0.04 * rate_hz))
    for i in range(0, times.size, step):
        bank.process([("p1", row, times[i : i + step], axes[k, i : i + step]) for k, row in enumerate(rows)])


@pytest.mark.parametrize("cadence_hz", [0.6, 0.9, 1.4, 2.0])
@pytest.mark.parametrize("rate_hz", [25.0, 100.0])
def test_level_and_cadence_of_an_arm_swing(cadence_hz: float, rate_hz: float) -> None:
    wearer = SimulatedWearer(WearerProfile("p1", 70.0), np.random.default_rng(1))
    wearer.swings.append(ArmSwing(20.0, 40.0, cadence_hz))
    bank = MotionBank()
    t = np.arange(0.0, 20.0, 1.0 / rate_hz)
    feed_motion(bank, t, wearer.acc(t), rate_hz)
    assert bank.level("p1") == 0.0  # at rest: sensor noise and gravity only
    t = np.arange(20.0, 35.0, 1.0 / rate_hz)
    feed_motion_more = [(s, r) for s, r in bank._wearers["p1"].rows.items()]
    axes = wearer.acc(t)
    for i in range(0, t.size, 4):
        bank.process([("p1", row, t[i : i + 4], axes[k, i : i + 4]) for k, (_, row) in enumerate(feed_motion_more)])
    assert bank.level("p1") > 0.8
    cadence = bank.cadence("p1")
    assert cadence.period_s == pytest.approx(1.0 / cadence_hz, rel=0.06) and cadence.periodicity > 0.6


def test_a_magnitude_alone_gives_the_level_too() -> None:
    wearer = SimulatedWearer(WearerProfile("p1", 70.0), np.random.default_rng(2))
    wearer.swings.append(ArmSwing(10.0, 30.0, 0.9))
    t = np.arange(0.0, 25.0, 1.0 / 50.0)
    magnitude = np.sqrt((wearer.acc(t) ** 2).sum(axis=0))[None, :]
    rest, moving = MotionBank(), MotionBank()
    feed_motion(rest, t[t < 10.0], magnitude[:, t < 10.0], 50.0, ("acc",))
    feed_motion(moving, t, magnitude, 50.0, ("acc",))
    assert rest.level("p1") == 0.0 and moving.level("p1") > 0.5


@pytest.mark.parametrize(("rest_bpm", "cadence_hz", "artefact"), [(72.0, 0.9, 1.5), (80.0, 0.8, 2.0), (55.0, 1.6, 1.2)])
def test_an_accelerometer_rejects_the_peaks_of_a_walk(rest_bpm: float, cadence_hz: float, artefact: float) -> None:
    rec = walk(rest_bpm, cadence_hz, artefact)
    scores = {}
    for name, acc in (("without", None), ("with", (rec["t_acc"], rec["acc"]))):
        beats, read_at, bpm = replay((rec["t"], rec["ppg"]), acc, ppg_hz=100.0)
        walking = (read_at >= 30.0) & (read_at < 72.0)
        m = match_events(beats, rec["truth"], 0.1, 30.0, 72.0)
        scores[name] = (m.extra, heart_rate_error(read_at[walking], bpm[walking], rec["truth"]))
        at_rest = match_events(beats, rec["truth"], 0.1, 10.0, 30.0)
        assert at_rest.sensitivity == 1.0 and at_rest.ppv == 1.0, name  # at rest the accelerometer changes nothing
    (extra_without, error_without), (extra_with, error_with) = scores["without"], scores["with"]
    assert extra_with <= 3 < 15 <= extra_without, scores
    assert error_with < 8.0 and error_with < 0.5 * error_without, scores


def test_a_heart_that_keeps_the_cadence_is_left_alone() -> None:
    rec = walk(75.0, 1.25, 1.5)  # 75 bpm: one beat per swing, the two cannot be told apart
    without = replay((rec["t"], rec["ppg"]), None, ppg_hz=100.0)[0]
    with_acc = replay((rec["t"], rec["ppg"]), (rec["t_acc"], rec["acc"]), ppg_hz=100.0)[0]
    assert without.tolist() == with_acc.tolist()


def test_quality_falls_and_the_level_is_published_while_the_wearer_walks() -> None:
    rec = walk(72.0, 0.9, 1.5)
    core = SignalCore()
    seen: dict[str, list[tuple[float, float, str]]] = {"rest": [], "walk": []}
    for k in range(int(60.0 / 0.04)):
        lo, hi = k * 0.04, (k + 1) * 0.04
        i0, i1 = np.searchsorted(rec["t"], [lo, hi])
        j0, j1 = np.searchsorted(rec["t_acc"], [lo, hi])
        blocks = [SampleBlock("p1", "ppg", rec["t"][i0:i1], rec["ppg"][i0:i1], "adc", hi, 100.0)]
        if j1 > j0:
            blocks += [SampleBlock("p1", s, rec["t_acc"][j0:j1], rec["acc"][a, j0:j1], "g", hi, 25.0)
                       for a, s in enumerate(("acc_x", "acc_y", "acc_z"))]
        core.process_many(blocks)
        f = core.features(hi)
        stretch = "rest" if 15.0 <= hi < 28.0 else "walk" if 40.0 <= hi < 60.0 else None
        if stretch:
            seen[stretch].append((f["p1.motion.level"], f["p1.heart.quality"], core.states()["p1.heart"]))
    rest, walking = np.array([s[:2] for s in seen["rest"]]), np.array([s[:2] for s in seen["walk"]])
    assert rest[:, 0].max() == 0.0 and walking[:, 0].min() > 0.8
    assert rest[:, 1].min() > 0.9 and walking[:, 1].max() < 0.5
    assert {s[2] for s in seen["rest"]} == {"ok"} and {s[2] for s in seen["walk"]} <= {"noisy"}
    assert core.motion_rejected("p1") > 10


def test_a_wearer_without_an_accelerometer_keeps_every_beat_and_figure() -> None:
    """p1 has no accelerometer: what the core makes of p1's record is the same whether
    another wearer's accelerometer (which installs the veto) is there or not."""
    t, v = load_recording(DATA / "ppg_bsnb_motion_artifact.csv.gz")
    rate = (t.size - 1) / (t[-1] - t[0])
    other = SimulatedWearer(WearerProfile("p2", 70.0), np.random.default_rng(1))
    other.swings.append(ArmSwing(0.0, 60.0, 0.9))
    results = []
    for with_other in (False, True):
        core = SignalCore()
        events, figures = [], []
        for i in range(0, t.size, 20):
            blocks = [SampleBlock("p1", "ppg", t[i : i + 20], v[i : i + 20], "adc", float(t[min(i + 19, t.size - 1)]), rate)]
            if with_other and i % 40 == 0:
                ta = np.array([t[i]])
                blocks += [SampleBlock("p2", s, ta, other.acc(ta)[a], "g", float(t[i]), 25.0) for a, s in enumerate(("acc_x", "acc_y", "acc_z"))]
            events += [(e.address, e.time_s, e.reported_s, e.value) for e in core.process_many(blocks) if e.address.startswith("p1.")]
            if i % 1000 == 0:
                f = core.features(float(t[i]))
                figures.append(tuple(f[k] for k in sorted(f) if k.startswith("p1.")))
        results.append((events, figures))
    assert results[0][0] and results[0][0] == results[1][0]
    assert np.array_equal(np.array(results[0][1]), np.array(results[1][1]), equal_nan=True)


def test_reference_rate_and_heart_rate_error() -> None:
    reference = np.arange(0.0, 30.0, 0.8)  # 75 bpm
    at = np.array([1.0, 10.0, 20.0])
    assert np.isnan(reference_bpm(reference, at)[0]) and reference_bpm(reference, at)[1:] == pytest.approx([75.0, 75.0])
    assert heart_rate_error(at, np.array([10.0, 70.0, 85.0]), reference) == pytest.approx(7.5)
    assert heart_rate_error(at, np.array([10.0, math.nan, 75.0]), reference) == pytest.approx(37.5)  # unknown: as far off as the rate
