"""Causal skin-conductance analysis: tonic level (SCL), phasic part, skin-conductance
responses (SCRs) as events, and an arousal value relative to the wearer's baseline.

Responses are found on a causal 0.05 Hz high-pass of the 3 Hz low-passed signal
(the decomposition NeuroKit2 uses offline): a rise from a local minimum to a
maximum, confirmed once it falls back by a tenth or stops rising for a second (a
shorter pause on the way up is part of the same response, not the end of one). A
rise shorter than :data:`MIN_RISE_S` is a wobble of the level, not a response.

An :class:`EdaBank` holds every skin-conductance channel as a row of state and
analyses a tick's blocks of all of them in one compiled call (see
:mod:`installation.dsp.bank`), judging each channel's quality as it goes.
:class:`EdaTracker` is a single channel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from installation.dsp.bank import Batch, append_row
from installation.dsp.filters import butter_sos, sos_step
from installation.dsp.quality import IMPLAUSIBLE, NO_CONTACT, OK, QualityBank, clean_segment, quality_judge

#: Seconds the phasic high-pass needs to settle before SCRs are trusted
#: (about 1.5 time constants of its 0.05 Hz corner).
PHASIC_SETTLE_S = 5.0
#: The response detector runs on the phasic signal decimated to about this rate.
DETECT_RATE_HZ = 25.0
#: A rise ends when the signal has not passed its top for this long (or falls back by a tenth).
PEAK_HOLD_S = 1.0
#: Shortest rise (onset to peak) of a response; skin-conductance responses take 0.5-5 s
#: to rise, a quicker rise is noise, a movement or the ripple of the pulse.
MIN_RISE_S = 0.2

# Columns of a skin-conductance channel's state row.
(E_START_S, E_BASE_FROM_S, E_BASE_SUM, E_BASE_N, E_BASELINE_S, E_SCL_A, E_SCL_Y, E_FAST_A, E_FAST_Y, E_FLOOR,
 E_FLOOR_FALL, E_FLOOR_RISE, E_STEP, E_PHASE, E_RISING, E_LOW_T, E_LOW_V, E_ONSET_T, E_ONSET_V, E_PEAK_T, E_PEAK_V,
 E_SCL, E_PHASIC, E_AROUSAL, E_RESPONSES, E_MIN_AMPLITUDE, E_MICROSIEMENS, E_LAST_ARRIVAL_S) = range(28)
E_COLUMNS = 28


@dataclass(frozen=True, slots=True)
class Scr:
    """One skin-conductance response.

    Attributes
    ----------
    onset_s, peak_s : float
        Start of the rise and its top, seconds on the source clock.
    amplitude : float
        Rise from onset to peak, in the signal's units (microsiemens when calibrated).
    rise_s : float
        ``peak_s - onset_s``.
    reported_s : float
        Source-clock time of the sample that confirmed it.
    """

    onset_s: float
    peak_s: float
    amplitude: float
    rise_s: float
    reported_s: float


@njit(cache=True, nogil=True, error_model="numpy")
def _judge(st: np.ndarray, r: int) -> float:
    """Amplitude of the rise that just ended if it is a response, else NaN."""
    amplitude = st[r, E_PEAK_V] - st[r, E_ONSET_V]
    if st[r, E_ONSET_T] - st[r, E_START_S] < PHASIC_SETTLE_S:
        return math.nan
    if st[r, E_PEAK_T] - st[r, E_ONSET_T] < MIN_RISE_S - 1e-6:
        return math.nan
    floor = st[r, E_MIN_AMPLITUDE]
    if math.isnan(floor):
        floor = 0.005 * abs(st[r, E_BASE_SUM] / st[r, E_BASE_N]) if st[r, E_BASE_N] > 0 else 0.0
    if amplitude < floor:
        return math.nan
    return amplitude


@njit(cache=True, nogil=True, error_model="numpy")
def _eda_kernel(st, sos_clean, zi_clean, sos_high, zi_high, q, ring, rows, banks, bank, starts, ends, done, n_bad,
                arrival, t, x, clean, work, out):  # type: ignore[no-untyped-def]
    """Analyse a batch of EDA blocks. Returns the responses written to ``out`` (block, onset, peak, amplitude, reported)."""
    n_out = 0
    for s in range(rows.size):
        if done[s] or banks[s] != bank:
            continue
        r, a, b = rows[s], starts[s], ends[s]
        if a == b:  # an empty block: nothing to analyse
            done[s] = True
            continue
        st[r, E_LAST_ARRIVAL_S] = arrival[s]
        n_bad[s] = clean_segment(x, clean, a, b)
        if math.isnan(st[r, E_START_S]):
            st[r, E_START_S] = t[a]
        if math.isnan(st[r, E_BASE_FROM_S]):
            st[r, E_BASE_FROM_S] = t[a]
        if math.isnan(st[r, E_SCL_Y]):
            st[r, E_SCL_Y] = clean[a]
            st[r, E_FAST_Y] = clean[a]
        scl_a, fast_a = st[r, E_SCL_A], st[r, E_FAST_A]
        step = int(st[r, E_STEP])
        floor_every = max(1, step // 4)
        fall, rise = st[r, E_FLOOR_FALL] * floor_every, st[r, E_FLOOR_RISE] * floor_every
        for i in range(a, b):
            v = clean[i]
            st[r, E_SCL_Y] = scl_a * st[r, E_SCL_Y] + (1.0 - scl_a) * v
            work[i] = sos_step(sos_high, zi_high, r, sos_step(sos_clean, zi_clean, r, v))  # phasic
            if t[i] - st[r, E_BASE_FROM_S] < st[r, E_BASELINE_S]:
                st[r, E_BASE_SUM] += st[r, E_SCL_Y]
                st[r, E_BASE_N] += 1.0
            fast = fast_a * st[r, E_FAST_Y] + (1.0 - fast_a) * v
            st[r, E_FAST_Y] = fast
            if (i - a) % floor_every == 0:
                # The phasic level is measured above a floor that follows falls within a
                # second and rises over half a minute, so a response stands out (and
                # stays up while it lasts) even on a drifting level.
                if math.isnan(st[r, E_FLOOR]):
                    st[r, E_FLOOR] = fast
                floor = st[r, E_FLOOR]
                st[r, E_FLOOR] = floor + (fast - floor) * (fall if fast < floor else rise)
        st[r, E_SCL] = st[r, E_SCL_Y]
        st[r, E_PHASIC] = max(0.0, st[r, E_FAST_Y] - st[r, E_FLOOR])
        first = (step - int(st[r, E_PHASE])) % step
        st[r, E_PHASE] = (st[r, E_PHASE] + (b - a)) % step
        for i in range(a + first, b, step):
            ti, v = t[i], work[i]
            if st[r, E_RISING] == 0.0:
                if v < st[r, E_LOW_V]:
                    st[r, E_LOW_T], st[r, E_LOW_V] = ti, v
                elif v > st[r, E_LOW_V]:
                    st[r, E_RISING] = 1.0
                    st[r, E_ONSET_T], st[r, E_ONSET_V] = st[r, E_LOW_T], st[r, E_LOW_V]
                    st[r, E_PEAK_T], st[r, E_PEAK_V] = ti, v
            elif v >= st[r, E_PEAK_V]:
                st[r, E_PEAK_T], st[r, E_PEAK_V] = ti, v
            elif st[r, E_PEAK_V] - v > 0.1 * (st[r, E_PEAK_V] - st[r, E_ONSET_V]) or ti - st[r, E_PEAK_T] > PEAK_HOLD_S:
                amplitude = _judge(st, r)
                if not math.isnan(amplitude):
                    out[n_out, 0], out[n_out, 1], out[n_out, 2], out[n_out, 3], out[n_out, 4] = (
                        s, st[r, E_ONSET_T], st[r, E_PEAK_T], amplitude, ti)
                    n_out += 1
                    st[r, E_RESPONSES] += 1.0
                st[r, E_RISING], st[r, E_LOW_T], st[r, E_LOW_V] = 0.0, ti, v
        base = st[r, E_BASE_SUM] / st[r, E_BASE_N]
        tonic_z = (st[r, E_SCL] - base) / max(0.10 * abs(base), 1e-9)
        phasic_z = st[r, E_PHASIC] / max(0.05 * abs(base), 1e-9)
        st[r, E_AROUSAL] = 1.0 / (1.0 + math.exp(-2.0 * max(-20.0, min(20.0, tonic_z + phasic_z))))
        state = OK
        if st[r, E_MICROSIEMENS] > 0.0:
            if st[r, E_SCL] < 0.0 or st[r, E_SCL] > 200.0:
                state = IMPLAUSIBLE
            elif st[r, E_SCL] < 0.05:
                state = NO_CONTACT
        quality_judge(q, ring, r, clean, a, b, n_bad[s], state, 1.0)
        done[s] = True
    return n_out


class EdaBank:
    """Every skin-conductance channel, analysed a batch at a time.

    Parameters
    ----------
    baseline_s : float
        Seconds that define each channel's resting level (from its first sample,
        or from :meth:`rebaseline`); arousal is 0.5 at that level.
    number : int
        The bank's number in the batches it shares with other banks.
    """

    def __init__(self, baseline_s: float = 10.0, number: int = 0) -> None:
        self.baseline_s = baseline_s
        self.number = number
        self.quality = QualityBank()
        self.state = np.zeros((0, E_COLUMNS))
        self._sos_clean = np.zeros((0, 1, 5))
        self._zi_clean = np.zeros((0, 1, 2))
        self._sos_high = np.zeros((0, 1, 5))
        self._zi_high = np.zeros((0, 1, 2))

    def add(self, sampling_rate_hz: float, first_value: float, unit: str, min_amplitude: float | None = None) -> int:
        """Add a channel; return its row.

        Parameters
        ----------
        sampling_rate_hz : float
            Nominal sampling rate in hertz.
        first_value : float
            The first sample, which seeds the filters (no start transient).
        unit : str
            ``"uS"`` for calibrated microsiemens (levels no skin has are then
            faults), anything else for sensor units.
        min_amplitude : float or None
            Smallest SCR amplitude in the signal's units; default: 0.01 uS for
            microsiemens, else 0.5 % of the resting level (0.05 uS at 10 uS, the
            top of the usual 0.01-0.05 uS criteria).
        """
        rate = sampling_rate_hz
        clean, clean_zi = butter_sos(2, min(3.0, 0.45 * rate), rate)
        high, high_zi = butter_sos(1, 0.05, rate, "highpass")
        first = first_value if math.isfinite(first_value) else 0.0
        if min_amplitude is None and unit == "uS":
            min_amplitude = 0.01
        row = np.zeros(E_COLUMNS)
        row[[E_START_S, E_BASE_FROM_S, E_SCL_Y, E_FAST_Y, E_FLOOR, E_SCL]] = math.nan
        row[[E_LOW_V, E_PEAK_V]] = math.inf, -math.inf
        row[E_BASELINE_S] = self.baseline_s
        row[E_SCL_A], row[E_FAST_A] = math.exp(-1.0 / (2.0 * rate)), math.exp(-1.0 / (0.3 * rate))
        row[E_FLOOR_FALL], row[E_FLOOR_RISE] = 1.0 - math.exp(-1.0 / (1.0 * rate)), 1.0 - math.exp(-1.0 / (30.0 * rate))
        row[E_STEP] = max(1, int(round(rate / DETECT_RATE_HZ)))
        row[[E_AROUSAL, E_MIN_AMPLITUDE, E_MICROSIEMENS]] = 0.5, math.nan if min_amplitude is None else min_amplitude, unit == "uS"
        self.state = append_row(self.state, row)
        self._sos_clean = append_row(self._sos_clean, clean)
        self._zi_clean = append_row(self._zi_clean, clean_zi * first)
        self._sos_high = append_row(self._sos_high, high)
        self._zi_high = append_row(self._zi_high, high_zi * first)
        return self.quality.add(rate, railing=False)

    def rebaseline(self, row: int) -> None:
        """Learn the resting level again from the channel's next sample; responses are measured from there."""
        self.state[row, [E_BASE_FROM_S, E_FLOOR]] = math.nan
        self.state[row, [E_BASE_SUM, E_BASE_N]] = 0.0

    def baseline(self, row: int) -> float:
        """Resting level in the signal's units (``nan`` until the first sample)."""
        n = self.state[row, E_BASE_N]
        return float(self.state[row, E_BASE_SUM] / n) if n else math.nan

    def process(self, batch: Batch) -> list[tuple[int, Scr]]:
        """Analyse this bank's blocks of a batch; return ``(block index, response)`` for every response, in order."""
        out = np.empty((batch.values.size + 1, 5))  # at most one response per sample
        n = _eda_kernel(self.state, self._sos_clean, self._zi_clean, self._sos_high, self._zi_high, self.quality.rows, self.quality.ring, batch.rows, batch.banks, self.number, batch.starts, batch.ends,
                        batch.done, batch.n_bad, batch.arrival_s, batch.times_s, batch.values, batch.clean, batch.work, out)
        return [(int(k), Scr(onset, peak, amplitude, peak - onset, reported)) for k, onset, peak, amplitude, reported in out[:n].tolist()]


class EdaTracker:
    """Streaming SCL, phasic component, SCRs and arousal for one EDA channel.

    Parameters
    ----------
    sampling_rate_hz : float
        Nominal sampling rate in hertz.
    baseline_s : float
        Seconds that define this wearer's resting level.
    min_amplitude : float or None
        Smallest SCR amplitude in the signal's units (see :meth:`EdaBank.add`).
    unit : str
        ``"uS"`` for microsiemens, else sensor units.
    """

    def __init__(self, sampling_rate_hz: float, baseline_s: float = 10.0, min_amplitude: float | None = None,
                 unit: str = "") -> None:
        self.sampling_rate_hz = sampling_rate_hz
        self.min_amplitude = min_amplitude
        self.unit = unit
        self._bank = EdaBank(baseline_s)

    def process(self, times_s: np.ndarray, values: np.ndarray) -> list[Scr]:
        """Feed one block of samples; return the responses it confirmed."""
        if values.size == 0:
            return []
        if self._bank.state.shape[0] == 0:
            self._bank.add(self.sampling_rate_hz, float(values[0]), self.unit, self.min_amplitude)
        return [scr for _, scr in self._bank.process(Batch.single(times_s, values))]

    def rebaseline(self) -> None:
        """Start learning the resting level again from the next sample."""
        if self._bank.state.shape[0]:
            self._bank.rebaseline(0)

    def _value(self, column: int, default: float) -> float:
        return float(self._bank.state[0, column]) if self._bank.state.shape[0] else default

    @property
    def baseline(self) -> float:
        return self._bank.baseline(0) if self._bank.state.shape[0] else math.nan

    @property
    def scl(self) -> float:
        """Skin-conductance level, signal units."""
        return self._value(E_SCL, math.nan)

    @property
    def phasic(self) -> float:
        """Phasic level above the drifting floor, signal units."""
        return self._value(E_PHASIC, 0.0)

    @property
    def arousal(self) -> float:
        """Arousal relative to the baseline, 0..1 (0.5 = baseline)."""
        return self._value(E_AROUSAL, 0.5)

    @property
    def responses(self) -> int:
        return int(self._value(E_RESPONSES, 0.0))
