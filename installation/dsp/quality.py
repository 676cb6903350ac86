"""Signal quality and faults of a channel, judged block by block.

States, worst first: ``dropout`` (nothing arrives), ``flat`` (the sensor is
stuck or unplugged from its amplifier), ``saturated`` (railing at the converter's
limit), ``no_contact`` (lifted off: no pulse, or no skin conductance),
``implausible`` (values no body makes: NaN, infinity, negative conductance),
``noisy`` (motion), ``learning`` (too early to tell) and ``ok``.

The judgement runs inside the compiled channel kernels (:func:`quality_judge`,
state in rows of a :class:`QualityBank`); :class:`ChannelQuality` judges one
channel from Python with the same code.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from numba import njit

State = Literal["ok", "learning", "noisy", "implausible", "no_contact", "saturated", "flat", "dropout"]
#: State names by their code in the kernels' state arrays.
STATES: tuple[State, ...] = ("ok", "learning", "noisy", "implausible", "no_contact", "saturated", "flat", "dropout")
OK, LEARNING, NOISY, IMPLAUSIBLE, NO_CONTACT, SATURATED, FLAT, DROPOUT = range(8)
#: States in which a channel must not drive the show.
BAD_STATES: frozenset[str] = frozenset({"implausible", "no_contact", "saturated", "flat", "dropout"})
#: Codes of the states in :data:`BAD_STATES` start here.
FIRST_BAD = IMPLAUSIBLE
NO_WINDOW_STATE = -1

# Columns of a quality row.
Q_QUALITY, Q_STATE, Q_WINDOW_STATE, Q_SINCE_CHECK, Q_CHECK_EVERY, Q_LIMIT, Q_MIN_COUNT = range(7)
Q_COUNT, Q_WRITE, Q_SPAN_MAX, Q_SPAN_MIN, Q_RAILING = range(7, 12)
Q_COLUMNS = 12


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


@njit(cache=True, nogil=True, error_model="numpy")
def clean_segment(x: np.ndarray, out: np.ndarray, start: int, end: int) -> int:
    """:func:`clean_block` for ``x[start:end]``, written to ``out[start:end]``; returns the bad count."""
    first_good = -1
    for i in range(start, end):
        if math.isfinite(x[i]):
            first_good = i
            break
    if first_good < 0:
        for i in range(start, end):
            out[i] = 0.0
        return end - start
    last = x[first_good]
    bad = 0
    for i in range(start, end):
        v = x[i]
        if math.isfinite(v):
            last = v
        else:
            bad += 1
        out[i] = last
    return bad


class QualityBank:
    """Quality state of many channels: a row of numbers and a ring of recent samples each.

    Parameters
    ----------
    window_s : float
        Seconds of history the flat-line and saturation tests look at.
    """

    def __init__(self, window_s: float = 2.0) -> None:
        self.window_s = window_s
        self.rows = np.zeros((0, Q_COLUMNS))
        self.ring = np.zeros((0, 8))

    def add(self, sampling_rate_hz: float, railing: bool) -> int:
        """Add a channel sampled at ``sampling_rate_hz``; return its row."""
        limit = max(8, int(self.window_s * sampling_rate_hz))
        row = np.zeros(Q_COLUMNS)
        row[[Q_STATE, Q_WINDOW_STATE, Q_CHECK_EVERY, Q_LIMIT]] = LEARNING, NO_WINDOW_STATE, max(1, int(0.2 * sampling_rate_hz)), limit
        row[Q_MIN_COUNT] = max(8, int(0.9 * self.window_s * sampling_rate_hz))
        row[[Q_SPAN_MAX, Q_SPAN_MIN, Q_RAILING]] = -math.inf, math.inf, float(railing)
        self.rows = np.vstack([self.rows, row])
        width = max(self.ring.shape[1], limit)
        ring = np.zeros((self.rows.shape[0], width))
        ring[: self.ring.shape[0], : self.ring.shape[1]] = self.ring
        self.ring = ring
        return self.rows.shape[0] - 1

    def state(self, row: int) -> State:
        return STATES[int(self.rows[row, Q_STATE])]

    def quality(self, row: int) -> float:
        return float(self.rows[row, Q_QUALITY])

    def set_dropout(self, row: int) -> None:
        """Nothing arrives on this channel: state ``dropout``, quality 0."""
        self.rows[row, Q_STATE] = DROPOUT
        self.rows[row, Q_QUALITY] = 0.0


@njit(cache=True, nogil=True, error_model="numpy")
def _window_state(q: np.ndarray, ring: np.ndarray, r: int) -> int:
    """Flat or saturated over the window, else ``NO_WINDOW_STATE``."""
    count = int(q[r, Q_COUNT])
    if count < q[r, Q_MIN_COUNT]:
        return NO_WINDOW_STATE
    low, high, total = math.inf, -math.inf, 0.0
    for i in range(count):
        v = ring[r, i]
        low = min(low, v)
        high = max(high, v)
        total += v
    level = max(abs(total / count), 1e-12)
    if high - low <= 1e-7 * level:
        return FLAT
    span_max, span_min = q[r, Q_SPAN_MAX], q[r, Q_SPAN_MIN]
    if q[r, Q_RAILING] > 0.0 and span_max > span_min:
        at_top, at_bottom = 0, 0
        for i in range(count):
            at_top += ring[r, i] >= span_max
            at_bottom += ring[r, i] <= span_min
        if max(at_top, at_bottom) > 0.2 * count:
            return SATURATED
    return NO_WINDOW_STATE


@njit(cache=True, nogil=True, error_model="numpy")
def quality_judge(
    q: np.ndarray, ring: np.ndarray, r: int, x: np.ndarray, start: int, end: int, n_bad: int, signal_state: int, signal_quality: float
) -> int:
    """Judge one block ``x[start:end]`` (already cleaned) of channel ``r``; return its state code.

    Parameters
    ----------
    q, ring : numpy.ndarray
        A :class:`QualityBank`'s rows and sample rings, updated in place.
    r : int
        The channel's row.
    x : numpy.ndarray
        Samples; the block is ``x[start:end]``.
    n_bad : int
        Non-finite samples that were in the block.
    signal_state : int
        The analyser's own verdict (``OK``, ``LEARNING``, ``NO_CONTACT``, ``NOISY``, ``IMPLAUSIBLE``).
    signal_quality : float
        The analyser's own 0..1 quality (beat regularity, for hearts).
    """
    limit = int(q[r, Q_LIMIT])
    write, count = int(q[r, Q_WRITE]), int(q[r, Q_COUNT])
    span_max, span_min = q[r, Q_SPAN_MAX], q[r, Q_SPAN_MIN]
    for i in range(start, end):
        v = x[i]
        ring[r, write] = v
        write = write + 1 if write + 1 < limit else 0
        count = min(count + 1, limit)
        span_max = max(span_max, v)
        span_min = min(span_min, v)
    q[r, Q_WRITE], q[r, Q_COUNT], q[r, Q_SPAN_MAX], q[r, Q_SPAN_MIN] = write, count, span_max, span_min
    q[r, Q_SINCE_CHECK] += end - start
    if q[r, Q_SINCE_CHECK] >= q[r, Q_CHECK_EVERY]:
        q[r, Q_SINCE_CHECK] = 0.0
        q[r, Q_WINDOW_STATE] = _window_state(q, ring, r)
    if n_bad > (end - start) // 2:
        state = IMPLAUSIBLE
    elif q[r, Q_WINDOW_STATE] != NO_WINDOW_STATE:
        state = int(q[r, Q_WINDOW_STATE])
    else:
        state = signal_state
    bad = state >= FIRST_BAD
    if bad or state == LEARNING:
        target = 0.0
    else:
        target = signal_quality * (0.4 if state == NOISY else 1.0)
    quality = q[r, Q_QUALITY] + 0.3 * (target - q[r, Q_QUALITY])
    q[r, Q_QUALITY] = min(quality, 0.2) if bad else quality
    q[r, Q_STATE] = state
    return state


class ChannelQuality:
    """Running quality (0..1) and fault state of one channel, judged from Python.

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
        self._bank = QualityBank(window_s)
        self._bank.add(sampling_rate_hz, railing)

    def judge(self, values: np.ndarray, n_bad: int, signal_state: State, signal_quality: float) -> State:
        """Judge one block (already cleaned of non-finite samples); return its state."""
        x = np.ascontiguousarray(values, dtype=float)
        code = quality_judge(self._bank.rows, self._bank.ring, 0, x, 0, x.size, n_bad, STATES.index(signal_state), signal_quality)
        return STATES[code]

    @property
    def state(self) -> State:
        return self._bank.state(0)

    @property
    def quality(self) -> float:
        return self._bank.quality(0)
