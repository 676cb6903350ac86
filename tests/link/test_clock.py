"""The show's Link peer against an independent Link peer (aalink alone, as a musician's app),
each in a network namespace of its own that the test makes: leading, joining quietly,
``lead = true``, and the beat events and phase on the session's grid.

Every child runs for a fixed time (bounded loops) and is waited for with a timeout; only
the processes started here are ended, by their PID.
"""

from __future__ import annotations

import json
import math
import select
import subprocess
import time
from typing import Any, Iterator

import pytest

from tests.helpers import REPO
from tests.link.netns import Host, child_env, two_hosts

pytest.importorskip("aalink", reason="needs the Python package aalink (pip install aalink)")


@pytest.fixture(scope="module")
def hosts() -> Iterator[tuple[Host, Host]]:
    yield from two_hosts()


def _start(command: list[str]) -> subprocess.Popen[str]:
    """A child loaded and waiting for "go" (it prints a ready line first)."""
    proc = subprocess.Popen(command, cwd=REPO, env=child_env(REPO), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 60.0)  # loading the show's code takes a few seconds
    line = proc.stdout.readline() if ready else ""
    if '"ready"' not in line:
        proc.kill()
        pytest.fail(f"a Link peer did not start: {line!r} {proc.communicate(timeout=5.0)[1][-2000:]}")
    return proc


def _go(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.write("go\n")
    proc.stdin.flush()


def _lines(proc: subprocess.Popen[str], timeout_s: float) -> list[dict[str, Any]]:
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()  # ours, by its handle (its PID)
        out, err = proc.communicate(timeout=5.0)
        pytest.fail(f"a Link peer did not finish in time: {err[-2000:]}")
    assert proc.returncode == 0, err[-2000:]
    return [json.loads(line) for line in out.splitlines() if line.startswith("{") and '"ready"' not in line]


def _peer(host: Host, bpm: float, duration_s: float, *extra: str) -> subprocess.Popen[str]:
    return _start(host.python("-m", "tests.link.link_peer", "--bpm", str(bpm), "--duration", str(duration_s), *extra))


def _show(host: Host, link: dict[str, Any], heart: str, duration_s: float) -> subprocess.Popen[str]:
    return _start(host.python("-m", "tests.link.show_side", "--link", json.dumps(link), "--heart", heart,
                              "--duration", str(duration_s)))


def _states(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if "role" in line]


def _beat_at(peer: list[dict[str, Any]], t: float) -> float:
    """The peer's beat at time ``t`` (perf_counter seconds), interpolated between its prints."""
    for a, b in zip(peer, peer[1:]):
        if a["t"] <= t <= b["t"]:
            return a["beat"] + (b["beat"] - a["beat"]) * (t - a["t"]) / (b["t"] - a["t"])
    return math.nan


def test_leading_the_tempo_follows_the_group_heart_within_bounds_until_a_musician_takes_it(hosts) -> None:
    show_host, peer_host = hosts
    # The show is alone at first: it leads. Its heart rate: 70 bpm, then 130 (above max_bpm = 100).
    show = _show(show_host, {"min_bpm": 60, "max_bpm": 100, "smooth_s": 0.5}, "0:70,4:130,10:65", 13.0)
    # A musician's app joins at 133 bpm 2.5 s later, watches, and sets 125 bpm itself 6.5 s after joining,
    # once the show's tempo has settled (a change of each crossing on the network: Link keeps the later).
    peer = _peer(peer_host, 133.0, 10.0, "--set-at", "6.5", "--set-bpm", "125")
    _go(show)
    time.sleep(2.5)  # after the show's settling: its session is there, with its tempo
    _go(peer)
    seen = _lines(peer, 30.0)
    ours = _states(_lines(show, 30.0))
    joined = [s for s in seen if s["peers"] >= 1]
    assert joined, "the two peers never found each other"
    t0 = ours[0]["t"]
    before_jump = [s["tempo"] for s in joined if s["t"] - t0 < 4.0]
    assert before_jump and all(abs(b - 70.0) < 0.1 for b in before_jump)  # the joiner took the show's tempo
    rising = [s["tempo"] for s in joined if 4.0 <= s["t"] - t0 < 8.0]
    assert max(s["tempo"] for s in seen) <= 133.0 and max(rising) <= 100.0 + 1e-6  # never above the bound
    assert rising[-1] > 99.0  # smoothed towards the bound (0.5 s time constant)
    assert len({round(r, 1) for r in rising}) >= 3  # a glide, not a jump (a step a second at most with a peer)
    assert rising == sorted(rising)
    after = [s["tempo"] for s in seen if s["t"] - seen[0]["t"] >= 7.0]
    assert after and all(abs(a - 125.0) < 0.01 for a in after)  # the show's heart went to 65; the musician's tempo holds
    while_there = [s for s in ours if seen[0]["t"] + 7.0 <= s["t"] <= seen[-1]["t"] - 0.5]
    assert while_there and all(s["role"] == "following" and abs(s["tempo"] - 125.0) < 0.01 for s in while_there)
    assert ours[-1]["role"] == "leading" and ours[-1]["peers"] == 0  # alone again once the musician left
    assert any(s["role"] == "leading" and s["peers"] >= 1 for s in ours)  # led with the musician there, before


def test_joining_a_session_with_a_tempo_keeps_it_and_locks_to_its_grid(hosts) -> None:
    show_host, peer_host = hosts
    peer = _peer(peer_host, 100.0, 9.0)  # the musicians were there first, at 100 bpm
    show = _show(show_host, {"smooth_s": 0.5}, "0:72", 7.0)  # the group's heart: 72 bpm
    _go(peer)
    time.sleep(1.0)
    _go(show)
    seen = _lines(peer, 30.0)
    lines = _lines(show, 30.0)
    ours = _states(lines)
    assert all(abs(s["tempo"] - 100.0) < 0.01 for s in seen)  # never changed
    assert any(s["peers"] >= 1 for s in seen)
    settled = [s for s in ours if s["role"] != "listening" and s["peers"] >= 1]
    assert settled and all(s["role"] == "following" for s in settled)
    assert all(abs(s["tempo"] - 100.0) < 0.01 for s in settled)  # link.tempo reports the session's
    # link.beat on the session's beats: one every 0.6 s, each on a whole beat of the musician's timeline
    beats = [e for e in lines if e.get("event") == "link.beat" and e["at"] >= settled[0]["t"]]
    assert len(beats) >= 5
    gaps = [b["at"] - a["at"] for a, b in zip(beats, beats[1:])]
    assert all(abs(g - 0.6) < 0.01 for g in gaps)
    for b in beats:
        theirs = _beat_at(seen, b["at"])
        if theirs == theirs:
            assert abs(theirs - round(theirs)) < 0.03  # within 18 ms of the musician's beat
            assert b["value"] == round(theirs) % 4  # the same place in the bar (both with quantum 4)
    assert all(b["made"] <= b["at"] + 0.03 for b in beats)  # made ahead of the beat, or just after
    downbeats = [e for e in lines if e.get("event") == "link.downbeat"]
    assert downbeats and all(any(abs(d["at"] - b["at"]) < 1e-9 and b["value"] == 0 for b in beats)
                             for d in downbeats if d["at"] >= beats[0]["at"])
    # link.phase rises 0..1 over the bar (4 beats: 2.4 s) and wraps on the downbeat
    phases = [(s["t"], s["phase"]) for s in settled]
    wraps = [i for i in range(1, len(phases)) if phases[i][1] < phases[i - 1][1]]
    assert len(wraps) >= 1
    assert all(phases[i][1] > phases[i - 1][1] for i in range(1, len(phases)) if i not in wraps)
    for (ta, pa), (tb, pb) in zip(phases, phases[1:]):
        if pb > pa:
            assert (pb - pa) == pytest.approx((tb - ta) / 2.4, abs=0.01)


def test_lead_true_takes_the_tempo_over(hosts) -> None:
    show_host, peer_host = hosts
    peer = _peer(peer_host, 100.0, 7.0)
    show = _show(show_host, {"lead": True, "smooth_s": 0.5}, "0:72", 4.5)
    _go(peer)
    time.sleep(1.0)
    _go(show)
    seen = _lines(peer, 30.0)
    ours = _states(_lines(show, 30.0))
    assert abs(seen[0]["tempo"] - 100.0) < 0.01
    assert abs(seen[-1]["tempo"] - 72.0) < 0.01 and seen[-1]["t"] > ours[-1]["t"]  # the show's tempo stays after it left
    assert all(s["role"] == "leading" for s in ours if s["role"] != "none")
