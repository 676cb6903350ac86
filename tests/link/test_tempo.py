"""The show's Link tempo, pure: bounds, smoothing, and the lead / follow decision (tables)."""

from __future__ import annotations

import math

import pytest

from installation.link.tempo import (SAME_TEMPO_BPM, SETTLE_S, TEMPO_PERIOD_PEERS_S, TEMPO_PERIOD_S, TempoFollower, next_role,
                                     smooth_bpm, target_tempo_bpm)

NAN = math.nan


@pytest.mark.parametrize("heart_bpm, low, high, expected", [
    (72.0, 60.0, 160.0, 72.0),     # within the bounds: the heart rate itself
    (48.0, 60.0, 160.0, 60.0),     # slower than the bounds: the slowest
    (190.0, 60.0, 160.0, 160.0),   # faster: the fastest
    (60.0, 60.0, 160.0, 60.0),     # on a bound
    (90.0, 100.0, 140.0, 100.0),
])
def test_target_tempo_is_the_heart_rate_within_the_bounds(heart_bpm: float, low: float, high: float,
                                                         expected: float) -> None:
    assert target_tempo_bpm(heart_bpm, low, high) == pytest.approx(expected)


@pytest.mark.parametrize("heart_bpm", [NAN, 0.0, -5.0, math.inf])
def test_no_target_without_a_heart_rate(heart_bpm: float) -> None:
    assert math.isnan(target_tempo_bpm(heart_bpm, 60.0, 160.0))


@pytest.mark.parametrize("previous, target, dt_s, smooth_s, expected", [
    (NAN, 80.0, 0.01, 8.0, 80.0),                             # the first reading is taken as it is
    (80.0, NAN, 0.01, 8.0, 80.0),                             # an unknown reading holds
    (80.0, 100.0, 8.0, 8.0, 100.0 - 20.0 * math.exp(-1.0)),   # one time constant: 63 % of the way
    (80.0, 100.0, 0.0, 8.0, 80.0),                            # no time, no move
    (80.0, 100.0, 0.5, 0.0, 100.0),                           # no smoothing
    (100.0, 80.0, 16.0, 8.0, 80.0 + 20.0 * math.exp(-2.0)),   # falling as rising
])
def test_smoothing_is_one_pole(previous: float, target: float, dt_s: float, smooth_s: float, expected: float) -> None:
    assert smooth_bpm(previous, target, dt_s, smooth_s) == pytest.approx(expected)


@pytest.mark.parametrize("role, lead, since_s, peers, session_bpm, set_bpm, expected", [
    # listening at first, whoever is there
    ("listening", False, 0.2, 0, 120.0, NAN, "listening"),
    ("listening", False, 0.2, 2, 100.0, NAN, "listening"),
    # after settling: alone -> lead; peers with a tempo of their own -> follow
    ("listening", False, SETTLE_S, 0, 120.0, NAN, "leading"),
    ("listening", False, SETTLE_S, 1, 100.0, NAN, "following"),
    # lead = true takes the tempo over, at once and whoever is there
    ("listening", True, 0.0, 3, 100.0, NAN, "leading"),
    ("following", True, 9.0, 3, 100.0, 72.0, "leading"),
    # peers joined the show's session, the tempo is still the show's: go on leading
    ("leading", False, 9.0, 2, 72.0, 72.0, "leading"),
    ("leading", False, 9.0, 2, 72.0 + SAME_TEMPO_BPM / 2, 72.0, "leading"),
    # another peer changed the tempo (or the show joined another session): follow
    ("leading", False, 9.0, 1, 100.0, 72.0, "following"),
    # following never takes the tempo back while there are peers ...
    ("following", False, 9.0, 1, 72.0, 72.0, "following"),
    # ... and leads again once alone
    ("following", False, 9.0, 0, 100.0, 72.0, "leading"),
])
def test_lead_or_follow(role: str, lead: bool, since_s: float, peers: int, session_bpm: float, set_bpm: float,
                        expected: str) -> None:
    assert next_role(role, lead, since_s, peers, session_bpm, set_bpm) == expected  # type: ignore[arg-type]


def _run(follower: TempoFollower, readings: list[tuple[float, float, int, float]]) -> list[float | None]:
    """(now_s, heart_bpm, peers, session_bpm) -> what the follower sets each step."""
    return [follower.step(now_s, heart, now_s, peers, session) for now_s, heart, peers, session in readings]


def test_alone_the_follower_sets_the_smoothed_bounded_heart_rate_after_settling() -> None:
    f = TempoFollower(60.0, 160.0, smooth_s=4.0)
    session = 120.0
    set_at: list[tuple[float, float]] = []
    for i in range(int(20.0 / 0.01)):
        now_s = i * 0.01
        heart = 70.0 if now_s < 5.0 else 200.0  # the group's heart races: the tempo stops at the bound
        bpm = f.step(now_s, heart, now_s, 0, session)
        if bpm is not None:
            session = bpm
            set_at.append((now_s, bpm))
    assert set_at[0][0] >= SETTLE_S and set_at[0][1] == pytest.approx(70.0)
    gaps = [b[0] - a[0] for a, b in zip(set_at, set_at[1:])]
    assert min(gaps) >= TEMPO_PERIOD_S - 1e-9  # never more often than this
    at_10 = max(bpm for t, bpm in set_at if t <= 10.0)
    assert at_10 == pytest.approx(160.0 - 90.0 * math.exp(-5.0 / 4.0), abs=1.0)  # smoothed towards the bound
    assert max(bpm for _, bpm in set_at) <= 160.0
    assert f.role == "leading"


def test_a_session_with_a_tempo_of_its_own_is_never_changed() -> None:
    f = TempoFollower(60.0, 160.0, smooth_s=1.0)
    readings = [(i * 0.01, 70.0 + i % 7, 1, 100.0) for i in range(1000)]
    assert all(bpm is None for bpm in _run(f, readings))
    assert f.role == "following"


def test_lead_true_takes_over_a_session_at_once_gliding_from_its_tempo() -> None:
    f = TempoFollower(60.0, 160.0, smooth_s=1.0, lead=True)
    session, sets = 100.0, []
    for i in range(500):
        bpm = f.step(i * 0.01, 70.0, i * 0.01, 1, session)
        if bpm is not None:
            session = bpm
            sets.append((i * 0.01, bpm))
    assert sets[0] == (0.0, pytest.approx(100.0))  # at once, from where the session was
    assert sets[1] == (pytest.approx(1.0), pytest.approx(70.0 + 30.0 * math.exp(-1.0)))  # then the glide
    assert sets[-1][1] == pytest.approx(70.0, abs=0.6)


def test_alone_again_the_show_glides_from_the_musicians_tempo() -> None:
    f = TempoFollower(60.0, 160.0, smooth_s=2.0)
    assert _run(f, [(SETTLE_S + i * 0.01, 70.0, 1, 125.0) for i in range(300)]) == [None] * 300  # following
    first = f.step(SETTLE_S + 3.0, 70.0, SETTLE_S + 3.0, 0, 125.0)  # the musicians left
    assert f.role == "leading" and first == pytest.approx(125.0, abs=0.5)  # no jump to 70


def test_a_steady_heart_sets_the_tempo_once() -> None:
    f = TempoFollower(60.0, 160.0, smooth_s=1.0)
    session, sets = 120.0, 0
    for i in range(1000):
        bpm = f.step(i * 0.01, 75.0, SETTLE_S + i * 0.01, 0, session)
        if bpm is not None:
            session, sets = bpm, sets + 1
    assert sets == 1 and session == pytest.approx(75.0)


def test_no_heart_rate_sets_nothing_and_keeps_the_last_tempo() -> None:
    f = TempoFollower(60.0, 160.0, smooth_s=1.0)
    assert _run(f, [(SETTLE_S + i * 0.2, NAN, 0, 120.0) for i in range(10)]) == [None] * 10
    assert f.step(10.0, 80.0, 10.0, 0, 120.0) == pytest.approx(80.0)
    assert f.step(11.0, NAN, 11.0, 0, 80.0) is None


def test_with_peers_the_show_changes_the_tempo_seldom() -> None:
    f = TempoFollower(60.0, 160.0, smooth_s=2.0)
    session, set_at = 120.0, []
    for i in range(int(10.0 / 0.01)):
        now_s = SETTLE_S + i * 0.01
        bpm = f.step(now_s, 70.0 + 40.0 * (i > 100), now_s, 0 if i < 50 else 2, session)  # peers joined at 0.5 s
        if bpm is not None:
            session = bpm
            set_at.append(now_s)
    gaps = [b - a for a, b in zip(set_at, set_at[1:])]
    assert len(set_at) >= 5 and min(gaps) >= TEMPO_PERIOD_PEERS_S - 1e-9
    assert f.role == "leading"  # the peers joined the show's session and left its tempo alone
