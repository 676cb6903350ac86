"""PPG beat detection, causal and block by block, on simulated and real signals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from installation.dsp.heart import PpgBeatDetector
from installation.sensors.simulated import SimulatedWearer, WearerProfile


def detect(detector: PpgBeatDetector, t: np.ndarray, x: np.ndarray, block: int) -> np.ndarray:
    beats = []
    for i in range(0, t.size, block):
        beats += detector.process(t[i : i + block], x[i : i + block])
    return np.array([b.time_s for b in beats])


def within(times_s: np.ndarray, start_s: float, end_s: float) -> np.ndarray:
    return times_s[(times_s > start_s) & (times_s < end_s)]


def score(found: np.ndarray, reference: np.ndarray, tolerance_s: float) -> tuple[float, float]:
    """Sensitivity and positive predictive value with one-to-one matching."""
    used = np.zeros(found.size, bool)
    hits = 0
    for r in reference:
        if found.size == 0:
            break
        d = np.abs(found - r)
        d[used] = np.inf
        k = int(np.argmin(d))
        if d[k] <= tolerance_s:
            used[k] = True
            hits += 1
    return hits / max(1, reference.size), hits / max(1, found.size)


@pytest.mark.parametrize(
    ("rest_bpm", "rate_hz", "block"),
    [(48.0, 100.0, 2), (70.0, 100.0, 2), (95.0, 50.0, 5), (120.0, 250.0, 32), (70.0, 25.0, 1)],
)
def test_finds_every_simulated_beat(rest_bpm: float, rate_hz: float, block: int) -> None:
    wearer = SimulatedWearer(WearerProfile("p1", rest_bpm), np.random.default_rng(1))
    t = np.arange(0.0, 60.0, 1.0 / rate_hz)
    x = wearer.ppg(t)
    found = detect(PpgBeatDetector(rate_hz), t, x, block)
    truth = wearer.true_beats_s(60.0)
    window = (2.0, 59.0)
    sensitivity, ppv = score(within(found, *window), within(truth, *window), 0.05)
    assert sensitivity >= 0.99 and ppv >= 0.99, (sensitivity, ppv)


def test_heart_rate_follows_simulation() -> None:
    wearer = SimulatedWearer(WearerProfile("p1", 75.0, excited_bpm_gain=0.0), np.random.default_rng(2))
    t = np.arange(0.0, 30.0, 0.01)
    detector = PpgBeatDetector(100.0)
    detect(detector, t, wearer.ppg(t), 2)
    assert detector.bpm == pytest.approx(wearer.bpm(29.0), abs=4.0)


def test_inverted_sensor_needs_the_setting() -> None:
    wearer = SimulatedWearer(WearerProfile("p1", 70.0), np.random.default_rng(3))
    t = np.arange(0.0, 40.0, 0.01)
    inverted = 1023.0 - wearer.ppg(t)
    truth = wearer.true_beats_s(40.0)
    truth = within(truth, 2.0, 39.0)
    right = detect(PpgBeatDetector(100.0, inverted=True), t, inverted, 2)
    wrong = detect(PpgBeatDetector(100.0), t, inverted, 2)
    assert min(score(within(right, 2.0, 39.0), truth, 0.05)) >= 0.99
    assert score(within(wrong, 2.0, 39.0), truth, 0.05)[0] < 0.5  # beats land on the wrong part of the wave


def test_dicrotic_wave_and_spikes_are_not_beats() -> None:
    rate_hz = 100.0
    t = np.arange(0.0, 30.0, 1.0 / rate_hz)
    beats = np.arange(0.5, 30.0, 0.8)
    dt = t[:, None] - beats[None, :]
    # A strong dicrotic wave, 60 % of the systolic peak, 300 ms after it.
    x = (np.exp(-0.5 * (dt / 0.07) ** 2) + 0.6 * np.exp(-0.5 * ((dt - 0.3) / 0.07) ** 2)).sum(axis=1)
    found = detect(PpgBeatDetector(rate_hz), t, x, 4)
    sensitivity, ppv = score(within(found, 2.0, 29.5), within(beats, 2.0, 29.5), 0.05)
    assert sensitivity >= 0.99 and ppv >= 0.99


def test_flat_signal_gives_no_beats() -> None:
    t = np.arange(0.0, 20.0, 0.01)
    rng = np.random.default_rng(0)
    found = detect(PpgBeatDetector(100.0), t, 500.0 + rng.normal(0.0, 0.5, t.size), 2)
    # Pure sensor noise: the threshold decays, but implausible rhythm must stay rare.
    assert found.size < 20 * 220 / 60


def test_real_recording_irregular_timestamps(data_dir: Path) -> None:
    """HeartPy PPG (PC clock with 15.6 ms ticks and repeated stamps), 120 s, causal."""
    d = np.loadtxt(data_dir / "ppg_heartpy_data3_120s.csv", delimiter=",", skiprows=1)
    reference = np.loadtxt(data_dir / "ppg_heartpy_data3_120s.beats.csv", skiprows=1)
    found = detect(PpgBeatDetector(100.42), d[:, 0], d[:, 1], 4)
    sensitivity, ppv = score(found[found > 2.0], reference[reference > 2.0], 0.1)
    f1 = 2 * sensitivity * ppv / (sensitivity + ppv)
    assert f1 >= 0.97, (sensitivity, ppv)


def test_beats_are_reported_soon_after_they_happen() -> None:
    wearer = SimulatedWearer(WearerProfile("p1", 80.0), np.random.default_rng(4))
    t = np.arange(0.0, 30.0, 0.01)
    detector = PpgBeatDetector(100.0)
    x = wearer.ppg(t)
    for i in range(0, t.size, 2):
        detector.process(t[i : i + 2], x[i : i + 2])
    delays = np.array([b.reported_s - b.time_s for b in detector.beats])
    assert np.all(delays >= 0.0)
    assert np.median(delays) < 0.25
