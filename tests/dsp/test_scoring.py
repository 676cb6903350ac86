"""One-to-one matching of events to reference times."""

from __future__ import annotations

import numpy as np
import pytest

from installation.dsp.scoring import match_events, match_rises, rises_overlap


@pytest.mark.parametrize(
    ("found", "reference", "tolerance", "hits"),
    [
        ([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], 0.05, 3),
        ([1.04, 2.2], [1.0, 2.0], 0.05, 1),
        ([1.0, 1.01], [1.0], 0.05, 1),  # one reference, one match
        ([1.0], [0.98, 1.02], 0.05, 1),
        # Nearest-first greedy would give 10.6 to 10.0 and leave 11.0 unmatched.
        ([10.6, 11.8], [10.0, 11.0], 1.0, 2),
        ([], [1.0], 0.1, 0),
        ([1.0], [], 0.1, 0),
    ],
)
def test_match_events(found: list[float], reference: list[float], tolerance: float, hits: int) -> None:
    m = match_events(np.array(found), np.array(reference), tolerance)
    assert m.hits == hits and m.found == len(found) and m.reference == len(reference)


def test_window_and_rates() -> None:
    m = match_events(np.array([0.5, 1.0, 2.0, 9.0]), np.array([1.0, 2.0, 3.0, 9.0]), 0.1, start_s=0.8, end_s=5.0)
    assert (m.hits, m.reference, m.found) == (2, 3, 2)
    assert m.sensitivity == pytest.approx(2 / 3) and m.ppv == 1.0 and m.extra == 0


@pytest.mark.parametrize(
    ("a", "b", "overlap"),
    [
        ((1.0, 2.0), (1.5, 3.0), True),
        ((1.0, 2.0), (2.0, 3.0), True),  # touching at an instant
        ((1.0, 2.0), (2.1, 3.0), False),
        ((1.0, 4.0), (2.0, 3.0), True),  # one inside the other
        ((2.0, 2.0), (1.0, 3.0), True),  # a rise with no length (onset unknown)
    ],
)
def test_rises_overlap(a: tuple[float, float], b: tuple[float, float], overlap: bool) -> None:
    assert rises_overlap(*a, *b) is overlap and rises_overlap(*b, *a) is overlap


# Rises as (onset_s, peak_s, amplitude); responses scored from 0.05 up.
RISE_CASES = [
    # found, reference, (hits, reference, extra, found)
    ([(1.0, 3.0, 0.5)], [(1.2, 2.8, 0.5)], (1, 1, 0, 1)),
    ([(1.0, 1.9, 0.5)], [(2.0, 3.0, 0.5)], (0, 1, 1, 1)),  # next to it is not on it
    # a response split in two: one hit, the second half is extra
    ([(1.0, 1.8, 0.3), (1.9, 3.0, 0.3)], [(1.0, 3.0, 0.6)], (1, 1, 1, 2)),
    # one long found rise over two reference responses: one found, one missed
    ([(1.0, 5.0, 1.0)], [(1.0, 2.0, 0.4), (3.0, 5.0, 0.4)], (1, 2, 0, 1)),
    # one-to-one needs the right pairing: the first found rise overlaps both references,
    # the second only the first; matching the first to the first would leave one out
    ([(1.0, 4.0, 0.5), (0.5, 1.5, 0.5)], [(1.0, 2.0, 0.5), (3.0, 4.0, 0.5)], (2, 2, 0, 2)),
    # small responses are not scored on either side ...
    ([(10.0, 11.0, 0.02)], [(1.0, 2.0, 0.03)], (0, 0, 0, 0)),
    # ... but a small found rise on a scored reference finds it, and a scored found rise
    # on a small reference is no extra (the two measure the amplitude differently)
    ([(1.0, 2.0, 0.04), (5.0, 6.0, 0.06)], [(1.2, 2.2, 0.06), (5.1, 6.1, 0.04)], (1, 1, 0, 1)),
    # a missing reference onset: the rise starts at the peak
    ([(1.0, 2.0, 0.5)], [(float("nan"), 1.5, 0.5)], (1, 1, 0, 1)),
    ([], [(1.0, 2.0, 0.5)], (0, 1, 0, 0)),
    ([(1.0, 2.0, 0.5)], [], (0, 0, 1, 1)),
]


@pytest.mark.parametrize(("found", "reference", "expected"), RISE_CASES)
def test_match_rises(found: list[tuple[float, float, float]], reference: list[tuple[float, float, float]],
                     expected: tuple[int, int, int, int]) -> None:
    f = np.array(found, dtype=float).reshape(-1, 3)
    r = np.array(reference, dtype=float).reshape(-1, 3)
    m = match_rises(f[:, 0], f[:, 1], f[:, 2], r[:, 0], r[:, 1], r[:, 2], min_amplitude=0.05)
    assert (m.hits, m.reference, m.extra, m.found) == expected


def test_match_rises_window_and_rates() -> None:
    """Only peaks in [start_s, end_s) are scored; extra is per hundred reference responses."""
    on = np.array([0.5, 10.0, 20.0, 30.0, 40.0])
    m = match_rises(on, on + 1.0, np.full(5, 0.5), on[:4] + 0.2, on[:4] + 0.8, np.full(4, 0.5), 0.05, start_s=5.0, end_s=35.0)
    assert (m.hits, m.reference, m.extra, m.found) == (3, 3, 0, 3)
    m = match_rises(on, on + 1.0, np.full(5, 0.5), on[:4] + 0.2, on[:4] + 0.8, np.full(4, 0.5), 0.05, start_s=5.0)
    assert (m.hits, m.reference, m.extra, m.found) == (3, 3, 1, 4)
    assert m.found_pct == pytest.approx(100.0) and m.extra_pct == pytest.approx(100.0 / 3)


def test_match_rises_long_chains() -> None:
    """Hundreds of rises, each overlapping its neighbours: every one still pairs (no recursion limit)."""
    on = np.arange(2000, dtype=float)
    m = match_rises(on, on + 1.5, np.ones(2000), on + 0.5, on + 2.0, np.ones(2000), 0.05)
    assert (m.hits, m.extra) == (2000, 0)
