"""Signal quality and faults of one channel, judged block by block.

States, worst first: ``dropout`` (nothing arrives), ``flat`` (the sensor is
stuck or unplugged from its amplifier), ``saturated`` (railing at the converter's
limit), ``no_contact`` (lifted off: no pulse, or no skin conductance),
``implausible`` (values no body makes: NaN, infinity, negative conductance),
``noisy`` (motion), ``learning`` (too early to tell) and ``ok``.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Literal

import numpy as np

State = Literal["ok", "learning", "noisy", "implausible", "no_contact", "saturated", "flat", "dropout"]
#: States in which a channel must not drive the show.
BAD_STATES: frozenset[str] = frozenset({"implausible", "no_contact", "saturated", "flat", "dropout"})


def clean_block(values: np.ndarray) -> tuple[np.ndarray, int]:
    """Replace non-finite samples by the previous finite one; return the block and how many were bad."""
    bad = ~np.isfinite(values)
    n_bad = int(bad.sum())
    if not n_bad:
        return values, 0
    x = values.astype(float).copy()
    good = np.flatnonzero(~bad)
    if good.size == 0:
        return np.zeros_like(x), n_bad
    idx = np.maximum.accumulate(np.where(bad, 0, np.arange(x.size)))
    idx[: good[0]] = good[0]
    return x[idx], n_bad


class ChannelQuality:
    """Running quality (0..1) and fault state of one channel.

    Parameters
    ----------
    sampling_rate_hz : float
        Nominal sampling rate in hertz.
    window_s : float
        Seconds of history the flat-line and saturation tests look at.
    railing : bool
        Look for railing (clipping at the converter's limit). Right for pulse
        waves, which never rest at their top; not for slow signals such as skin
        conductance, whose quantised plateaus would look the same.
    """

    def __init__(self, sampling_rate_hz: float, window_s: float = 2.0, railing: bool = True) -> None:
        self.sampling_rate_hz = sampling_rate_hz
        self.window_s = window_s
        self.railing = railing
        # Per block: (min, max, sum, count, samples at its max, samples at its min).
        self._blocks: deque[tuple[float, float, float, int, int, int]] = deque()
        self._count = 0
        self._span_max = -math.inf
        self._span_min = math.inf
        self._since_check = 0
        self._check_every = max(1, int(0.2 * sampling_rate_hz))
        self._window: State | None = None
        self.state: State = "learning"
        self.quality = 0.0
        self.bad_samples = 0

    def _remember(self, values: np.ndarray) -> None:
        if values.size < 32:  # live blocks are tiny: plain Python beats numpy's call overhead
            v = values.tolist()
            lo, hi = min(v), max(v)
            self._blocks.append((lo, hi, sum(v), len(v), v.count(hi), v.count(lo)))
        else:
            lo, hi = float(values.min()), float(values.max())
            self._blocks.append((lo, hi, float(values.sum()), values.size, int((values == hi).sum()), int((values == lo).sum())))
        self._count += values.size
        self._since_check += values.size
        self._span_max = max(self._span_max, hi)
        self._span_min = min(self._span_min, lo)
        limit = max(8, int(self.window_s * self.sampling_rate_hz))
        while self._count - self._blocks[0][3] >= limit:
            self._count -= self._blocks.popleft()[3]

    def _window_state(self) -> State | None:
        """Flat or saturated over the window, else None (checked a few times a second)."""
        if self._count < max(8, int(0.9 * self.window_s * self.sampling_rate_hz)):
            return None
        low = min(b[0] for b in self._blocks)
        high = max(b[1] for b in self._blocks)
        level = max(abs(sum(b[2] for b in self._blocks) / self._count), 1e-12)
        if high - low <= 1e-7 * level:
            return "flat"
        if self.railing and self._railing():
            return "saturated"
        return None

    def judge(self, values: np.ndarray, n_bad: int, signal_state: State, signal_quality: float) -> State:
        """Judge one block.

        Parameters
        ----------
        values : numpy.ndarray
            The block (already cleaned of non-finite samples).
        n_bad : int
            Non-finite samples that were in the block.
        signal_state : State
            The analyser's own verdict (``ok``, ``learning``, ``no_contact``, ``noisy``, ``implausible``).
        signal_quality : float
            The analyser's own 0..1 quality (beat regularity, for hearts).
        """
        self.bad_samples += n_bad
        self._remember(values)
        if self._since_check >= self._check_every:
            self._since_check = 0
            self._window = self._window_state()
        state: State
        if n_bad > values.size // 2:
            state = "implausible"
        elif self._window is not None:
            state = self._window
        else:
            state = signal_state
        target = 0.0 if state in BAD_STATES or state == "learning" else signal_quality * (0.4 if state == "noisy" else 1.0)
        self.quality += 0.3 * (target - self.quality)
        if state in BAD_STATES:
            self.quality = min(self.quality, 0.2)
        self.state = state
        return state

    def _railing(self) -> bool:
        """True when much of the window sits exactly on the largest or smallest value ever seen."""
        if self._span_max <= self._span_min:
            return False
        at_top = sum(b[4] for b in self._blocks if b[1] >= self._span_max)
        at_bottom = sum(b[5] for b in self._blocks if b[0] <= self._span_min)
        return max(at_top, at_bottom) > 0.2 * self._count
