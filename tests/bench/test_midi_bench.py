"""The beat -> MIDI note benchmark, run briefly under JACK's dummy driver: it measures (every beat's
note found on both paths, figures in a sane range, jackd gone afterwards), targets are not checked."""

from __future__ import annotations

import json
import math

import pytest

from installation.bench import midi as bench
from installation.sound.jack_server import server_running
from tests.outputs.midi_peers import require_jack_tools


@pytest.mark.parametrize(("sends_ns", "channels", "got", "latencies_ms"), [
    ([0, 10_000_000], [0, 1], [(2_000_000, 0), (13_000_000, 1)], [2.0, 3.0]),
    ([0, 10_000_000], [0, 0], [(12_000_000, 0)], [math.nan, 2.0]),  # a note after the next beat is the next one's
    ([0], [3], [(1_000_000, 2), (4_000_000, 3), (5_000_000, 3)], [4.0]),  # other channels, and a second note, ignored
    ([5_000_000], [0], [(1_000_000, 0)], [math.nan]),  # before the beat: not its note
])
def test_notes_are_matched_to_their_beats(sends_ns: list[int], channels: list[int], got: list[tuple[int, int]],
                                          latencies_ms: list[float]) -> None:
    assert bench.match_notes(sends_ns, channels, got) == pytest.approx(latencies_ms, nan_ok=True)


def test_the_midi_bench_measures_ours_and_the_bare_path(capsys: pytest.CaptureFixture[str]) -> None:
    require_jack_tools()
    server_before = server_running()
    assert bench.main(["--events", "24", "--json"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (report["events"], report["buffer_frames"]) == (24, 64) or server_before
    for path in ("ours", "bare"):
        stats = report[path]
        assert stats["count"] + stats["missed"] == 24 and stats["count"] >= 20, report
        assert stats["missed"] == 0 or report[f"xruns_{path}"] > 0, report  # a note is lost only in a late cycle
        assert 0.0 < stats["p50_ms"] <= stats["p99_ms"] <= stats["max_ms"] < 100.0, report
    assert report["ratio_p50"] > 0.0
    assert report["jack_started"] == (not server_before)
    assert server_running() == server_before  # a jackd the benchmark started is stopped again
