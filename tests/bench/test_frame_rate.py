"""``ecosymphony bench visuals`` runs briefly and prints its figures (a benchmark, not a timed test)."""

from __future__ import annotations

import json

from tests.helpers import ecosymphony


def test_bench_visuals_prints_its_figures() -> None:
    done = ecosymphony("bench", "visuals", "--participants", "3", "--size", "320x180", "--seconds", "6", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["participants"] == 3 and report["size_px"] == [320, 180]
    assert report["frames"] > 60 and report["fps"] > 10 and report["frame_p50_ms"] <= report["frame_p99_ms"]
    assert report["latency_events"] >= 3  # beats that reached the screen after the detector's first seconds
    assert 0.0 < report["latency_p50_ms"] < 200.0
    assert set(report["targets_met"]) == {"fps", "frame_p99_ms", "latency_p99_ms"}
