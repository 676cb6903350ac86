"""Causal skin-conductance analysis: tonic level (SCL), phasic part, skin-conductance
responses (SCRs) as events, and an arousal value relative to the wearer's baseline.

Responses are found in the sudomotor *driver*: the causal 0.05 Hz high-pass of the 3 Hz
low-passed signal (the decomposition NeuroKit2 uses offline), passed through the inverse
of the skin's response to one burst of sweat (two exponentials, after Benedek &
Kaernbach's continuous decomposition, as Ledalab does offline) and low-passed. A burst of
the driver is one response; its area is the response's height. Undoing the recovery is
what lets a small response that starts on the steep recovery of a large one be seen: in
the level it never turns up. Bursts are one response while the level does not fall back
by a tenth between them (a rise that pauses is one response); a burst shorter than
:data:`MIN_BURST_S` is a wobble of the level (a tremor, a loose electrode), not a response.

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
#: Time constants of the skin's response to one sudomotor burst, ``exp(-t/2.0) - exp(-t/0.75)``
#: (Benedek & Kaernbach 2010, Ledalab's defaults): rise and recovery, seconds.
RISE_TAU_S, RECOVERY_TAU_S = 0.75, 2.0
#: Corner of the low-pass that tames the deconvolution's noise; a sudomotor burst is
#: a few tenths of a second long, so it keeps its shape.
DRIVER_CUTOFF_HZ = 0.8
#: A burst is the driver above this, microsiemens of response per second (0.2 % of the
#: resting level per second in sensor units): a rise of 0.02 uS in a second.
DRIVER_MIN_US_PER_S = 0.02
#: Bursts less than this apart are one response (the driver dipping for a moment).
MERGE_S = 0.3
#: A burst shorter than this (from the start of its climb) is a wobble of the level, not a response.
MIN_BURST_S = 0.2
#: A response is over once the phasic level falls back by this share of its height; a burst
#: that starts before it has is part of it (a rise that pauses and goes on).
MERGE_FALL = 0.1
#: A response whose level holds up (a rise that pauses) waits at most this long for a burst
#: that would continue it before it is reported.
MAX_PAUSE_S = 2.0

# Columns of a skin-conductance channel's state row.
(E_START_S, E_BASE_FROM_S, E_BASE_SUM, E_BASE_N, E_BASELINE_S, E_SCL_A, E_SCL_Y, E_FAST_A, E_FAST_Y, E_FLOOR,
 E_FLOOR_FALL, E_FLOOR_RISE, E_STEP, E_PHASE, E_SCL, E_PHASIC, E_AROUSAL, E_RESPONSES, E_MIN_AMPLITUDE,
 E_MICROSIEMENS, E_LAST_ARRIVAL_S,
 # the sudomotor driver: deconvolution (two past phasic samples, coefficients, gain) and its bursts
 E_X1, E_X2, E_POLE_SUM, E_POLE_PRODUCT, E_DRIVER_GAIN, E_DRIVER_PREV, E_DRIVER_MIN, E_DT,
 E_RUN_T, E_RUN_AREA, E_IN_BURST, E_BURST_ONSET_T, E_BURST_AREA, E_PENDING, E_PENDING_ONSET_T, E_PENDING_END_T,
 E_PENDING_AREA, E_GAP_TOP, E_GAP_FELL) = range(40)
E_COLUMNS = 40


@dataclass(frozen=True, slots=True)
class Scr:
    """One skin-conductance response.

    Attributes
    ----------
    onset_s, peak_s : float
        Start of the rise, and the end of the burst that drove it (the level tops out
        shortly after), seconds on the source clock.
    amplitude : float
        Height of the response, the area of its burst of the driver, in the signal's
        units (microsiemens when calibrated).
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
def _floor(st: np.ndarray, r: int, column: int, share: float) -> float:
    """A threshold in the signal's units: the column's value, else ``share`` of the resting level."""
    value = st[r, column]
    if math.isnan(value):
        value = share * abs(st[r, E_BASE_SUM] / st[r, E_BASE_N]) if st[r, E_BASE_N] > 0 else 0.0
    return value


@njit(cache=True, nogil=True, error_model="numpy")
def _judge(st: np.ndarray, r: int) -> float:
    """Amplitude of the burst waiting to be reported if it is a response, else NaN."""
    amplitude = st[r, E_PENDING_AREA]
    if st[r, E_PENDING_ONSET_T] - st[r, E_START_S] < PHASIC_SETTLE_S:
        return math.nan
    if amplitude < _floor(st, r, E_MIN_AMPLITUDE, 0.005):
        return math.nan
    return amplitude


@njit(cache=True, nogil=True, error_model="numpy")
def _report(st, r, s, ti, out, n_out):  # type: ignore[no-untyped-def]
    """Write the burst waiting to be reported to ``out`` if it is a response; return the new count."""
    st[r, E_PENDING] = 0.0
    amplitude = _judge(st, r)
    if math.isnan(amplitude):
        return n_out
    out[n_out, 0], out[n_out, 1], out[n_out, 2], out[n_out, 3], out[n_out, 4] = (
        s, st[r, E_PENDING_ONSET_T], st[r, E_PENDING_END_T], amplitude, ti)
    st[r, E_RESPONSES] += 1.0
    return n_out + 1


@njit(cache=True, nogil=True, error_model="numpy")
def _eda_kernel(st, sos_clean, zi_clean, sos_high, zi_high, sos_driver, zi_driver, q, ring, rows, banks, bank, starts, ends, done, n_bad,
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
        dt, threshold = st[r, E_DT], _floor(st, r, E_DRIVER_MIN, 0.002)
        for i in range(a + first, b, step):
            ti, v = t[i], work[i]
            if math.isnan(st[r, E_X1]):
                st[r, E_X1], st[r, E_X2] = v, v
            # The driver: the phasic signal through the inverse of the skin's response
            # (uS of response per second), low-passed.
            fir = v - st[r, E_POLE_SUM] * st[r, E_X1] + st[r, E_POLE_PRODUCT] * st[r, E_X2]
            st[r, E_X2], st[r, E_X1] = st[r, E_X1], v
            d = sos_step(sos_driver, zi_driver, r, st[r, E_DRIVER_GAIN] * fir)
            previous = st[r, E_DRIVER_PREV]
            st[r, E_DRIVER_PREV] = d
            if st[r, E_IN_BURST] == 0.0:
                # a burst starts where the driver began its climb (positive and rising)
                if d > previous and previous > 0.0:
                    st[r, E_RUN_AREA] += d * dt
                else:
                    st[r, E_RUN_T], st[r, E_RUN_AREA] = ti, max(d, 0.0) * dt
                if d > threshold:
                    st[r, E_IN_BURST], st[r, E_BURST_ONSET_T], st[r, E_BURST_AREA] = 1.0, st[r, E_RUN_T], st[r, E_RUN_AREA]
            elif d > threshold:
                st[r, E_BURST_AREA] += d * dt
            else:  # the burst is over: part of the response before it if that has not fallen back
                st[r, E_IN_BURST] = 0.0
                st[r, E_RUN_T], st[r, E_RUN_AREA] = ti, max(d, 0.0) * dt
                if ti - st[r, E_BURST_ONSET_T] < MIN_BURST_S - 1e-9:
                    continue
                if st[r, E_PENDING] > 0.0 and (st[r, E_BURST_ONSET_T] - st[r, E_PENDING_END_T] < MERGE_S
                                               or st[r, E_GAP_FELL] == 0.0):
                    st[r, E_PENDING_END_T] = ti
                    st[r, E_PENDING_AREA] += st[r, E_BURST_AREA]
                    st[r, E_GAP_TOP], st[r, E_GAP_FELL] = v, 0.0
                    continue
                if st[r, E_PENDING] > 0.0:
                    n_out = _report(st, r, s, ti, out, n_out)
                st[r, E_PENDING], st[r, E_PENDING_ONSET_T], st[r, E_PENDING_END_T], st[r, E_PENDING_AREA] = (
                    1.0, st[r, E_BURST_ONSET_T], ti, st[r, E_BURST_AREA])
                st[r, E_GAP_TOP], st[r, E_GAP_FELL] = v, 0.0
                continue
            if st[r, E_PENDING] > 0.0 and st[r, E_IN_BURST] == 0.0:
                st[r, E_GAP_TOP] = max(st[r, E_GAP_TOP], v)
                if st[r, E_GAP_TOP] - v > MERGE_FALL * st[r, E_PENDING_AREA]:
                    st[r, E_GAP_FELL] = 1.0
                waited = ti - st[r, E_PENDING_END_T]
                if (waited >= MERGE_S and st[r, E_RUN_T] - st[r, E_PENDING_END_T] >= MERGE_S
                        and (st[r, E_GAP_FELL] > 0.0 or waited >= MAX_PAUSE_S)):
                    n_out = _report(st, r, s, ti, out, n_out)
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
        self._sos_driver = np.zeros((0, 1, 5))
        self._zi_driver = np.zeros((0, 1, 2))

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
        row[[E_X1, E_X2]] = math.nan
        row[E_BASELINE_S] = self.baseline_s
        row[E_SCL_A], row[E_FAST_A] = math.exp(-1.0 / (2.0 * rate)), math.exp(-1.0 / (0.3 * rate))
        row[E_FLOOR_FALL], row[E_FLOOR_RISE] = 1.0 - math.exp(-1.0 / (1.0 * rate)), 1.0 - math.exp(-1.0 / (30.0 * rate))
        row[E_STEP] = max(1, int(round(rate / DETECT_RATE_HZ)))
        # The driver at the detector's rate: x[n] - (p1 + p2) x[n-1] + p1 p2 x[n-2] undoes the
        # response exp(-t/RECOVERY_TAU_S) - exp(-t/RISE_TAU_S); scaled so that a burst's
        # integral is the height of the response it causes.
        dt = row[E_STEP] / rate
        p1, p2 = math.exp(-dt / RISE_TAU_S), math.exp(-dt / RECOVERY_TAU_S)
        top_s = math.log(RECOVERY_TAU_S / RISE_TAU_S) * RISE_TAU_S * RECOVERY_TAU_S / (RECOVERY_TAU_S - RISE_TAU_S)
        height = math.exp(-top_s / RECOVERY_TAU_S) - math.exp(-top_s / RISE_TAU_S)
        row[E_DT], row[E_POLE_SUM], row[E_POLE_PRODUCT], row[E_DRIVER_GAIN] = dt, p1 + p2, p1 * p2, height / (p2 - p1) / dt
        row[E_DRIVER_MIN] = DRIVER_MIN_US_PER_S if unit == "uS" else math.nan
        driver, driver_zi = butter_sos(2, min(DRIVER_CUTOFF_HZ, 0.4 / dt), 1.0 / dt)
        row[[E_AROUSAL, E_MIN_AMPLITUDE, E_MICROSIEMENS]] = 0.5, math.nan if min_amplitude is None else min_amplitude, unit == "uS"
        self.state = append_row(self.state, row)
        self._sos_clean = append_row(self._sos_clean, clean)
        self._zi_clean = append_row(self._zi_clean, clean_zi * first)
        self._sos_high = append_row(self._sos_high, high)
        self._zi_high = append_row(self._zi_high, high_zi * first)
        self._sos_driver = append_row(self._sos_driver, driver)
        self._zi_driver = append_row(self._zi_driver, driver_zi * 0.0)
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
        n = _eda_kernel(self.state, self._sos_clean, self._zi_clean, self._sos_high, self._zi_high, self._sos_driver, self._zi_driver, self.quality.rows, self.quality.ring, batch.rows, batch.banks, self.number, batch.starts, batch.ends,
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
