"""The soak benchmark, in its 60-second CI form: 16 simulated wearers, sound on JACK's dummy
driver, visuals headless. It checks that the soak measures (memory, xruns, beats, faults
looked at throughout, nothing left running), not the figures: those are for the
30-minute run of ``ecosymphony bench soak``."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from installation.bench.soak import SoakReport, SoakSample, rss_mb
from installation.sound.jack_server import server_running

from tests.helpers import DEFAULT_SHOW, ecosymphony


def test_a_one_minute_soak_of_sixteen_wearers(jackd: str, tmp_path: Path) -> None:
    server_before = server_running()
    proc = ecosymphony("bench", "soak", "--seconds", "60", "--wearers", "16", "--every", "10",
                       "--record", str(tmp_path), "--json", timeout_s=240.0)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    samples = report["samples"]
    assert len(samples) >= 5 and samples[-1]["elapsed_s"] >= 59.0
    assert all(s["rss_mb"] > 50.0 and s["visuals_rss_mb"] > 10.0 for s in samples)  # both processes watched
    assert report["growth_mb_per_h"] is not None and report["rss_end_mb"] >= report["rss_start_mb"] * 0.5
    assert report["audio"] == "jack"
    xruns = [s["xruns"] for s in samples]  # counted by the JACK client since the show began
    assert all(isinstance(n, int) for n in xruns) and xruns == sorted(xruns) and report["xruns"] == xruns[-1]
    assert report["xruns_per_min"] == pytest.approx(60.0 * xruns[-1] / samples[-1]["elapsed_s"])
    assert report["idle_s"] == 10.0 and report["idle_xruns_per_min"] is not None  # the baseline, measured first
    assert report["beats"] > 0.6 * report["true_beats"] > 0  # the show worked all along, for all 16
    assert [s["blocks"] for s in samples] == sorted(s["blocks"] for s in samples) and samples[-1]["blocks"] > 10_000
    assert report["visuals_restarts"] == 0 and report["frames_written"] > 0
    assert server_running() == server_before  # the jackd it started is gone
    assert report["recording_failed"] is None and report["recording_dropped"] == 0
    assert report["recorded_samples"] > 16 * 60 * 100  # every wearer's heart and skin, for the whole minute


def _sample(t: float, rss: float) -> SoakSample:
    return SoakSample(t, rss, 80.0, 0, 0, 0, 0, 0.0)


@pytest.mark.parametrize(
    ("rss_by_minute", "growth_mb_per_h"),
    [
        ([500.0, 400.0, 400.0, 400.0, 400.0, 400.0], 0.0),  # start-up left out of the fit
        ([400.0, 400.0, 401.0, 402.0, 403.0, 404.0], 60.0),  # 1 MB a minute
        ([400.0, 401.0], math.nan),  # too few looks to fit
    ],
)
def test_memory_growth_is_fitted_after_settling(rss_by_minute: list[float], growth_mb_per_h: float) -> None:
    report = SoakReport(600.0, 16, "none", [_sample(60.0 * (i + 1), m) for i, m in enumerate(rss_by_minute)])
    got = report.growth_mb_per_h()
    assert (math.isnan(got) and math.isnan(growth_mb_per_h)) or got == pytest.approx(growth_mb_per_h, abs=1e-6)


def test_resident_memory_of_this_process_and_of_none() -> None:
    import os

    assert rss_mb(os.getpid()) > 10.0
    assert math.isnan(rss_mb(None)) and math.isnan(rss_mb(2**22 + 12345))


@pytest.mark.parametrize(("wearers", "solo_wearers"), [(12, 8), (12, 16)])
def test_a_soak_without_visuals_plays_the_show_it_is_given(tmp_path: Path, wearers: int, solo_wearers: int) -> None:
    """``--no-visuals`` (render nodes elsewhere) and ``--show``: a crowd's patch, or every wearer's own voices."""
    text = DEFAULT_SHOW.read_text(encoding="utf-8")
    text = text.replace('patch = "eco_symphony.py"', f'patch = "{(DEFAULT_SHOW.parent / "eco_symphony.py").as_posix()}"')
    text = text.replace("solo_wearers = 8 ", f"solo_wearers = {solo_wearers} ")
    assert f"solo_wearers = {solo_wearers} " in text
    show = tmp_path / "show.toml"
    show.write_text(text, encoding="utf-8")
    proc = ecosymphony("bench", "soak", "--seconds", "12", "--wearers", str(wearers), "--every", "4", "--audio", "wav",
                       "--no-visuals", "--show", str(show), "--json", timeout_s=240.0)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["frames_written"] == 0 and report["visuals_cpu_percent"] is None
    assert all(s["visuals_rss_mb"] is None for s in report["samples"])
    assert report["sound_cpu_percent"] is not None and report["sound_cpu_percent"] > 0.0
    assert report["beats"] > 0.5 * report["true_beats"] > 0
