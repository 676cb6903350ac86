"""Latency statistics: a table of cases."""

from __future__ import annotations

import math

import pytest

from installation.bench.stats import latency_stats, ratio

NAN = math.nan


@pytest.mark.parametrize(
    ("latencies_ms", "count", "missed", "p50", "p95", "p99", "max_", "mean", "sd"),
    [
        ([1.0, 2.0, 3.0, 4.0, 5.0], 5, 0, 3.0, 4.8, 4.96, 5.0, 3.0, math.sqrt(2.5)),
        ([1.0, NAN, 3.0], 2, 1, 2.0, 2.9, 2.98, 3.0, 2.0, math.sqrt(2.0)),  # NaN: a missed event
        ([2.5], 1, 0, 2.5, 2.5, 2.5, 2.5, 2.5, NAN),  # one value: no spread
        ([], 0, 0, NAN, NAN, NAN, NAN, NAN, NAN),
        ([NAN, NAN], 0, 2, NAN, NAN, NAN, NAN, NAN, NAN),
        ([-0.2, 0.2], 2, 0, 0.0, 0.18, 0.196, 0.2, 0.0, math.sqrt(0.08)),  # a late cycle can measure below zero
        ([1.0] * 99 + [11.0], 100, 0, 1.0, 1.0, 1.1, 11.0, 1.1, 1.0),
    ],
)
def test_latency_stats(latencies_ms: list[float], count: int, missed: int, p50: float, p95: float, p99: float,
                       max_: float, mean: float, sd: float) -> None:
    s = latency_stats(latencies_ms)
    assert (s.count, s.missed) == (count, missed)
    for got, want in [(s.p50_ms, p50), (s.p95_ms, p95), (s.p99_ms, p99), (s.max_ms, max_), (s.mean_ms, mean), (s.sd_ms, sd)]:
        assert (math.isnan(got) and math.isnan(want)) or got == pytest.approx(want, abs=1e-9)


def test_stats_for_json_have_no_nan() -> None:
    d = latency_stats([2.0]).to_dict()
    assert d["sd_ms"] is None and d["p50_ms"] == 2.0 and d["count"] == 1


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [(1.5, 1.0, 1.5), (1.0, 2.0, 0.5), (1.0, 0.0, NAN), (1.0, -1.0, NAN), (NAN, 1.0, NAN), (1.0, NAN, NAN)],
)
def test_ratio(a: float, b: float, expected: float) -> None:
    got = ratio(a, b)
    assert (math.isnan(got) and math.isnan(expected)) or got == pytest.approx(expected)
