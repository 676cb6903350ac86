"""Summary statistics of a set of latencies (pure)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np


@dataclass(frozen=True, slots=True)
class LatencyStats:
    """Latencies of one measured path, in milliseconds.

    Attributes
    ----------
    count : int
        Events whose change was found (the statistics are over these).
    missed : int
        Events whose change was not found.
    p50_ms, p95_ms, p99_ms, max_ms : float
        Percentiles (linear interpolation) and maximum.
    mean_ms, sd_ms : float
        Mean and sample standard deviation (NaN with fewer than two events).
    """

    count: int
    missed: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    sd_ms: float

    def to_dict(self) -> dict[str, float | int]:
        """Plain values (NaN as None, for JSON)."""
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in asdict(self).items()}


def latency_stats(latencies_ms: Sequence[float] | np.ndarray) -> LatencyStats:
    """Percentiles, maximum, mean and SD of latencies; NaN entries are missed events."""
    values = np.asarray(latencies_ms, dtype=float)
    found = values[np.isfinite(values)]
    missed = int(values.size - found.size)
    if found.size == 0:
        nan = math.nan
        return LatencyStats(0, missed, nan, nan, nan, nan, nan, nan)
    p50, p95, p99 = (float(v) for v in np.percentile(found, [50.0, 95.0, 99.0]))
    sd = float(np.std(found, ddof=1)) if found.size >= 2 else math.nan
    return LatencyStats(int(found.size), missed, p50, p95, p99, float(found.max()), float(found.mean()), sd)


def ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator``; NaN when either is unknown or the denominator is not positive."""
    if not (math.isfinite(numerator) and math.isfinite(denominator)) or denominator <= 0.0:
        return math.nan
    return numerator / denominator
