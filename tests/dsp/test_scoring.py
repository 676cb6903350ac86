"""One-to-one matching of events to reference times."""

from __future__ import annotations

import numpy as np
import pytest

from installation.dsp.scoring import match_events


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
