"""The real-time latency benchmark, run briefly under JACK's dummy driver.

These check that the benchmark measures (every event found, numbers in a sane
range, the floor measured beside ours, jackd gone afterwards), not that the
targets are met: absolute times on a shared machine drift.
"""

from __future__ import annotations

import json
import math

import pytest

from installation.bench import latency as bench
from installation.bench.latency import WEARERS, bench_latency
from installation.cli import main
from installation.sound.jack_server import server_running

EVENTS = 20


@pytest.mark.parametrize("transport", ["osc", "serial"])
def test_latency_bench_measures_ours_and_the_floor(jackd: str, transport: bench.Transport) -> None:
    server_before = server_running()
    report = bench_latency(transport, buffer_frames=64, events=EVENTS)
    assert (report.transport, report.events, report.buffer_frames) == (transport, EVENTS, 64)
    assert report.triggers == EVENTS + len(WEARERS)  # every event went through the core to the patch
    for stats in (report.ours, report.floor):
        assert stats.count == EVENTS and stats.missed == 0
        values = [stats.p50_ms, stats.p95_ms, stats.p99_ms, stats.max_ms, stats.sd_ms, stats.mean_ms]
        assert all(math.isfinite(v) for v in values), stats
        assert 0.0 < stats.p50_ms < 50.0 and stats.p50_ms <= stats.p95_ms <= stats.p99_ms <= stats.max_ms < 50.0
    assert math.isfinite(report.ratio_p50) and report.ratio_p50 > 0.0
    assert report.jack_started == (not server_before)
    assert server_running() == server_before  # a jackd the benchmark started is stopped again


def test_latency_bench_command_prints_one_json_object(jackd: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "latency", "--events", "4", "--json"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    report = json.loads(out[0])
    assert report["transport"] == "osc" and report["events"] == 4
    assert report["ours"]["count"] == 4 and report["floor"]["count"] == 4
    assert set(report["targets_met"]) == {"p50_ms", "p99_ms", "sd_ms", "ratio_p50"}


def test_latency_bench_without_jack_exits_2_saying_what_to_install(monkeypatch: pytest.MonkeyPatch,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from installation.sound import jack_server

    monkeypatch.setattr(jack_server, "server_settings", lambda: None)
    monkeypatch.setattr(jack_server, "jackd_path", lambda: None)
    assert main(["bench", "latency", "--events", "4"]) == 2
    assert "apt-get install jackd2" in capsys.readouterr().err
