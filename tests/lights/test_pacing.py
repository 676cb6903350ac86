"""When a universe goes out (pure): a change as soon as the rate allows, a keep-alive once a second."""

from __future__ import annotations

import numpy as np

from installation.lights.pacing import UniversePacing


def test_changes_wait_for_the_period_and_a_static_universe_is_kept_alive() -> None:
    pace = UniversePacing(period_s=0.025, keepalive_s=1.0)
    a, b = np.zeros(512, np.uint8), np.full(512, 9, np.uint8)
    assert pace.take(0.0) is None  # nothing offered yet
    pace.offer(a)
    assert pace.take(0.0) is a
    pace.offer(b)
    assert pace.take(0.010) is None and pace.next_s() == 0.025  # changed, but the rate holds it
    assert pace.take(0.025) is b
    pace.offer(b.copy())  # the same bytes: no change
    sent = [t for t in np.arange(0.05, 3.0, 0.005) if pace.take(float(t)) is not None]
    assert np.allclose(sent, [1.025, 2.025], atol=0.006)  # only the keep-alives
