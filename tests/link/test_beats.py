"""The Link session's beat grid as features and events, pure: phase, beats once each, ahead of time."""

from __future__ import annotations

import math

import pytest

from installation.link.beats import LOOKAHEAD_S, STALE_S, BeatTracker, Timeline, link_features


@pytest.mark.parametrize("beat, quantum, later_s, tempo, expected", [
    (0.0, 4.0, 0.0, 120.0, 0.0),       # on the downbeat
    (1.0, 4.0, 0.0, 120.0, 0.25),
    (3.0, 4.0, 0.25, 120.0, 0.875),     # half a beat later at 120 bpm
    (4.0, 4.0, 0.0, 120.0, 0.0),        # the next bar
    (6.5, 3.0, 0.0, 90.0, 0.5 / 3.0),   # a bar of three
    (-1.0, 4.0, 0.0, 120.0, 0.75),      # before the timeline's origin
])
def test_phase_runs_over_the_bar(beat: float, quantum: float, later_s: float, tempo: float, expected: float) -> None:
    t = Timeline(10.0, beat, tempo, 2, quantum)
    f = link_features(t, 10.0 + later_s)
    assert f["link.phase"] == pytest.approx(expected)
    assert f["link.tempo"] == tempo and f["link.peers"] == 2.0


def test_no_timeline_no_phase() -> None:
    f = link_features(None, 1.0)
    assert math.isnan(f["link.phase"]) and math.isnan(f["link.tempo"]) and f["link.peers"] == 0.0


def test_each_beat_once_ahead_of_its_time_with_its_place_in_the_bar() -> None:
    tempo, quantum = 150.0, 4.0  # a beat every 0.4 s
    t = Timeline(0.0, 0.5, tempo, 0, quantum)  # half a beat in at 0 s: beat 1 at 0.2 s
    tracker = BeatTracker()
    beats, downbeats = [], []
    for i in range(int(4.0 / 0.013)):
        now_s = i * 0.013
        for e in tracker.take(t, now_s):
            assert e.time_s - now_s <= LOOKAHEAD_S + 1e-9  # made at most the lookahead ahead ...
            assert e.time_s >= now_s - 1e-9  # ... and never late when ticked often
            (beats if e.address == "link.beat" else downbeats).append(e)
    times = [e.time_s for e in beats]
    assert times == pytest.approx([0.2 + 0.4 * k for k in range(len(times))])
    assert len(times) == 10  # beats 1..10 in 4 s (beat 10 is due at 3.8 s)
    assert [e.value for e in beats[:5]] == [1.0, 2.0, 3.0, 0.0, 1.0]
    assert [e.time_s for e in downbeats] == pytest.approx([1.4, 3.0]) and [e.value for e in downbeats] == [1.0, 2.0]


def test_a_stall_or_a_jump_sends_no_burst_of_old_beats() -> None:
    t = Timeline(0.0, 0.0, 120.0, 1, 4.0)
    tracker = BeatTracker()
    tracker.take(t, 0.1)
    assert len([e for e in tracker.take(t, 5.0) if e.address == "link.beat"]) <= 1 + math.ceil(STALE_S * 2)
    jumped = Timeline(5.0, 1000.25, 120.0, 1, 4.0)  # joined another session: far ahead
    late = [e for e in tracker.take(jumped, 5.01) if e.address == "link.beat"]
    assert all(e.time_s >= 5.01 - STALE_S for e in late)
    back = Timeline(5.02, 3.9, 120.0, 1, 4.0)  # ... or back: beats go on from there
    tracker.take(back, 5.02)
    again = tracker.take(back, 5.06)
    assert [e.value for e in again if e.address == "link.beat"] == [0.0]


def test_no_beats_without_a_tempo() -> None:
    assert BeatTracker().take(None, 1.0) == []
    assert BeatTracker().take(Timeline(0.0, 0.0, math.nan, 0, 4.0), 1.0) == []
