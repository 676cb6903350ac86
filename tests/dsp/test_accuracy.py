"""Accuracy of the live core on real recordings, replayed in live-sized blocks.

References are consensus detections from offline tools (see tests/data/README.md);
a beat matches within 100 ms, an SCR peak within 1 s. Scoring starts after the
detectors' learning time (5 s). Thresholds guard what the core reaches today;
the benchmark command prints the figures against the project's targets.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from installation.dsp.scoring import match_events, match_rises
from installation.commands.analyze import analyze_recording, load_recording

DATA = Path(__file__).parents[1] / "data"


def beats(name: str, signal: str, polarity_flip: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    t, v = load_recording(DATA / f"{name}.csv.gz")
    analysis = analyze_recording(t, -v if polarity_flip else v, signal)  # type: ignore[arg-type]
    found = np.array([e.time_s for e in analysis.events if e.address.endswith(".heart.beat")])
    delays = np.array([e.reported_s - e.time_s for e in analysis.events if e.address.endswith(".heart.beat")])
    return found, np.loadtxt(DATA / f"{name}.beats.csv", skiprows=1), delays


@pytest.mark.parametrize(
    ("name", "min_sensitivity", "min_ppv"),
    [("ecg_bsnb_5min_1000hz_120s", 0.995, 0.995), ("ecg_mitbih208_360hz", 0.995, 0.995)],
)
def test_ecg_beats(name: str, min_sensitivity: float, min_ppv: float) -> None:
    found, reference, delays = beats(name, "ecg")
    m = match_events(found, reference, 0.1, start_s=5.0)
    assert m.sensitivity >= min_sensitivity and m.ppv >= min_ppv, m
    assert np.median(delays) <= 0.25 and np.std(delays) <= 0.02


@pytest.mark.parametrize(
    ("name", "min_f1", "flip"),
    [
        ("ppg_heartpy_data3", 0.98, False),
        ("ppg_bsnb_rest_1000hz", 0.98, False),
        ("ppg_bsnb_rest_1000hz", 0.98, True),  # an inverted sensor, detected by itself
    ],
)
def test_ppg_beats_at_rest(name: str, min_f1: float, flip: bool) -> None:
    found, reference, _ = beats(name, "ppg", flip)
    m = match_events(found, reference, 0.1, start_s=5.0)
    assert m.f1 >= min_f1, m


def test_ppg_motion_artifact_lowers_quality() -> None:
    from installation.dsp.core import SignalCore
    from installation.sensors.base import SampleBlock

    t, v = load_recording(DATA / "ppg_bsnb_motion_artifact.csv.gz")
    core = SignalCore()
    quality = []
    for i in range(0, t.size, 20):
        core.process(SampleBlock("p1", "ppg", t[i : i + 20], v[i : i + 20], "adc", float(t[i]), 1000.0))
        quality.append((t[i], core.features(float(t[i]))["p1.heart.quality"]))
    q = np.array(quality)
    calm = q[((q[:, 0] > 8.5) & (q[:, 0] < 13.0)) | (q[:, 0] > 20.0), 1]
    motion = q[((q[:, 0] > 4.5) & (q[:, 0] < 7.5)) | ((q[:, 0] > 14.0) & (q[:, 0] < 18.3)), 1]
    assert calm.mean() > 0.7 and motion.mean() < calm.mean() - 0.2, (calm.mean(), motion.mean())


@pytest.mark.parametrize(("name", "us_per_count", "max_extra"), [
    ("eda_bsnb_hot_surface_1000hz", 3.3 / 2**10 / 0.132, 3),
    ("eda_bsnb_slow_100hz", 3.0 / 2**16 / 0.12, 0),
])
def test_eda_responses(name: str, us_per_count: float, max_extra: int) -> None:
    """Every reference response of at least 0.05 uS (NeuroKit2's, made offline) is found, its
    rise overlapping ours, with at most 15 % extra (3 of the hot-surface record's 21). A
    detector of rises in the level reported 8 extra there: rises in the ~1 Hz ripple that
    NeuroKit2 leaves out; in the driver they merge into the response they ride on."""
    t, v = load_recording(DATA / f"{name}.csv.gz")
    analysis = analyze_recording(t, v * us_per_count, "eda", unit="uS")
    scr = [e for e in analysis.events if e.address.endswith(".eda.scr")]
    found = [np.array([getattr(e, k) for e in scr]) for k in ("onset_s", "time_s", "value")]
    reference = np.genfromtxt(DATA / f"{name}.scr.csv", delimiter=",", names=True)
    ref = [np.atleast_1d(reference[k]) for k in ("onset_s", "peak_s")] + [np.atleast_1d(reference["amplitude"]) * us_per_count]
    m = match_rises(*found, *ref, 0.05, start_s=5.0)
    assert m.hits == m.reference and m.extra <= max_extra, m


def test_eda_responses_on_the_synthetic_record() -> None:
    """The long synthetic record (1500 s, 131 known responses of at least 0.05 uS, many on the
    recovery of the one before): >= 95 % found, <= 15 % extra. A detector of rises in the
    level found 94.7 %: the small responses on a steep recovery never make the level turn up."""
    from installation.sensors.eda_record import synthetic_eda

    rec = synthetic_eda()
    analysis = analyze_recording(rec.times_s, rec.values_us, "eda", unit="uS")
    scr = [e for e in analysis.events if e.address.endswith(".eda.scr")]
    found = [np.array([getattr(e, k) for e in scr]) for k in ("onset_s", "time_s", "value")]
    m = match_rises(*found, rec.onset_s, rec.peak_s, rec.amplitude_us, 0.05, start_s=5.0)
    assert m.reference == 131 and m.found_pct >= 95.0 and m.extra_pct <= 15.0, m
