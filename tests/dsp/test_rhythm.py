"""Beat series: plausibility, heart rate, HRV and prediction, on hand-made beat times."""

from __future__ import annotations

import math

import numpy as np
import pytest

from installation.dsp.rhythm import BeatSeries


def feed(series: BeatSeries, ibis_s: list[float], start_s: float = 1.0) -> list:
    t = start_s
    out = [series.add(t, t + 0.1)]
    for ibi in ibis_s:
        t += ibi
        out.append(series.add(t, t + 0.1))
    return out


def test_steady_rhythm() -> None:
    s = BeatSeries()
    beats = feed(s, [0.8] * 20)
    assert all(b is not None and b.normal for b in beats)
    assert s.bpm == pytest.approx(75.0)
    assert s.sdnn_ms() == pytest.approx(0.0, abs=1e-6) and s.rmssd_ms() == pytest.approx(0.0, abs=1e-6)
    assert s.next_beat_s() == pytest.approx(1.0 + 21 * 0.8)  # the last beat plus one interval
    assert beats[-1].next_s == pytest.approx(s.next_beat_s())


def test_hrv_of_alternating_intervals() -> None:
    s = BeatSeries()
    feed(s, [0.8, 0.9] * 10)
    assert s.rmssd_ms() == pytest.approx(100.0, rel=1e-6)
    assert s.sdnn_ms() == pytest.approx(np.std([0.8, 0.9] * 10, ddof=1) * 1000, rel=1e-6)


@pytest.mark.parametrize(
    ("reject_short", "extra_at", "emitted", "normal"),
    [
        (True, 0.3, False, None),  # PPG: a peak 0.3 s into a 0.8 s rhythm is the dicrotic wave
        (False, 0.45, True, False),  # ECG: a premature beat is a beat, its interval is not normal
    ],
)
def test_short_interval(reject_short: bool, extra_at: float, emitted: bool, normal: bool | None) -> None:
    s = BeatSeries(reject_short=reject_short)
    feed(s, [0.8] * 10)
    beat = s.add(s.last_s + extra_at, s.last_s + extra_at + 0.1)
    assert (beat is not None) is emitted
    if beat is not None:
        assert beat.normal is normal
    assert s.bpm == pytest.approx(75.0)


def test_missed_beat_stays_out_of_the_rate() -> None:
    s = BeatSeries()
    feed(s, [0.8] * 10)
    beat = s.add(s.last_s + 1.6, s.last_s + 1.7)
    assert beat is not None and not beat.normal
    assert s.bpm == pytest.approx(75.0)


@pytest.mark.parametrize("reject_short", [True, False])
def test_a_real_change_of_rhythm_is_learnt(reject_short: bool) -> None:
    s = BeatSeries(reject_short=reject_short)
    feed(s, [0.8] * 10)
    t = s.last_s
    for ibi in list(np.linspace(0.8, 0.45, 15)) + [0.45] * 8:  # a startle: 75 -> 133 bpm in ~10 s
        t += ibi
        s.add(t, t + 0.1)
    assert s.bpm == pytest.approx(60 / 0.45, rel=0.03)


def test_nothing_known_before_beats() -> None:
    s = BeatSeries()
    assert math.isnan(s.bpm) and math.isnan(s.next_beat_s()) and math.isnan(s.rmssd_ms())
    assert s.regularity() == 0.0


@pytest.mark.parametrize("values", [[72.0], [60.0, 80.0], [3.0, 1.0, 2.0], [70.5, 71.0, 69.0, 90.0, 72.5, 68.0], list(range(25))])
def test_median_is_numpys(values: list[float]) -> None:
    import numpy as np

    from installation.dsp.rhythm import median

    assert median(values) == float(np.median(values))
