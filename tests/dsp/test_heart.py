"""Beat detection, causal and block by block, on simulated and synthetic signals.
Accuracy on real recordings is in test_accuracy.py."""

from __future__ import annotations

import numpy as np
import pytest

from installation.dsp.heart import EcgBeatDetector, PpgBeatDetector
from installation.dsp.scoring import match_events
from installation.sensors.simulated import SimulatedWearer, WearerProfile


def detect(detector: PpgBeatDetector | EcgBeatDetector, t: np.ndarray, x: np.ndarray, block: int) -> np.ndarray:
    beats = []
    for i in range(0, t.size, block):
        beats += detector.process(t[i : i + block], x[i : i + block])
    return np.array([b.time_s for b in beats])


@pytest.mark.parametrize(
    ("rest_bpm", "rate_hz", "block"),
    [(48.0, 100.0, 2), (70.0, 100.0, 2), (95.0, 50.0, 5), (120.0, 250.0, 32), (70.0, 25.0, 1), (65.0, 2000.0, 40)],
)
def test_finds_every_simulated_beat(rest_bpm: float, rate_hz: float, block: int) -> None:
    wearer = SimulatedWearer(WearerProfile("p1", rest_bpm), np.random.default_rng(1))
    t = np.arange(0.0, 60.0, 1.0 / rate_hz)
    found = detect(PpgBeatDetector(rate_hz), t, wearer.ppg(t), block)
    m = match_events(found, wearer.true_beats_s(60.0), 0.05, start_s=5.0, end_s=59.0)
    assert m.sensitivity >= 0.99 and m.ppv >= 0.99, m


def test_heart_rate_and_prediction_follow_the_rhythm() -> None:
    wearer = SimulatedWearer(WearerProfile("p1", 75.0, excited_bpm_gain=0.0), np.random.default_rng(2))
    t = np.arange(0.0, 30.0, 0.01)
    detector = PpgBeatDetector(100.0)
    found = detect(detector, t, wearer.ppg(t), 2)
    assert detector.series.bpm == pytest.approx(wearer.bpm(29.0), abs=4.0)
    truth = wearer.true_beats_s(32.0)
    next_true = truth[truth > found[-1] + 0.2][0]
    assert detector.series.next_beat_s() == pytest.approx(next_true, abs=0.08)


@pytest.mark.parametrize("setting", ["auto", "inverted"])
def test_inverted_sensor(setting: str) -> None:
    wearer = SimulatedWearer(WearerProfile("p1", 70.0), np.random.default_rng(3))
    t = np.arange(0.0, 40.0, 0.01)
    detector = PpgBeatDetector(100.0, polarity=setting)  # type: ignore[arg-type]
    found = detect(detector, t, 1023.0 - wearer.ppg(t), 2)
    assert detector.polarity == "inverted"
    m = match_events(found, wearer.true_beats_s(40.0), 0.05, start_s=5.0, end_s=39.0)
    assert m.sensitivity >= 0.99 and m.ppv >= 0.99


def test_wrong_polarity_setting_misplaces_beats() -> None:
    wearer = SimulatedWearer(WearerProfile("p1", 70.0), np.random.default_rng(3))
    t = np.arange(0.0, 40.0, 0.01)
    found = detect(PpgBeatDetector(100.0, polarity="normal"), t, 1023.0 - wearer.ppg(t), 2)
    assert match_events(found, wearer.true_beats_s(40.0), 0.05, start_s=5.0, end_s=39.0).sensitivity < 0.5


def test_dicrotic_wave_is_not_a_beat() -> None:
    rate_hz = 100.0
    t = np.arange(0.0, 30.0, 1.0 / rate_hz)
    beats = np.arange(0.5, 30.0, 0.8)
    dt = t[:, None] - beats[None, :]
    # A strong dicrotic wave, 60 % of the systolic peak, 300 ms after it.
    x = (np.exp(-0.5 * (dt / 0.07) ** 2) + 0.6 * np.exp(-0.5 * ((dt - 0.3) / 0.07) ** 2)).sum(axis=1)
    m = match_events(detect(PpgBeatDetector(rate_hz), t, x, 4), beats, 0.05, start_s=5.0, end_s=29.5)
    assert m.sensitivity >= 0.99 and m.ppv >= 0.99


def synthetic_ecg(rate_hz: float, rr_s: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """R peaks (narrow), T waves and baseline wander, in mV."""
    r = np.cumsum(rr_s) + 0.5
    t = np.arange(0.0, r[-1] + 1.0, 1.0 / rate_hz)
    dt = t[:, None] - r[None, :]
    qrs = 1.2 * np.exp(-0.5 * (dt / 0.012) ** 2) - 0.25 * np.exp(-0.5 * ((dt - 0.03) / 0.012) ** 2)
    twave = 0.3 * np.exp(-0.5 * ((dt - 0.25) / 0.05) ** 2)
    rng = np.random.default_rng(seed)
    x = (qrs + twave).sum(axis=1) + 0.2 * np.sin(2 * np.pi * 0.2 * t) + rng.normal(0, 0.01, t.size)
    return t, x, r


@pytest.mark.parametrize(("rate_hz", "bpm"), [(250.0, 60.0), (360.0, 150.0), (1000.0, 45.0), (500.0, 190.0)])
def test_ecg_r_peaks_with_steady_delay(rate_hz: float, bpm: float) -> None:
    rng = np.random.default_rng(5)
    rr = 60.0 / bpm * (1 + 0.05 * rng.standard_normal(int(bpm)))
    t, x, r = synthetic_ecg(rate_hz, rr)
    detector = EcgBeatDetector(rate_hz)
    beats = []
    step = max(1, int(0.02 * rate_hz))
    for i in range(0, t.size, step):
        beats += detector.process(t[i : i + step], x[i : i + step])
    found = np.array([b.time_s for b in beats])
    m = match_events(found, r, 0.02, start_s=3.0)
    assert m.sensitivity >= 0.99 and m.ppv >= 0.99, m
    delays = np.array([b.reported_s - b.time_s for b in beats])
    assert np.median(delays) <= 0.25 and np.std(delays) <= 0.02


def test_ecg_ectopic_beat_is_a_beat_but_not_a_normal_interval() -> None:
    rr = np.full(40, 0.8)
    rr[20] = 0.45  # premature beat ...
    rr[21] = 1.15  # ... and its compensatory pause
    t, x, r = synthetic_ecg(500.0, rr)
    detector = EcgBeatDetector(500.0)
    beats = []
    for i in range(0, t.size, 10):
        beats += detector.process(t[i : i + 10], x[i : i + 10])
    assert match_events(np.array([b.time_s for b in beats]), r, 0.02, start_s=3.0).sensitivity == 1.0
    odd = [b for b in beats if not b.normal]
    assert len(odd) == 2 and abs(odd[0].time_s - r[20]) < 0.02
    assert detector.series.bpm == pytest.approx(75.0, abs=1.0)


def test_flat_noise_gives_few_beats() -> None:
    t = np.arange(0.0, 20.0, 0.01)
    rng = np.random.default_rng(0)
    found = detect(PpgBeatDetector(100.0), t, 500.0 + rng.normal(0.0, 0.5, t.size), 2)
    assert found.size < 20 * 220 / 60


def ecg_detect(rate_hz: float, t: np.ndarray, x: np.ndarray) -> list:
    detector = EcgBeatDetector(rate_hz)
    beats = []
    step = max(1, int(0.02 * rate_hz))
    for i in range(0, t.size, step):
        beats += detector.process(t[i : i + step], x[i : i + step])
    return beats


@pytest.mark.parametrize("rate_hz", [360.0, 1000.0])
def test_ecg_report_delay_is_the_same_for_narrow_and_wide_complexes(rate_hz: float) -> None:
    # Every third complex is wide (a ventricular beat, ~100 ms): its QRS energy peaks
    # later than a narrow one's, but the report still comes a set time after the R apex
    # (a weak candidate, as a wide complex's slope energy is, holds a little longer).
    r = 0.5 + np.cumsum(np.full(60, 0.75))
    t = np.arange(0.0, r[-1] + 1.0, 1.0 / rate_hz)
    widths_s = np.where(np.arange(r.size) % 3 == 2, 0.04, 0.012)
    dt = t[:, None] - r[None, :]
    x = (1.2 * np.exp(-0.5 * (dt / widths_s) ** 2)).sum(axis=1) + np.random.default_rng(1).normal(0, 0.01, t.size)
    beats = [b for b in ecg_detect(rate_hz, t, x) if b.time_s > 3.0]
    m = match_events(np.array([b.time_s for b in beats]), r, 0.02, start_s=3.0)
    assert m.sensitivity == 1.0 and m.ppv == 1.0, m
    wide = np.array([b.reported_s - b.time_s for b in beats if np.min(np.abs(r[widths_s > 0.02] - b.time_s)) < 0.02])
    narrow = np.array([b.reported_s - b.time_s for b in beats if np.min(np.abs(r[widths_s < 0.02] - b.time_s)) < 0.02])
    assert np.std(narrow) < 0.002 and np.std(wide) < 0.01
    assert 0.0 <= np.median(wide) - np.median(narrow) < 0.03, (np.median(wide), np.median(narrow))


@pytest.mark.parametrize(("second_height", "expected"), [(1.0, "first"), (0.8, "first"), (2.0, "second")])
def test_ecg_spike_right_after_a_complex_does_not_take_its_place(second_height: float, expected: str) -> None:
    # Now and then a second spike follows a complex by 150 ms, with noise behind it that
    # makes its QRS energy the larger: the complex that opened the candidate stays the
    # beat unless the spike stands clearly taller.
    rate_hz = 360.0
    r = 0.5 + np.cumsum(np.full(50, 0.8))
    t = np.arange(0.0, r[-1] + 1.0, 1.0 / rate_hz)
    rng = np.random.default_rng(4)
    x = (1.2 * np.exp(-0.5 * ((t[:, None] - r[None, :]) / 0.012) ** 2)).sum(axis=1) + rng.normal(0, 0.01, t.size)
    odd = r[10::10]
    for r_s in odd:
        x += second_height * 1.2 * np.exp(-0.5 * ((t - r_s - 0.15) / 0.012) ** 2)
        burst = (t > r_s + 0.165) & (t < r_s + 0.24)
        x[burst] += 1.0 * np.sin(2 * np.pi * 15.0 * t[burst])
    found = np.array([b.time_s for b in ecg_detect(rate_hz, t, x)])
    near = np.array([found[np.argmin(np.abs(found - r_s - 0.075))] for r_s in odd])
    want = odd if expected == "first" else odd + 0.15
    assert np.all(np.abs(near - want) < 0.02), near - odd


@pytest.mark.parametrize(("after_s", "height_mv", "width_s", "is_beat"), [
    (0.22, 0.45, 0.01, False),  # a noise bump (R/3 tall) 220 ms after a beat (a "beat" at 270 bpm): too gentle
    (0.30, 0.6, 0.006, False),  # inside Pan-Tompkins' T-wave window (200-360 ms)
    (0.50, 0.45, 0.015, False),  # premature (under 0.7 of the running interval) and gentle
    (0.30, 1.2, 0.012, True),  # as steep as the beats: an early beat (R on T), kept
    (0.50, 1.2, 0.012, True),  # a premature beat with a QRS's slope, kept
])
def test_ecg_gentle_bump_soon_after_a_beat_is_not_a_beat(after_s: float, height_mv: float, width_s: float,
                                                         is_beat: bool) -> None:
    rate_hz = 360.0
    rr = np.full(60, 0.87)
    t, x, r = synthetic_ecg(rate_hz, rr, seed=2)
    bumps = r[10:-2:5] + after_s
    x = x + (height_mv * np.exp(-0.5 * ((t[:, None] - bumps[None, :]) / width_s) ** 2)).sum(axis=1)
    found = np.array([b.time_s for b in ecg_detect(rate_hz, t, x)])
    assert match_events(found, r, 0.03, start_s=3.0).sensitivity == 1.0  # every true beat is still found
    at_bumps = match_events(found, bumps, 0.03, start_s=3.0).hits
    assert at_bumps == (bumps.size if is_beat else 0), at_bumps


def pulse_train(rate_hz: float, beats_s: np.ndarray, heights: np.ndarray, dicrotic: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """A PPG-like wave: a Gaussian systolic pulse of ``heights`` at each beat, and a dicrotic wave 300 ms after it."""
    t = np.arange(0.0, beats_s[-1] + 1.0, 1.0 / rate_hz)
    dt = t[:, None] - beats_s[None, :]
    x = heights[None, :] * (np.exp(-0.5 * (dt / 0.07) ** 2) + dicrotic * np.exp(-0.5 * ((dt - 0.3) / 0.07) ** 2))
    return t, x.sum(axis=1) + np.random.default_rng(3).normal(0.0, 0.005, t.size)


@pytest.mark.parametrize(("small", "found"), [(0.3, True), (0.25, True), (0.0, False)])
def test_a_smaller_pulse_after_tall_ones_is_found_by_searching_back(small: float, found: bool) -> None:
    """Every fifth pulse is a quarter to a third as tall as the four before: the threshold, high after
    the tall ones, misses it; 1.5 intervals on with no beat, the search back finds it (and nothing
    when there was no pulse)."""
    rate_hz = 100.0
    beats = 0.5 + np.arange(80) * 0.8
    heights = np.where(np.arange(80) % 5 == 4, small, 1.0)
    t, x = pulse_train(rate_hz, beats, heights)
    got = detect(PpgBeatDetector(rate_hz), t, x, 2)
    small_ones = beats[(np.arange(80) % 5 == 4) & (beats > 8.0)]
    hits = match_events(got, small_ones, 0.05, start_s=8.0).hits
    assert hits == (small_ones.size if found else 0), (hits, small_ones.size)
    tall = beats[(heights == 1.0) & (beats > 8.0)]
    assert match_events(got, tall, 0.05, start_s=8.0).sensitivity == 1.0
    assert match_events(got, beats[heights > 0], 0.05, start_s=8.0).ppv == 1.0  # nothing else


def test_the_first_pulses_after_learning_keep_the_learnt_threshold() -> None:
    """The threshold learnt from the first seconds holds from the first pulse on. On a real finger
    PPG with a tall diastolic wave, the level was once relaxed at once after learning (as if the
    pulse had been lost for the whole learning time), and the diastolic waves of the next seconds
    counted as beats."""
    from pathlib import Path

    from installation.commands.analyze import analyze_recording, load_recording

    data = Path(__file__).resolve().parents[1] / "data"
    t, v = load_recording(data / "ppg_heartpy_data3.csv.gz")
    first = t < 20.0
    analysis = analyze_recording(t[first], v[first], "ppg")
    found = np.array([e.time_s for e in analysis.events if e.address.endswith(".heart.beat")])
    reference = np.loadtxt(data / "ppg_heartpy_data3.beats.csv", skiprows=1)
    m = match_events(found, reference, 0.1, start_s=5.0, end_s=19.0)
    assert m.sensitivity == 1.0 and m.ppv == 1.0, m


@pytest.mark.parametrize(("kind", "cut_after_s", "reported"), [
    ("ecg", 0.10, True),  # the R apex is in, its report (240 ms on) is not: reported at the end
    ("ecg", 0.09, True),
    ("ecg", 0.05, False),  # the QRS energy still rising (it tops ~80 ms on): the complex may not be whole
    ("ecg", -0.01, False),  # the file ends on the R wave's upstroke: no whole complex, no beat
    ("ppg", 0.04, True),  # past the systolic top, not yet fallen to half of it
    ("ppg", -0.05, False),  # still rising
])
def test_the_beat_pending_at_the_end_of_a_signal_is_reported_there(kind: str, cut_after_s: float, reported: bool) -> None:
    rate_hz = 360.0
    beats = 0.5 + np.arange(25) * 0.8
    if kind == "ecg":
        t, x, beats = synthetic_ecg(rate_hz, np.full(25, 0.8), seed=1)
        detector: EcgBeatDetector | PpgBeatDetector = EcgBeatDetector(rate_hz)
    else:
        t, x = pulse_train(rate_hz, beats, np.ones(beats.size))
        detector = PpgBeatDetector(rate_hz)
    end = t <= beats[-3] + cut_after_s
    found = detect(detector, t[end], x[end], 7)
    assert match_events(found, beats[:-3], 0.03, start_s=5.0).hits == np.sum((beats > 5.0) & (beats < beats[-3]))
    assert not np.any(np.abs(found - beats[-3]) < 0.03)  # live, the last beat waits for more signal
    at_end = detector.finish()
    assert len(at_end) == int(reported)
    if reported:
        assert abs(at_end[0].time_s - beats[-3]) < 0.03 and at_end[0].reported_s == pytest.approx(t[end][-1])
    assert detector.finish() == []  # once


def test_a_taller_pulse_right_behind_a_weak_one_takes_its_place() -> None:
    """On a real finger PPG whose dicrotic waves stand tall, a dicrotic wave once taken for a pulse
    put the next systolic peak in its refractory time, and the detector stayed locked on the
    dicrotic waves for beats on end (213-216 s of the record). A weak candidate now
    waits a little after its top, and the taller pulse right behind it takes its place."""
    from pathlib import Path

    from installation.commands.analyze import analyze_recording, load_recording

    data = Path(__file__).resolve().parents[1] / "data"
    t, v = load_recording(data / "ppg_heartpy_data3.csv.gz")
    part = (t > 180.0) & (t < 222.0)
    analysis = analyze_recording(t[part], v[part], "ppg")
    found = np.array([e.time_s for e in analysis.events if e.address.endswith(".heart.beat")])
    reference = np.loadtxt(data / "ppg_heartpy_data3.beats.csv", skiprows=1)
    locked_stretches = match_events(found, reference, 0.1, start_s=195.0, end_s=217.0)
    assert locked_stretches.extra == 0 and locked_stretches.sensitivity == 1.0, locked_stretches
