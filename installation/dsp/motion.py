"""Motion from a wearer's accelerometer: how much they move, at what cadence, and
whether a pulse-wave peak follows the movement rather than the heart.

A wrist device sends acceleration beside its PPG: three axes (``acc_x``, ``acc_y``,
``acc_z``) or their magnitude (``acc``). The axes are kept apart up to here: each is
band-passed on its own (0.5-5 Hz, where arm swing, steps and fidgeting live) and the
motion is the sum of their band powers, which needs no pairing of the axes' samples
(they often come in separate messages) and sees a wrist turning, which the magnitude
does not.

- **Level** (``pN.motion.level``, 0..1): the band RMS against the wearer's rest, on a
  log scale: 0 up to 3 times rest, 1 from 30 times rest. Rest is the lowest RMS seen
  (rising slowly, doubling a minute, so a sensor's own noise sets it), held between
  1 % and 5 % of gravity when the signal carries gravity (its slow mean).
- **Cadence**: the period of the movement, from the autocorrelation of the axes'
  recent band-passed signal (the last 6 s), and how periodic it is (the normalised
  autocorrelation at that period).
- **Peaks that follow the movement**: while the wearer moves periodically, every PPG
  candidate beat gets the movement's phase at its time. Peaks that the movement makes
  come at one phase of its cycle (or two, for an artefact at the step rate); a heart
  beating at another rate spreads its beats over the cycle. Once the recent candidates
  lock to a phase (the mean of their phase vectors is long), a candidate at that phase
  is not a beat. When the heart's rate (before the movement began) is the cadence, its
  double or its half, the two cannot be told apart and nothing is rejected.

Without an accelerometer none of this runs: the heart analysis is exactly what it was.
"""

from __future__ import annotations

import cmath
import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numba import njit

from installation.dsp.bank import Batch, append_row
from installation.dsp.filters import butter_sos, sos_step

AccSignal = Literal["acc", "acc_x", "acc_y", "acc_z"]
#: Signals that carry acceleration: the magnitude, or one axis each.
ACC_SIGNALS: tuple[AccSignal, ...] = ("acc", "acc_x", "acc_y", "acc_z")

MOTION_BAND_HZ = (0.5, 5.0)
#: Time constants of the band power and of gravity (the slow mean), seconds.
POWER_TAU_S, GRAVITY_TAU_S = 1.0, 2.0
#: Seconds of band-passed signal kept for the cadence.
HISTORY_S = 6.0
#: Level 0 at this many times rest, 1 at ``LEVEL_FULL`` times.
LEVEL_ZERO, LEVEL_FULL = 3.0, 30.0
#: Rest, as a share of gravity when the signal carries it: at least, at most.
REST_MIN_G, REST_MAX_G = 0.01, 0.05
#: Seconds in which the rest reference may double.
REST_DOUBLING_S = 60.0
#: Periods of movement looked for, seconds (arm swing, steps, rocking).
CADENCE_S = (0.3, 2.5)
#: Candidates are judged against the movement from this level and this periodicity on.
VETO_LEVEL, VETO_PERIODICITY = 0.3, 0.4
#: Recent candidates lock to the movement when the mean of their phase vectors is this long.
LOCKED = 0.5
#: A candidate within this share of a cycle of the locked phase follows the movement.
PHASE_TOLERANCE = 0.2
#: Weight of each new candidate's phase in the running mean.
LOCK_ALPHA = 0.3
#: A candidate this close (share of the period) to one movement period (or half of one) after
#: the last beat keeps the movement's time, not the heart's.
INTERVAL_TOLERANCE = 0.1
#: Candidates closer than this (seconds) are the same peak asked about again.
SAME_PEAK_S = 0.15
#: A heart within this share of the cadence (or its double or half) cannot be told from it.
SAME_RHYTHM = 0.08

# Columns of a motion channel's state row.
M_DC, M_POWER, M_ALPHA_POWER, M_ALPHA_DC, M_HIST_CAP, M_HIST_WRITE, M_HIST_COUNT, M_LAST_T = range(8)
M_COLUMNS = 8


@njit(cache=True, nogil=True, error_model="numpy")
def _motion_kernel(st, sos, zi, hist_t, hist_x, rows, starts, ends, t, x):  # type: ignore[no-untyped-def]
    """Band-pass a batch of acceleration blocks; keep band power, gravity and the recent band signal."""
    for s in range(rows.size):
        r = rows[s]
        for i in range(starts[s], ends[s]):
            v = x[i]
            if not math.isfinite(v):
                continue
            band = sos_step(sos, zi, r, v)
            st[r, M_POWER] += st[r, M_ALPHA_POWER] * (band * band - st[r, M_POWER])
            st[r, M_DC] += st[r, M_ALPHA_DC] * (v - st[r, M_DC])
            write = int(st[r, M_HIST_WRITE])
            hist_t[r, write], hist_x[r, write] = t[i], band
            st[r, M_HIST_WRITE] = write + 1 if write + 1 < st[r, M_HIST_CAP] else 0
            st[r, M_HIST_COUNT] = min(st[r, M_HIST_COUNT] + 1.0, st[r, M_HIST_CAP])
            st[r, M_LAST_T] = t[i]


@dataclass(frozen=True, slots=True)
class Cadence:
    """The movement's rhythm over the last seconds.

    Attributes
    ----------
    period_s : float
        Period of the movement, seconds (``nan`` when there is too little signal).
    periodicity : float
        Normalised autocorrelation at that period, 0..1: 1 for a steady swing.
    phase_rad : float
        Phase of the movement's fundamental at time 0 of the source clock, radians.
    """

    period_s: float
    periodicity: float
    phase_rad: float

    def phase_at(self, time_s: float) -> float:
        """The movement's phase at ``time_s``, radians in ``[0, 2 pi)``."""
        return (2.0 * math.pi * time_s / self.period_s + self.phase_rad) % (2.0 * math.pi)


NO_CADENCE = Cadence(math.nan, 0.0, 0.0)


@dataclass(slots=True)
class _Wearer:
    rows: dict[str, int] = field(default_factory=dict)  # signal -> channel row
    rate_hz: float = 0.0
    rest_rms: float = math.nan
    rms: float = 0.0
    level: float = 0.0
    updated_s: float = math.nan
    dominant: str = ""
    lock1: complex = 0j  # running mean of the candidates' phase vectors (fundamental)
    lock2: complex = 0j  # ... and of their doubled phases (an artefact at twice the cadence)
    heart_ibi_s: float = math.nan  # the heart's median interval before the movement began
    candidate_s: float = -math.inf  # the last candidate asked about, and the answer
    follows: bool = False
    rejected: int = 0
    rejected_s: float = -math.inf  # the last rejected candidate's time


class MotionBank:
    """Every wearer's accelerometer channels (axes or magnitude), a row each.

    Channels are grouped by wearer: a wearer's level and cadence come from all of
    their channels (the axes when there are axes, else the magnitude).
    """

    def __init__(self) -> None:
        self.state = np.zeros((0, M_COLUMNS))
        self._sos = np.zeros((0, 2, 5))
        self._zi = np.zeros((0, 2, 2))
        self._hist_t = np.zeros((0, 8))
        self._hist_x = np.zeros((0, 8))
        self._wearers: dict[str, _Wearer] = {}

    @property
    def wearers(self) -> list[str]:
        return list(self._wearers)

    def add(self, wearer: str, signal: AccSignal, sampling_rate_hz: float, first_value: float) -> int:
        """Add one accelerometer channel of ``wearer``; ``first_value`` seeds its filter. Returns its row."""
        rate = sampling_rate_hz
        sos, zi = butter_sos(2, (MOTION_BAND_HZ[0], min(MOTION_BAND_HZ[1], 0.45 * rate)), rate, "bandpass")
        first = first_value if math.isfinite(first_value) else 0.0
        cap = int(math.ceil(HISTORY_S * rate)) + 8
        row = np.zeros(M_COLUMNS)
        row[[M_DC, M_ALPHA_POWER, M_ALPHA_DC, M_HIST_CAP, M_LAST_T]] = (
            first, 1.0 - math.exp(-1.0 / (POWER_TAU_S * rate)), 1.0 - math.exp(-1.0 / (GRAVITY_TAU_S * rate)), cap, -math.inf)
        self.state = append_row(self.state, row)
        self._sos = append_row(self._sos, sos)
        self._zi = append_row(self._zi, zi * first)
        self._hist_t = append_row(self._hist_t, np.zeros(cap))
        self._hist_x = append_row(self._hist_x, np.zeros(cap))
        w = self._wearers.setdefault(wearer, _Wearer())
        w.rows[signal] = self.state.shape[0] - 1
        w.rate_hz = max(w.rate_hz, rate)
        return self.state.shape[0] - 1

    def process(self, blocks: list[tuple[str, int, np.ndarray, np.ndarray]]) -> None:
        """Analyse a tick's accelerometer blocks: ``(wearer, row, times_s, values)`` each."""
        if not blocks:
            return
        batch = Batch([b[1] for b in blocks], [0] * len(blocks), [b[2] for b in blocks], [b[3] for b in blocks],
                      [0.0] * len(blocks))
        _motion_kernel(self.state, self._sos, self._zi, self._hist_t, self._hist_x, batch.rows, batch.starts, batch.ends,
                       batch.times_s, batch.values)
        for name in dict.fromkeys(b[0] for b in blocks):
            self._update(self._wearers[name])

    def _channels(self, w: _Wearer) -> list[int]:
        axes = [row for signal, row in w.rows.items() if signal != "acc"]
        return axes or [w.rows["acc"]]

    def _update(self, w: _Wearer) -> None:
        """The wearer's level after new samples."""
        rows = self._channels(w)
        st = self.state
        now = max(float(st[r, M_LAST_T]) for r in rows)
        w.rms = math.sqrt(sum(float(st[r, M_POWER]) for r in rows))
        gravity = math.sqrt(sum(float(st[r, M_DC]) ** 2 for r in rows))
        dt = 0.0 if math.isnan(w.updated_s) else max(0.0, now - w.updated_s)
        w.updated_s = now
        floor = REST_MIN_G * gravity
        rest = w.rms if math.isnan(w.rest_rms) else min(max(w.rest_rms, floor) * 2.0 ** (dt / REST_DOUBLING_S), w.rms)
        if gravity > 0.0:
            rest = min(max(rest, floor), REST_MAX_G * gravity)
        w.rest_rms = rest
        if rest <= 0.0:
            w.level = 0.0 if w.rms <= 0.0 else 1.0
            return
        ratio = w.rms / (LEVEL_ZERO * rest)
        w.level = min(1.0, max(0.0, math.log(ratio) / math.log(LEVEL_FULL / LEVEL_ZERO))) if ratio > 0.0 else 0.0

    def level(self, wearer: str) -> float:
        """How much ``wearer`` moves, 0..1 (0 at rest); 0 for a wearer with no accelerometer."""
        w = self._wearers.get(wearer)
        return 0.0 if w is None else w.level

    def rejected(self, wearer: str) -> int:
        """PPG candidate beats of ``wearer`` rejected as following the movement."""
        w = self._wearers.get(wearer)
        return 0 if w is None else w.rejected

    def masking(self, wearer: str, time_s: float, within_s: float = 3.0) -> bool:
        """True when ``wearer`` moves and a peak was rejected as the movement's within ``within_s``
        of ``time_s``: a pulse wave with no beat then is masked by the movement, not off the skin."""
        w = self._wearers.get(wearer)
        return w is not None and w.level >= VETO_LEVEL and time_s - w.rejected_s <= within_s

    def last_time_s(self, wearer: str) -> float:
        """Source-clock time of the wearer's newest acceleration sample (-inf before any)."""
        w = self._wearers.get(wearer)
        return -math.inf if w is None else max(float(self.state[r, M_LAST_T]) for r in w.rows.values())

    def cadence(self, wearer: str) -> Cadence:
        """The rhythm of the wearer's recent movement (:data:`NO_CADENCE` with too little of it)."""
        w = self._wearers.get(wearer)
        if w is None:
            return NO_CADENCE
        rows = self._channels(w)
        signals: list[tuple[np.ndarray, np.ndarray]] = []
        for r in rows:
            cap, write, count = int(self.state[r, M_HIST_CAP]), int(self.state[r, M_HIST_WRITE]), int(self.state[r, M_HIST_COUNT])
            order = (np.arange(write - count, write) % cap)
            signals.append((self._hist_t[r, order], self._hist_x[r, order]))
        n = min(x.size for _, x in signals)
        rate = w.rate_hz
        lo, hi = int(CADENCE_S[0] * rate), int(CADENCE_S[1] * rate)
        if n < 2 * hi or n < 16:
            return NO_CADENCE
        size = 1 << int(math.ceil(math.log2(2 * n)))
        acf = np.zeros(size // 2 + 1)
        powers = []
        for _, x in signals:
            spectrum = np.fft.rfft(x[-n:] - x[-n:].mean(), size)
            power = spectrum.real**2 + spectrum.imag**2
            acf = acf + power
            powers.append(float(power.sum()))
        r = np.fft.irfft(acf, size)[: hi + 2]
        if r[0] <= 0.0:
            return NO_CADENCE
        r = r / r[0] * n / (n - np.arange(r.size))  # unbiased, normalised
        search = r[lo : hi + 1]
        peaks = np.flatnonzero((search[1:-1] >= search[:-2]) & (search[1:-1] >= search[2:])) + 1
        if peaks.size == 0:
            return NO_CADENCE
        best = float(search[peaks].max())
        lag = lo + int(peaks[np.argmax(search[peaks] >= 0.85 * best)])  # the shortest lag nearly as good: the fundamental
        a, b, c = r[lag - 1], r[lag], r[lag + 1]
        shift = 0.5 * (a - c) / (a - 2.0 * b + c) if a - 2.0 * b + c < 0.0 else 0.0
        period_s = (lag + shift) / rate
        # The phase from one axis, kept while it stays the strongest (its phase is the reference).
        names = [s for s in w.rows if s != "acc"] or ["acc"]
        strongest = names[int(np.argmax(powers))]
        if w.dominant not in names or powers[names.index(strongest)] > 2.0 * powers[names.index(w.dominant)]:
            w.dominant = strongest
        t, x = signals[names.index(w.dominant)]
        t, x = t[-n:], x[-n:]
        phase = float(np.angle(np.sum(x * np.exp(-2j * np.pi * t / period_s))))
        return Cadence(period_s, float(min(1.0, max(0.0, b))), phase)

    def follows_movement(self, wearer: str, time_s: float, heart_ibi_s: float, last_beat_s: float) -> bool:
        """True when a PPG candidate beat of ``wearer`` at ``time_s`` is the movement's, not the heart's.

        ``heart_ibi_s`` is the heart's recent median interval (``nan`` when unknown),
        ``last_beat_s`` the time of its last beat (``-inf`` before any).
        Every candidate a wearer's heart channel finds must be asked about, in order:
        the phases of the recent ones say where the movement makes its peaks.
        """
        w = self._wearers.get(wearer)
        if w is None:
            return False
        if abs(time_s - w.candidate_s) < SAME_PEAK_S:
            return w.follows  # the same peak again (a rejected candidate leaves the detector free to reopen it)
        w.candidate_s = time_s
        w.follows = self._follows(w, wearer, time_s, heart_ibi_s, last_beat_s)
        if w.follows:
            w.rejected += 1
            w.rejected_s = time_s
        return w.follows

    def _follows(self, w: _Wearer, wearer: str, time_s: float, heart_ibi_s: float, last_beat_s: float) -> bool:
        if w.level < VETO_LEVEL:
            w.lock1 = w.lock2 = 0j
            w.heart_ibi_s = heart_ibi_s
            return False
        cadence = self.cadence(wearer)
        if cadence.periodicity < VETO_PERIODICITY:
            w.lock1 = w.lock2 = 0j
            return False
        phase = cadence.phase_at(time_s)
        lock1, lock2 = w.lock1, w.lock2
        w.lock1 += LOCK_ALPHA * (cmath.exp(1j * phase) - lock1)
        w.lock2 += LOCK_ALPHA * (cmath.exp(2j * phase) - lock2)
        ibi, period = w.heart_ibi_s, cadence.period_s
        if math.isfinite(ibi) and any(abs(ibi - k * period) < SAME_RHYTHM * ibi for k in (0.5, 1.0, 2.0)):
            return False  # the heart keeps the movement's time: they cannot be told apart
        tolerance = 2.0 * math.pi * PHASE_TOLERANCE
        if abs(lock1) >= LOCKED and abs(_wrap(phase - cmath.phase(lock1))) <= tolerance:
            return True  # at the phase where the movement makes its peaks
        if abs(lock1) < LOCKED and abs(lock2) >= LOCKED and abs(_wrap(2.0 * phase - cmath.phase(lock2))) <= tolerance:
            return True  # ... or one of two, for an artefact at twice the cadence
        interval = time_s - last_beat_s
        return any(abs(interval - k * period) < INTERVAL_TOLERANCE * period for k in (0.5, 1.0))


def _wrap(angle: float) -> float:
    """An angle in ``(-pi, pi]``."""
    return math.remainder(angle, 2.0 * math.pi)
