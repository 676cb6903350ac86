"""The transforms of a mapping's chain: pure steps, stateful ones keep their own state.

Order: range and clip, invert, curve, output range, quantise, deadband,
smoothing (one-pole, separate rise and fall), slew limit, One-Euro filter.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

from installation import config

#: Each scale's degrees in semitones above its root (one table, beside the show file's scale names).
SCALES: dict[str, tuple[int, ...]] = config.SCALES


def quantize_hz(freq_hz: float, root_hz: float, scale: tuple[int, ...]) -> float:
    """The frequency of the scale note nearest to ``freq_hz`` (in semitones), hertz.

    ``scale`` holds the degrees in semitones above the root, ascending, starting at 0.
    """
    if freq_hz <= 0.0:
        return root_hz
    semis = 12.0 * math.log2(freq_hz / root_hz)
    octave = math.floor(semis / 12.0)
    within = semis - 12.0 * octave  # 0 <= within < 12
    i = bisect.bisect_left(scale, within)
    below = scale[i - 1] if i > 0 else scale[-1] - 12
    above = scale[i] if i < len(scale) else 12 + scale[0]
    best = below if within - below <= above - within else above
    return root_hz * 2.0 ** ((12 * octave + best) / 12.0)


@dataclass(slots=True)
class ChainState:
    """What the stateful steps of one mapping remember for one target."""

    last: float = math.nan  # the last value sent (fallback glides start here)
    output: float = math.nan  # after deadband
    smoothed: float = math.nan
    slewed: float = math.nan
    euro_x: float = math.nan
    euro_dx: float = 0.0
    armed: bool = True  # threshold: ready to fire again


def one_pole(previous: float, target: float, dt_s: float, rise_s: float, fall_s: float) -> float:
    """One step of a one-pole smoother with time constant ``rise_s`` going up, ``fall_s`` going down."""
    if math.isnan(previous):
        return target
    tau = rise_s if target > previous else fall_s
    if tau <= 0.0 or dt_s <= 0.0:
        return target if tau <= 0.0 else previous
    return previous + (target - previous) * (1.0 - math.exp(-dt_s / tau))


def slew(previous: float, target: float, dt_s: float, per_s: float) -> float:
    """Move from ``previous`` towards ``target`` by at most ``per_s * dt_s``."""
    if math.isnan(previous) or per_s <= 0.0:
        return target
    step = per_s * max(dt_s, 0.0)
    return min(max(target, previous - step), previous + step)


def _alpha(cutoff_hz: float, dt_s: float) -> float:
    tau = 1.0 / (2.0 * math.pi * cutoff_hz)
    return 1.0 / (1.0 + tau / dt_s)


def one_euro(state: ChainState, x: float, dt_s: float, min_cutoff_hz: float, beta: float, d_cutoff_hz: float) -> float:
    """One step of the One-Euro filter (Casiez, Roussel and Vogel, CHI 2012)."""
    if math.isnan(state.euro_x) or dt_s <= 0.0:
        state.euro_x, state.euro_dx = x, 0.0
        return x
    dx = (x - state.euro_x) / dt_s
    state.euro_dx += _alpha(d_cutoff_hz, dt_s) * (dx - state.euro_dx)
    cutoff = min_cutoff_hz + beta * abs(state.euro_dx)
    state.euro_x += _alpha(cutoff, dt_s) * (x - state.euro_x)
    return state.euro_x
