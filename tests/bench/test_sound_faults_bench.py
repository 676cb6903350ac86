"""The sound-faults benchmark, run for real on JACK's dummy driver: it checks that it measures (a
gap heard, nothing else restarted, every sample recorded, a NaN silenced and the sound back, stamped
triggers heard near their time), not the figures it prints."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.helpers import REPO, headless_env


def test_the_sound_faults_benchmark_hears_a_kill_and_a_nan(jackd: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "installation.bench.sound_faults", "--wearers", "2", "--json"],
                          cwd=REPO, env=headless_env(), capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    kill, nan = report["kill"], report["nan"]
    assert kill["sound_restarts"] == 1 and kill["visuals_restarts"] == 0 and kill["other_faults"] == []
    assert 0.0 < kill["gap_ms"] < kill["back_to_half_ms"] + 100.0
    assert kill["recorded_samples"] == kill["analysed_samples"] > 0  # the recording lost nothing
    assert nan["watchdog_trips"] == 1 and any("non-finite" in line for line in nan["said"])
    assert 0 <= nan["silence_after_buffer_start_samples"] < nan["buffer_frames"]
    assert 0.0 < nan["back_ms"] < 1000.0
    scheduled = report["scheduled"]  # held by liblo until due: a bundle passed on at once would be 300 ms early
    assert scheduled["found"] == scheduled["count"] > 0 and abs(scheduled["median_ms"]) < 20.0
