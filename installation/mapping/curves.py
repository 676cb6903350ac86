"""Transfer curves for mappings: pure functions on values normalised to 0..1."""

from __future__ import annotations

import math
from typing import Callable

_EXP_K = 4.0


def curve_linear(x: float) -> float:
    """Identity on 0..1."""
    return x


def curve_exponential(x: float) -> float:
    """Slow start, fast finish (for frequencies and loudness)."""
    return (math.exp(_EXP_K * x) - 1.0) / (math.exp(_EXP_K) - 1.0)


def curve_logarithmic(x: float) -> float:
    """Fast start, slow finish."""
    return math.log1p((math.exp(_EXP_K) - 1.0) * x) / _EXP_K


def curve_s(x: float) -> float:
    """Smoothstep: gentle at both ends."""
    return x * x * (3.0 - 2.0 * x)


CURVES: dict[str, Callable[[float], float]] = {
    "linear": curve_linear,
    "exponential": curve_exponential,
    "logarithmic": curve_logarithmic,
    "s-curve": curve_s,
}
