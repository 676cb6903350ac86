"""The show's Link peer against an independent Link peer (aalink alone, as a musician's app),
each in a network namespace of its own that the test makes: leading, joining quietly,
``lead = true``, the beat events and phase on the session's grid, and preflight's count of
the peers.

One process plays the show's side of every test (loading the show's code takes seconds);
each musician's peer is a process of its own. Every child runs for a fixed time (bounded
loops) and is waited for with a timeout; only the processes started here are ended, by
their handle (their PID).
"""

from __future__ import annotations

import json
import math
import os
import select
import subprocess
import time
from typing import Any, Iterator

import pytest

from tests.helpers import REPO
from tests.link.netns import Host, child_env, two_hosts

pytest.importorskip("aalink", reason="needs the Python package aalink (pip install aalink)")


def _spawn(command: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(command, cwd=REPO, env=child_env(REPO), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def _read_until(proc: subprocess.Popen[bytes], key: str, timeout_s: float) -> list[dict[str, Any]]:
    """A child's JSON lines up to the first that has ``key`` (left out), waiting at most ``timeout_s``."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    buffer, lines = b"", []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        chunk = os.read(fd, 65536) if ready else b""
        if ready and not chunk:
            break  # it ended
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        for raw in complete:
            line = json.loads(raw)
            if key in line:
                return lines
            lines.append(line)
    proc.kill()
    err = proc.communicate(timeout=5.0)[1].decode(errors="replace")
    pytest.fail(f"a Link peer gave no {key!r} line within {timeout_s:.0f} s: {err[-2000:]}")


def _send(proc: subprocess.Popen[bytes], line: str) -> None:
    assert proc.stdin is not None
    proc.stdin.write(line.encode() + b"\n")
    proc.stdin.flush()


@pytest.fixture(scope="module")
def hosts() -> Iterator[tuple[Host, Host]]:
    yield from two_hosts()


@pytest.fixture(scope="module")
def show_side(hosts: tuple[Host, Host]) -> Iterator[subprocess.Popen[bytes]]:
    """The show's side, in the first namespace: loaded once, it plays each run it is sent."""
    proc = _spawn(hosts[0].python("-m", "tests.link.show_side"))
    try:
        _read_until(proc, "ready", 90.0)
        yield proc
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(timeout=10.0)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5.0)


class Peer:
    """A musician's app in the second namespace: started, loaded, and told to go."""

    def __init__(self, host: Host, bpm: float, duration_s: float, *extra: str) -> None:
        self.proc = _spawn(host.python("-m", "tests.link.link_peer", "--bpm", str(bpm), "--duration",
                                       str(duration_s), *extra))
        _read_until(self.proc, "ready", 30.0)

    def go(self) -> None:
        _send(self.proc, "go")

    def lines(self, timeout_s: float = 30.0) -> list[dict[str, Any]]:
        try:
            out, err = self.proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate(timeout=5.0)
            pytest.fail(f"a Link peer did not finish in time: {err.decode(errors='replace')[-2000:]}")
        assert self.proc.returncode == 0, err.decode(errors="replace")[-2000:]
        return [json.loads(line) for line in out.decode().splitlines() if line.startswith("{")]


def _play(show: subprocess.Popen[bytes], link: dict[str, Any], heart: str, duration_s: float) -> None:
    _send(show, json.dumps({"link": link, "heart": heart, "duration": duration_s}))


def _played(show: subprocess.Popen[bytes], duration_s: float) -> list[dict[str, Any]]:
    return _read_until(show, "done", duration_s + 30.0)


def _states(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if "role" in line]


def _beat_at(peer: list[dict[str, Any]], t: float) -> float:
    """The peer's beat at time ``t`` (perf_counter seconds), interpolated between its prints."""
    for a, b in zip(peer, peer[1:]):
        if a["t"] <= t <= b["t"]:
            return a["beat"] + (b["beat"] - a["beat"]) * (t - a["t"]) / (b["t"] - a["t"])
    return math.nan


def test_leading_the_tempo_follows_the_group_heart_within_bounds_until_a_musician_takes_it(hosts, show_side) -> None:
    # A musician's app that will join at 133 bpm, and set 125 bpm itself 5 s after joining.
    peer = Peer(hosts[1], 133.0, 7.0, "--set-at", "5.0", "--set-bpm", "125")
    # The show, alone at first, leads; its group's heart at 70 bpm, then 130 (above max_bpm = 100), then 65.
    _play(show_side, {"min_bpm": 60, "max_bpm": 100, "smooth_s": 0.3}, "0:70,4:130,8.5:65", 11.0)
    time.sleep(2.5)  # after the show's settling: its session is there, with its tempo
    peer.go()
    seen = peer.lines()
    ours = _states(_played(show_side, 11.0))
    joined = [s for s in seen if s["peers"] >= 1]
    assert joined, "the two peers never found each other"
    t0 = ours[0]["t"]
    before_jump = [s["tempo"] for s in joined if s["t"] - t0 < 4.0]
    assert before_jump and all(abs(b - 70.0) < 0.1 for b in before_jump)  # the joiner took the show's tempo
    rising = [s["tempo"] for s in joined if 4.0 <= s["t"] - t0 < 7.0]
    assert max(s["tempo"] for s in seen) <= 133.0 and max(rising) <= 100.0 + 1e-6  # never above the bound
    assert rising[-1] > 99.0  # smoothed towards the bound (0.3 s time constant)
    assert len({round(r, 1) for r in rising}) >= 3  # a glide, not a jump (a step a second at most with a peer)
    assert rising == sorted(rising)
    after = [s["tempo"] for s in seen if s["t"] - seen[0]["t"] >= 5.5]
    assert after and all(abs(a - 125.0) < 0.01 for a in after)  # the show's heart went to 65; the musician's tempo holds
    while_there = [s for s in ours if seen[0]["t"] + 5.5 <= s["t"] <= seen[-1]["t"] - 0.5]
    assert while_there and all(s["role"] == "following" and abs(s["tempo"] - 125.0) < 0.01 for s in while_there)
    assert ours[-1]["role"] == "leading" and ours[-1]["peers"] == 0  # alone again once the musician left
    assert any(s["role"] == "leading" and s["peers"] >= 1 for s in ours)  # led with the musician there, before


def test_joining_a_session_with_a_tempo_keeps_it_and_locks_to_its_grid(hosts, show_side) -> None:
    peer = Peer(hosts[1], 100.0, 8.0)  # the musicians are there first, at 100 bpm
    peer.go()
    time.sleep(1.0)
    _play(show_side, {"smooth_s": 0.5}, "0:72", 6.5)  # the show's group heart: 72 bpm
    seen = peer.lines()
    lines = _played(show_side, 6.5)
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


def test_lead_true_takes_the_tempo_over(hosts, show_side) -> None:
    peer = Peer(hosts[1], 100.0, 5.5)
    peer.go()
    time.sleep(1.0)
    _play(show_side, {"lead": True, "smooth_s": 0.2}, "0:72", 3.5)  # glides from 100 to 72 within a second
    seen = peer.lines()
    ours = _states(_played(show_side, 3.5))
    assert abs(seen[0]["tempo"] - 100.0) < 0.01
    assert abs(seen[-1]["tempo"] - 72.0) < 0.01 and seen[-1]["t"] > ours[-1]["t"]  # the show's tempo stays after it left
    assert all(s["role"] == "leading" for s in ours if s["role"] != "none")


def test_preflight_counts_the_peers(hosts, show_side) -> None:
    _send(show_side, json.dumps({"count_peers": 1.0}))
    assert _read_until(show_side, "done", 30.0) == [{"peers": 0}]  # nobody there yet
    peers = [Peer(hosts[1], 100.0, 4.0), Peer(hosts[1], 100.0, 4.0)]  # two musicians' apps
    for peer in peers:
        peer.go()
    time.sleep(1.0)  # they find each other
    _send(show_side, json.dumps({"count_peers": 1.0}))
    assert _read_until(show_side, "done", 30.0) == [{"peers": 2}]
    assert all(abs(line["tempo"] - 100.0) < 0.01 for peer in peers for line in peer.lines())  # looking changed nothing


def test_a_link_peer_that_cannot_start_is_logged_once_and_tried_again(monkeypatch, caplog) -> None:
    import logging

    import installation.link.clock as link_clock
    from installation.config import LinkConfig

    tries: list[float] = []

    def missing() -> None:
        tries.append(time.monotonic())
        raise link_clock.LinkError("Ableton Link needs the Python package aalink (pip install aalink)")

    monkeypatch.setattr(link_clock, "import_aalink", missing)
    monkeypatch.setattr(link_clock, "RETRY_FIRST_S", 0.05)
    clock = link_clock.LinkClock(LinkConfig(enabled=True))
    with caplog.at_level(logging.WARNING):
        clock.start()
        deadline = time.monotonic() + 5.0
        while len(tries) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        features = clock.features(time.perf_counter(), {"group.heart.bpm": 70.0})
        started = time.monotonic()
        clock.close()
    assert len(tries) >= 3  # tried again, with a growing wait
    assert time.monotonic() - started < 2.0  # and stops at once
    assert caplog.text.count("the Link peer stopped") == 1 and "pip install aalink" in caplog.text
    assert clock.error is not None and "aalink" in clock.error
    assert math.isnan(features["link.phase"]) and math.isnan(features["link.tempo"]) and features["link.peers"] == 0.0
    assert clock.take_events(time.perf_counter()) == []
