"""The noise stress benchmark: its noise has the band and the SNR it claims, and the detector meets its targets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import signal as sps

from installation.bench.noise_stress import NOISES, StressRow, add_noise, make_noise, qrs_amplitude, score
from installation.commands.analyze import load_recording

DATA = Path(__file__).resolve().parents[1] / "data"
RATE_HZ = 360.0


@pytest.mark.parametrize(("kind", "band_hz"), [("muscle", (20.0, 150.0)), ("motion", (0.5, 10.0)), ("wander", (0.0, 0.5))])
def test_each_noise_has_most_of_its_power_in_its_band(kind: str, band_hz: tuple[float, float]) -> None:
    noise, present = make_noise(kind, int(120 * RATE_HZ), RATE_HZ, np.random.default_rng(1))  # type: ignore[arg-type]
    f, p = sps.welch(noise, fs=RATE_HZ, nperseg=int(8 * RATE_HZ))
    inside = p[(f >= band_hz[0]) & (f <= band_hz[1])].sum()
    assert inside / p.sum() > 0.9
    if kind == "motion":  # bursts, with quiet between them
        assert 0.15 < present.mean() < 0.7
        assert np.mean(noise[~present] ** 2) < 0.1 * np.mean(noise[present] ** 2)
    else:
        assert present.all()


@pytest.mark.parametrize("kind", NOISES)
@pytest.mark.parametrize("snr_db", [18.0, 6.0])
def test_the_noise_is_added_at_the_snr_asked_for(kind: str, snr_db: float) -> None:
    t = np.arange(0.0, 60.0, 1.0 / RATE_HZ)
    clean = np.zeros(t.size)
    noisy = add_noise(clean, kind, snr_db, 1.0, RATE_HZ, np.random.default_rng(2))  # type: ignore[arg-type]
    _, present = make_noise(kind, t.size, RATE_HZ, np.random.default_rng(2))  # type: ignore[arg-type]
    measured = 10 * np.log10((1.0**2 / 8.0) / np.mean(noisy[present] ** 2))
    assert measured == pytest.approx(snr_db, abs=0.05)


def test_qrs_amplitude_is_the_median_peak_to_peak_of_the_complexes() -> None:
    t = np.arange(0.0, 20.0, 1.0 / RATE_HZ)
    beats = np.arange(1.0, 19.0, 0.8)
    x = (1.5 * np.exp(-0.5 * ((t[:, None] - beats[None, :]) / 0.01) ** 2)).sum(axis=1) + 0.3 * np.sin(0.3 * t)
    assert qrs_amplitude(t, x, beats, RATE_HZ) == pytest.approx(1.5, rel=0.05)


def test_the_detector_meets_the_targets_under_electrode_motion_on_a_real_record() -> None:
    """Electrode motion at 12 dB is the hardest of the three at the targets' SNRs (its band is the QRS's)."""
    t, v = load_recording(DATA / "ecg_mitbih208_360hz.csv.gz")
    reference = np.loadtxt(DATA / "ecg_mitbih208_360hz.beats.csv", skiprows=1)
    rate_hz = (t.size - 1) / float(t[-1] - t[0])
    noisy = add_noise(v, "motion", 12.0, qrs_amplitude(t, v, reference, rate_hz), rate_hz, np.random.default_rng([2026, 1, 12]))
    row = StressRow("208", "motion", 12.0, *score(t, noisy, reference))
    assert row.meets, row
