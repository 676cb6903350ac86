"""The trend of a channel's health: robust slope, forecast within the horizon, hysteresis (pure cases)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from installation.care.sensor_trend import Hysteresis, Trend, theil_sen


def quality_trend() -> Trend:
    """Quality, failing at 0.3, as the show's defaults set it."""
    return Trend(0.3, "falling", 0.25, window_s=40.0, horizon_s=60.0, min_span_s=20.0, min_agreement=0.5)


def steady(t: float) -> float:
    return 0.95  # a healthy channel


def steady_decline(t: float) -> float:
    return 0.95 - 0.01 * max(0.0, t - 30.0)  # from 30 s down by 0.01 a second: 0.3 at 95 s


def noisy_stable(t: float) -> float:
    return 0.7 + 0.25 * math.sin(1.7 * t) * math.cos(0.31 * t)  # wanders 0.45..0.95, no trend


def one_off_dip(t: float) -> float:
    return 0.3 if 50.0 <= t < 54.0 else 0.95  # four seconds at the limit, then back


def slow_drift(t: float) -> float:
    return 0.95 - 0.001 * t  # 0.06 a minute: years before it matters


def late_decline(t: float) -> float:
    return 0.95 if t < 80.0 else 0.95 - 0.03 * (t - 80.0)  # falls fast from 80 s: 0.3 at ~101.7 s


@pytest.mark.parametrize(
    ("curve", "fires", "earliest_s", "latest_s"),
    [
        (steady, False, 0, 0),
        (steady_decline, True, 50.0, 80.0),  # forecast well before the 95 s failure
        (noisy_stable, False, 0, 0),
        (one_off_dip, False, 0, 0),
        (slow_drift, False, 0, 0),
        (late_decline, True, 90.0, 100.0),  # a fast fall takes the window ~16 s to trust; still before ~101.7 s
    ],
)
def test_forecast_of_a_quality_curve(curve, fires: bool, earliest_s: float, latest_s: float) -> None:
    trend = quality_trend()
    first = math.nan
    for t in np.arange(0.0, 110.0, 1.0):
        trend.add(float(t), curve(float(t)))
        if trend.forecast() is not None and math.isnan(first):
            first = float(t)
    assert (not math.isnan(first)) == fires
    if fires:
        assert earliest_s <= first <= latest_s


def test_noise_on_a_decline_still_fires_and_says_from_where_to_where() -> None:
    rng = np.random.default_rng(3)
    trend = quality_trend()
    forecast = None
    for t in range(0, 75):
        trend.add(float(t), steady_decline(t) + float(rng.normal(0.0, 0.05)))
        forecast = trend.forecast() or forecast
    assert forecast is not None
    assert 0.7 < forecast.start_value < 1.0 and 0.4 < forecast.now_value < 0.65
    assert 35.0 <= forecast.span_s <= 40.0 and forecast.eta_s < 60.0


@pytest.mark.parametrize(
    ("direction", "limit", "values", "fires"),
    [
        ("rising", 0.5, [0.01 * t for t in range(40)], True),  # loss 0 -> 0.39, at 0.5 in 11 s
        ("rising", 0.5, [0.39 - 0.01 * t for t in range(40)], False),  # getting better
        ("falling", 5.0, [40.0 - 0.5 * t for t in range(40)], True),  # a battery at 20.5 %, empty in 31 s
        ("falling", 5.0, [40.0 - 0.05 * t for t in range(40)], False),  # 1.95 % fallen: under min_change
    ],
)
def test_either_direction(direction: str, limit: float, values: list[float], fires: bool) -> None:
    trend = Trend(limit, direction, 0.15 if limit < 1 else 3.0)  # type: ignore[arg-type]
    for t, v in enumerate(values):
        trend.add(float(t), v)
    assert (trend.forecast() is not None) == fires


def test_past_the_limit_forecasts_now_and_reset_forgets() -> None:
    trend = quality_trend()
    for t in range(30):
        trend.add(float(t), 0.9 - 0.025 * t)  # 0.175 at the end: past 0.3
    f = trend.forecast()
    assert f is not None and f.eta_s == 0.0
    trend.reset()
    assert len(trend) == 0 and trend.forecast() is None


@pytest.mark.parametrize(
    ("curve", "steady_share", "fires"),
    [
        (lambda t: 0.95 if t < 20 else 0.3 + 0.02 * math.sin(t), 0.0, True),  # a step counts without the check
        (lambda t: 0.95 if t < 20 else 0.3 + 0.02 * math.sin(t), 0.1, False),  # ... and not with it
        (lambda t: 0.95 - 0.012 * t, 0.1, True),  # a ramp passes it
    ],
)
def test_a_step_is_not_a_steady_decline(curve, steady_share: float, fires: bool) -> None:
    trend = Trend(0.3, "falling", 0.25, steady_share=steady_share)
    fired = False
    for t in range(0, 45):
        trend.add(float(t), curve(t))
        fired = fired or trend.forecast() is not None
    assert fired == fires


def test_relative_change_for_a_level_without_a_scale() -> None:
    # skin conductance halving from 8 uS towards the 0.05 uS contact limit; the same fall from 80 uS is not half
    for start, fires in ((8.0, True), (80.0, False)):
        trend = Trend(0.05, "falling", 0.5, relative=True, horizon_s=600.0)
        for t in range(40):
            trend.add(float(t), start - 0.12 * t)
        assert (trend.forecast() is not None) == fires


@pytest.mark.parametrize(
    ("outlier", "slope"),
    [(0.0, -0.01), (-5.0, -0.01), (5.0, -0.01)],  # one wild point does not move a Theil-Sen slope much
)
def test_theil_sen_is_robust(outlier: float, slope: float) -> None:
    t = np.arange(40.0)
    v = 1.0 - 0.01 * t
    v[20] += outlier
    fitted, level, agreement = theil_sen(t, v)
    assert fitted == pytest.approx(slope, abs=0.001)
    assert level == pytest.approx(0.61, abs=0.02)
    assert agreement < -0.9


def test_non_finite_readings_are_skipped() -> None:
    trend = quality_trend()
    trend.add(0.0, math.nan)
    trend.add(1.0, math.inf)
    assert len(trend) == 0


# ---- hysteresis ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        ("11111", "00011"),  # rises after 3 s held (rise_s = 3)
        ("11011", "00000"),  # a gap restarts the wait
        ("1111100000000000", "0001111111111110"),  # ends 10 s after it went (fall_s = 10)
        ("111110000011111", "000111111111111"),  # a short gap does not end it: no flicker
    ],
)
def test_hysteresis(conditions: str, expected: str) -> None:
    h = Hysteresis(rise_s=3.0, fall_s=10.0)
    got = "".join("1" if h.update(float(i), c == "1") else "0" for i, c in enumerate(conditions))
    assert got == expected


def test_recovery_clears_the_forecast() -> None:
    """A decline that turns back: the forecast goes once the window holds the recovery."""
    trend = quality_trend()
    h = Hysteresis(3.0, 10.0)
    states = []
    for t in range(0, 160):
        q = 0.95 - 0.012 * max(0, t - 10) if t < 50 else min(0.95, 0.47 + 0.05 * (t - 50))
        trend.add(float(t), q)
        states.append(h.update(float(t), trend.forecast() is not None))
    assert any(states[30:60]) and not any(states[120:])
