"""``python -m installation.bench.flashes`` runs briefly and prints its figures (a benchmark, not a timed test)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.helpers import REPO, headless_env


def test_bench_flashes_prints_its_figures() -> None:
    done = subprocess.run([sys.executable, "-m", "installation.bench.flashes", "--size", "320x180", "--seconds", "5",
                           "--frame-seconds", "2", "--json"], cwd=REPO, env=headless_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    screen = report["screen"]
    assert screen["storm_unguarded"]["worst"] > 3.0 >= screen["storm_guarded"]["worst"]
    assert screen["hearts_and_flares_guarded"]["worst"] <= 3.0
    lights = report["lights"]
    assert max(lights["unlimited_worst_per_wash"]) > 3.0 >= max(lights["limited_worst_per_wash"])
    assert report["frame_cost"]["on_p50_ms"] > 0 and report["frame_cost"]["measure_ms"] > 0
