"""Causal heartbeat detection from PPG and ECG, block by block, for many wearers at once.

Both detectors band-pass the signal, follow a feature wave (the pulse wave for
PPG, the QRS energy for ECG) above an adaptive threshold, confirm a beat a fixed
time after the feature's maximum, and place the beat on the apex of the lightly
filtered signal (the systolic peak, the R peak). An ECG beat is reported a fixed
time after its R apex, so the report delay is the same for narrow and wide
complexes; when the QRS energy of one candidate grows again over a second
complex (a noise spike, a wide wave's tail), the complex that opened it stays the
beat if it stands as tall. An ECG candidate that comes soon after a beat (within
Pan-Tompkins' 200-360 ms T-wave window, or before 0.7 of the running interval)
must be at least half as steep as the beats' QRS complexes, or it is a T wave or
noise. A PPG pulse under the threshold (a smaller pulse after tall ones) is found
by searching back, as Pan-Tompkins do for the QRS: when 1.5 running intervals pass
with no beat in a regular rhythm, the largest pulse since 0.7 intervals after the
last beat counts if it reached 0.3 of the running pulse level; it is reported late.
Once four beats are in, a weak PPG candidate (under half the running pulse level)
is confirmed no sooner than 0.25 s after its top, so that a taller pulse right behind it (the systolic
peak after a dicrotic wave) takes its place rather than falling in its refractory
time.
Interval plausibility, heart
rate, HRV and the next-beat prediction live in :class:`~installation.dsp.rhythm.BeatSeries`.

Any sampling rate from 25 Hz to a few kHz and any units work: thresholds adapt to
the signal's own amplitude. Timestamps may be irregular (coarse clock ticks);
filters assume the nominal rate and beats take the timestamps of their samples.

A :class:`HeartBank` holds every heart channel of one kind (PPG or ECG) as a row
of state and analyses a tick's blocks of all of them in one compiled call (see
:mod:`installation.dsp.bank`); it also judges each channel's state and quality
(learning, no contact, noisy, ok, and the faults of :mod:`installation.dsp.quality`).
:class:`PpgBeatDetector` and :class:`EcgBeatDetector` are single channels.
"""

from __future__ import annotations

import math
from typing import Callable, Literal

import numpy as np
from numba import njit

from installation.dsp.bank import Batch, append_row
from installation.dsp.filters import butter_sos, sos_step
from installation.dsp.quality import LEARNING, NO_CONTACT, NOISY, OK, QualityBank, clean_segment, quality_judge
from installation.dsp.rhythm import Beat, BeatSeries

Polarity = Literal["auto", "normal", "inverted"]
HeartKind = Literal["ppg", "ecg"]

#: An ECG candidate weaker than this share of the running QRS level waits
#: ``WEAK_WAIT`` times longer before it counts, so that a true QRS right behind a
#: noise bump can still take its place.
WEAK = 0.5
WEAK_WAIT = 1.3
#: An ECG complex that opened a candidate is kept as the beat when a later, larger
#: QRS energy in the same candidate comes from a complex no taller than this share.
FIRST_TALL = 0.9
#: ECG: the R apex is looked for from this long before to this long after the QRS energy's maximum, seconds.
APEX_BEFORE_S, APEX_AFTER_S = 0.15, 0.03
#: ECG (Pan-Tompkins' T-wave rule): a candidate whose R apex comes this soon after the
#: last beat, seconds, is a beat only if its steepest slope is at least ``T_WAVE_SLOPE``
#: times the running slope of the beats' QRS complexes; otherwise it is a T wave or noise.
T_WAVE_WINDOW_S = (0.2, 0.36)
T_WAVE_SLOPE = 0.5
#: ECG: a complex's steepest slope is looked for within this many seconds either side of its R apex.
SLOPE_SPAN_S = 0.06
#: ECG: the slope rule also holds for a candidate sooner than this share of the running interval (noise
#: that comes premature and gentle); a premature beat with a QRS's slope stays a beat.
PREMATURE = 0.7
#: PPG: once four beats are in, a candidate whose top is under ``PPG_WEAK`` times the running pulse level is confirmed no
#: sooner than ``PPG_WEAK_WAIT_S`` after its top, so that a taller pulse right behind it (the systolic
#: peak after a dicrotic wave taken for a pulse) takes its place instead of falling in its refractory time.
PPG_WEAK, PPG_WEAK_WAIT_S = 0.5, 0.25
#: The lowest a lost pulse relaxes the PPG threshold to, as a share of the typical pulse: a pulse
#: ten times smaller than the wearer's own is taken for ambient light on a lifted sensor, not a heart.
PPG_FLOOR = 0.1
#: PPG: the systolic peak is looked for from this long before to this long after the pulse wave's top, seconds.
PPG_APEX_BEFORE_S, PPG_APEX_AFTER_S = 0.2, 0.02
#: PPG: seconds between beats that no heart at rest undercuts, before the rhythm is known.
PPG_MIN_REFRACTORY_S = 0.27
#: PPG search-back (as Pan-Tompkins' for the QRS): when this many running intervals pass with
#: no beat, the largest pulse since the last beat counts if it reached ``SEARCH_BACK_LEVEL``
#: times the running pulse level (the detection threshold being 0.4 times it).
SEARCH_BACK_AFTER, SEARCH_BACK_LEVEL = 1.5, 0.3
#: PPG search-back: only a pulse at least this share of the running interval after the last
#: beat can be found again (not the last beat's own dicrotic wave).
SEARCH_BACK_FROM = 0.7
#: PPG search-back only where the rhythm is known and regular (this share of the last 8 intervals
#: normal): the running interval it relies on is then the pulse's, not noise's.
SEARCH_BACK_REGULARITY = 0.75
#: Seconds of signal kept for placing a beat on its apex.
PPG_HISTORY_S, ECG_HISTORY_S = 2.0, 1.0

# Columns of a heart channel's state row.
(H_LEARN_S, H_START_S, H_LEARNED, H_LEARN_N, H_SIGN, H_POLARITY, H_LEVEL, H_NOISE, H_ACTIVE, H_CAND_V, H_CAND_T,
 H_LAST_ACTIVITY_S, H_LAST_BEAT_S, H_REFRACTORY_S, H_EXCURSION, H_TYPICAL, H_NOISY_UNTIL_S, H_MEDIAN_IBI_S, H_BEATS,
 H_REGULARITY, H_BASELINE_UNTIL_S, H_BASELINE_S, H_HIST_CAP, H_HIST_WRITE, H_HIST_COUNT, H_APEX_WIDTH, H_PREV,
 H_WIN_SUM, H_WIN_LEN, H_WIN_WRITE, H_CONFIRM_S, H_LAST_ARRIVAL_S, H_FIRST_T, H_CAND_APEX_S,
 H_CAND_HEIGHT, H_REPORT_S, H_BEAT_SLOPE, H_BACK_V, H_BACK_T) = range(39)
H_COLUMNS = 39
POLARITIES: tuple[Polarity, ...] = ("auto", "normal", "inverted")


@njit(cache=True, nogil=True, error_model="numpy")
def _history_add(st: np.ndarray, hist_t: np.ndarray, hist_x: np.ndarray, r: int, t: np.ndarray, x: np.ndarray,
                 start: int, end: int, scale: float) -> None:
    for i in range(start, end):
        _history_push(st, hist_t, hist_x, r, t[i], scale * x[i])


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _history_push(st: np.ndarray, hist_t: np.ndarray, hist_x: np.ndarray, r: int, time_s: float, value: float) -> None:
    """Keep one sample of channel ``r`` for placing beats on their apex."""
    write = int(st[r, H_HIST_WRITE])
    hist_t[r, write], hist_x[r, write] = time_s, value
    st[r, H_HIST_WRITE] = write + 1 if write + 1 < st[r, H_HIST_CAP] else 0
    st[r, H_HIST_COUNT] = min(st[r, H_HIST_COUNT] + 1.0, st[r, H_HIST_CAP])


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _window(st: np.ndarray, hist_t: np.ndarray, r: int, lo_s: float, hi_s: float) -> tuple[int, int]:
    """The kept samples of channel ``r`` in ``[lo_s, hi_s]``: ``(newest, n)``, the newest one's
    distance back from the last written (``-1`` if none) and how many there are."""
    cap, write, count = int(st[r, H_HIST_CAP]), int(st[r, H_HIST_WRITE]), int(st[r, H_HIST_COUNT])
    newest, n = -1, 0
    for k in range(count):  # newest first, until the window is passed
        i = (write - 1 - k) % cap
        if hist_t[r, i] > hi_s:
            continue
        if hist_t[r, i] < lo_s:
            break
        if newest < 0:
            newest = k
        n += 1
    return newest, n


@njit(cache=True, nogil=True, error_model="numpy")
def _apex(st: np.ndarray, hist_t: np.ndarray, hist_x: np.ndarray, r: int, lo_s: float, hi_s: float,
          fallback_s: float) -> tuple[float, float]:
    """Time and height of the maximum of the kept signal in ``[lo_s, hi_s]`` after an ``H_APEX_WIDTH``-sample moving average.

    The height is ``-inf`` when no kept sample lies in the window (the time is then ``fallback_s``).
    """
    cap, write = int(st[r, H_HIST_CAP]), int(st[r, H_HIST_WRITE])
    newest, n = _window(st, hist_t, r, lo_s, hi_s)
    if n == 0:
        return fallback_s, -np.inf
    times, x = np.empty(n), np.empty(n)
    for j in range(n):  # oldest first
        i = (write - 1 - (newest + n - 1 - j)) % cap
        times[j], x[j] = hist_t[r, i], hist_x[r, i]
    width = int(st[r, H_APEX_WIDTH])
    if width > 1 and n > width:
        best, best_j, total = -np.inf, 0, 0.0
        for j in range(n):
            total += x[j]
            if j >= width:
                total -= x[j - width]
            if j >= width - 1 and total / width > best:
                best, best_j = total / width, j - width + 1
        return times[best_j + width // 2], best
    j = np.argmax(x)
    return times[j], x[j]


@njit(cache=True, nogil=True, error_model="numpy")
def _window_max(st: np.ndarray, hist_t: np.ndarray, hist_v: np.ndarray, r: int, lo_s: float, hi_s: float) -> float:
    """The largest kept value of ``hist_v`` (a ring beside ``hist_t``) in ``[lo_s, hi_s]``; 0 when none is kept there."""
    cap, write = int(st[r, H_HIST_CAP]), int(st[r, H_HIST_WRITE])
    newest, n = _window(st, hist_t, r, lo_s, hi_s)
    best = 0.0
    for k in range(newest, newest + n):
        best = max(best, hist_v[r, (write - 1 - k) % cap])
    return best


@njit(cache=True, nogil=True, error_model="numpy")
def _soon_and_gentle(st: np.ndarray, r: int, r_s: float, slope: float) -> bool:
    """ECG: whether a complex with its R apex at ``r_s`` and steepest slope ``slope`` comes too soon
    after the last beat (Pan-Tompkins' T-wave window, or premature) and is too gentle for a QRS."""
    since_s = r_s - st[r, H_LAST_BEAT_S]
    soon_s = T_WAVE_WINDOW_S[1]
    if st[r, H_BEATS] > 3 and PREMATURE * st[r, H_MEDIAN_IBI_S] > soon_s:
        soon_s = PREMATURE * st[r, H_MEDIAN_IBI_S]
    return T_WAVE_WINDOW_S[0] <= since_s <= soon_s and slope < T_WAVE_SLOPE * st[r, H_BEAT_SLOPE]


@njit(cache=True, nogil=True, error_model="numpy")
def _learn(st: np.ndarray, learn: np.ndarray, r: int, t: np.ndarray, feature: np.ndarray, start: int, end: int) -> bool:
    """Keep a learning block's feature wave; True once ``H_LEARN_S`` seconds are in (this block included)."""
    if math.isnan(st[r, H_START_S]):
        st[r, H_START_S] = t[start]
    n = int(st[r, H_LEARN_N])
    for i in range(start, min(end, start + learn.shape[1] - n)):
        learn[r, n] = feature[i]
        n += 1
    st[r, H_LEARN_N] = n
    return t[end - 1] - st[r, H_START_S] >= st[r, H_LEARN_S]


@njit(cache=True, nogil=True, error_model="numpy")
def _block_end(st: np.ndarray, q: np.ndarray, ring: np.ndarray, r: int, t: np.ndarray, clean: np.ndarray,
               start: int, end: int, n_bad: int, ecg: bool) -> None:
    """The channel's state and quality after a block: learning, no contact, noisy or ok."""
    now = t[end - 1]
    learned = st[r, H_LEARNED] > 0.0
    if ecg and st[r, H_EXCURSION] > 2.5:
        st[r, H_NOISY_UNTIL_S] = now + 1.5  # far more QRS energy than a heartbeat makes: movement
    baseline_s = st[r, H_BASELINE_S]
    if st[r, H_BASELINE_UNTIL_S] == np.inf and learned:
        st[r, H_BASELINE_UNTIL_S] = now + baseline_s
    silent_s = 3.0
    if st[r, H_BEATS] > 3 and 2.5 * st[r, H_MEDIAN_IBI_S] > silent_s:
        silent_s = 2.5 * st[r, H_MEDIAN_IBI_S]
    if not learned:
        state = LEARNING
    elif now - st[r, H_LAST_BEAT_S] > silent_s and now - (st[r, H_BASELINE_UNTIL_S] - baseline_s) > 3.0:
        state = NO_CONTACT  # data flows but no pulse: lifted off, or not on skin
    elif now < st[r, H_NOISY_UNTIL_S]:
        state = NOISY
    else:
        state = OK
    quality_judge(q, ring, r, clean, start, end, n_bad, state, st[r, H_REGULARITY])


@njit(cache=True, nogil=True, error_model="numpy")
def _pulse_apex_s(st: np.ndarray, hist_t: np.ndarray, hist_x: np.ndarray, r: int, top_s: float) -> float:
    """PPG: the systolic peak of a pulse whose band-passed wave topped at ``top_s``, seconds (the apex
    of the lightly filtered wave, which comes up to ``PPG_APEX_BEFORE_S`` earlier)."""
    return _apex(st, hist_t, hist_x, r, top_s - PPG_APEX_BEFORE_S, top_s + PPG_APEX_AFTER_S, top_s)[0]


@njit(cache=True, nogil=True, error_model="numpy")
def _ppg_beat(st, hist_t, hist_x, r, s, top_s, top_v, now_s, out, n_out):  # type: ignore[no-untyped-def]
    """PPG: the pulse that topped at ``top_s`` with height ``top_v`` is a beat, reported at ``now_s``:
    close the candidate and the search back, follow the pulse level, write the beat to ``out``.
    Returns the beats written."""
    level = st[r, H_LEVEL]
    st[r, H_ACTIVE], st[r, H_BACK_V], st[r, H_LAST_ACTIVITY_S] = 0.0, 0.0, now_s
    st[r, H_LEVEL] = 0.8 * level + 0.2 * min(top_v, 2.0 * level)
    out[n_out, 0], out[n_out, 1], out[n_out, 2], out[n_out, 3] = s, _pulse_apex_s(st, hist_t, hist_x, r, top_s), now_s, top_v
    return n_out + 1


@njit(cache=True, nogil=True, error_model="numpy")
def _ppg_kernel(st, sos, zi, learn, hist_t, hist_x, q, ring, rows, banks, bank, starts, ends, pos, done, n_bad, arrival, t, x, clean,
                work, out):  # type: ignore[no-untyped-def]
    """Analyse a batch of PPG blocks; stop a channel after each beat. Returns the beats written to ``out``."""
    n_out = 0
    for s in range(rows.size):
        if done[s] or banks[s] != bank:
            continue
        r, a, b = rows[s], starts[s], ends[s]
        if a == b:  # an empty block: nothing to analyse
            done[s] = True
            continue
        if pos[s] == a:  # first visit: clean, filter, learn, keep the history
            st[r, H_LAST_ARRIVAL_S] = arrival[s]
            n_bad[s] = clean_segment(x, clean, a, b)
            for i in range(a, b):
                work[i] = sos_step(sos, zi, r, clean[i])
            if st[r, H_LEARNED] == 0.0:
                if not _learn(st, learn, r, t, work, a, b):
                    _history_add(st, hist_t, hist_x, r, t, clean, a, b, 1.0)
                    pos[s] = b
                else:  # learnt: polarity from the skew (sharp tops, broad bottoms), amplitude
                    n = int(st[r, H_LEARN_N])
                    settled = learn[r, n // 4 : n]
                    if st[r, H_POLARITY] == 0.0:
                        skew = 0.0
                        if settled.size > 8 and settled.max() > settled.min():
                            d = settled - settled.mean()
                            skew = np.mean(d**3) / np.mean(d**2) ** 1.5
                        st[r, H_POLARITY] = 2.0 if skew < 0 else 1.0
                    st[r, H_SIGN] = -1.0 if st[r, H_POLARITY] == 2.0 else 1.0
                    top = np.max(st[r, H_SIGN] * settled) if settled.size else 0.0
                    st[r, H_LEVEL] = max(top, 1e-12)
                    st[r, H_LEARNED] = 1.0
                    st[r, H_LAST_ACTIVITY_S] = t[b - 1]  # the level is fresh: not yet a pulse lost
            if st[r, H_LEARNED] > 0.0:
                sign = st[r, H_SIGN]
                largest = 0.0
                for i in range(a, b):
                    work[i] *= sign
                    largest = max(largest, abs(work[i]))
                _history_add(st, hist_t, hist_x, r, t, clean, a, b, sign)
                reference = st[r, H_TYPICAL] if st[r, H_TYPICAL] > 0.0 else st[r, H_LEVEL]
                st[r, H_EXCURSION] = largest / reference if reference > 0 else 0.0
                if st[r, H_EXCURSION] > 2.5:
                    st[r, H_NOISY_UNTIL_S] = t[b - 1] + 3.0  # motion: far larger swings than a pulse makes
        stopped = False
        for i in range(pos[s], b):
            ti, v = t[i], work[i]
            if ti - st[r, H_LAST_ACTIVITY_S] > 2.0:
                st[r, H_LEVEL] = max(0.6 * st[r, H_LEVEL], PPG_FLOOR * st[r, H_TYPICAL])  # lost the pulse (moved,
                # pressed): relax the threshold, but not into the noise of a lifted sensor
                st[r, H_LAST_ACTIVITY_S] = ti
            if st[r, H_ACTIVE] == 0.0:
                since_s = ti - st[r, H_LAST_BEAT_S]
                if v > 0.4 * st[r, H_LEVEL] and since_s > st[r, H_REFRACTORY_S]:
                    st[r, H_ACTIVE], st[r, H_CAND_V], st[r, H_CAND_T] = 1.0, v, ti
                    continue
                if since_s > SEARCH_BACK_FROM * st[r, H_MEDIAN_IBI_S] and v > st[r, H_BACK_V]:
                    st[r, H_BACK_V], st[r, H_BACK_T] = v, ti  # the largest pulse under the threshold so far
                if (st[r, H_REGULARITY] >= SEARCH_BACK_REGULARITY and since_s > SEARCH_BACK_AFTER * st[r, H_MEDIAN_IBI_S]
                        and st[r, H_BACK_V] > SEARCH_BACK_LEVEL * st[r, H_LEVEL] and v < 0.5 * st[r, H_BACK_V]):
                    # Search back: a pulse smaller than the threshold (after tall ones) is a beat.
                    n_out = _ppg_beat(st, hist_t, hist_x, r, s, st[r, H_BACK_T], st[r, H_BACK_V], ti, out, n_out)
                    pos[s] = i + 1
                    stopped = True
                    break
            elif v > st[r, H_CAND_V]:
                st[r, H_CAND_V], st[r, H_CAND_T] = v, ti
            elif v < 0.5 * st[r, H_CAND_V]:
                cand_v, cand_t = st[r, H_CAND_V], st[r, H_CAND_T]
                if cand_v < PPG_WEAK * st[r, H_LEVEL] and ti - cand_t < PPG_WEAK_WAIT_S and st[r, H_BEATS] > 3:
                    continue  # a weak pulse (a dicrotic wave?) waits: a taller one right behind takes its place
                n_out = _ppg_beat(st, hist_t, hist_x, r, s, cand_t, cand_v, ti, out, n_out)
                pos[s] = i + 1
                stopped = True
                break
        if not stopped:
            pos[s] = b
            _block_end(st, q, ring, r, t, clean, a, b, n_bad[s], False)
            done[s] = True
    return n_out


@njit(cache=True, nogil=True, error_model="numpy")
def _ecg_kernel(st, sos, zi, sos_clean, zi_clean, learn, hist_t, hist_x, hist_slope, win, q, ring, rows, banks, bank, starts, ends, pos, done, n_bad,
                arrival, t, x, clean, work, out):  # type: ignore[no-untyped-def]
    """Analyse a batch of ECG blocks; stop a channel after each beat. Returns the beats written to ``out``."""
    n_out = 0
    for s in range(rows.size):
        if done[s] or banks[s] != bank:
            continue
        r, a, b = rows[s], starts[s], ends[s]
        if a == b:  # an empty block: nothing to analyse
            done[s] = True
            continue
        if pos[s] == a:  # first visit: QRS slope energy, baseline-free ECG, learning
            st[r, H_LAST_ARRIVAL_S] = arrival[s]
            n_bad[s] = clean_segment(x, clean, a, b)
            width, write, total = int(st[r, H_WIN_LEN]), int(st[r, H_WIN_WRITE]), st[r, H_WIN_SUM]
            for i in range(a, b):
                qrs = sos_step(sos, zi, r, clean[i])
                slope = abs(qrs - st[r, H_PREV])
                st[r, H_PREV] = qrs
                total += slope - win[r, write]
                win[r, write] = slope
                write = write + 1 if write + 1 < width else 0
                if write == 0:  # once round the ring: add up afresh, so rounding never builds up
                    total = win[r, :width].sum()
                work[i] = total / width
                hist_slope[r, int(st[r, H_HIST_WRITE])] = slope  # beside the sample _history_push keeps next
                _history_push(st, hist_t, hist_x, r, t[i], sos_step(sos_clean, zi_clean, r, clean[i]))  # baseline-free
            st[r, H_WIN_WRITE], st[r, H_WIN_SUM] = write, total
            if st[r, H_LEARNED] == 0.0:
                if not _learn(st, learn, r, t, work, a, b):
                    pos[s] = b
                else:
                    learnt = learn[r, width : int(st[r, H_LEARN_N])]
                    st[r, H_LEVEL] = max(0.6 * learnt.max() if learnt.size else 0.0, 1e-12)
                    st[r, H_NOISE] = np.median(learnt) if learnt.size else 0.0
                    st[r, H_LEARNED] = 1.0
            if st[r, H_LEARNED] > 0.0:
                st[r, H_EXCURSION] = work[a:b].max() / st[r, H_LEVEL]
        stopped = False
        for i in range(pos[s], b):
            ti, f = t[i], work[i]
            if st[r, H_ACTIVE] == 0.0:
                noise, level = st[r, H_NOISE], st[r, H_LEVEL]
                if f > noise + 0.25 * (level - noise) and ti - st[r, H_LAST_BEAT_S] > st[r, H_REFRACTORY_S]:
                    st[r, H_ACTIVE], st[r, H_CAND_T], st[r, H_CAND_V], st[r, H_FIRST_T] = 1.0, ti, f, ti
                else:
                    st[r, H_NOISE] = noise + 0.001 * (f - noise)
            elif f > st[r, H_CAND_V]:
                st[r, H_CAND_T], st[r, H_CAND_V], st[r, H_CAND_APEX_S] = ti, f, np.nan
            else:
                cand_t, cand_v = st[r, H_CAND_T], st[r, H_CAND_V]
                if math.isnan(st[r, H_CAND_APEX_S]):
                    if ti < cand_t + APEX_AFTER_S:
                        continue
                    st[r, H_CAND_APEX_S], st[r, H_CAND_HEIGHT] = _apex(
                        st, hist_t, hist_x, r, cand_t - APEX_BEFORE_S, cand_t + APEX_AFTER_S, cand_t)
                # Reported a fixed time after the R apex (steady delay, whatever the
                # complex's width), and never before the feature has fallen for a while.
                wait = 1.0 if cand_v >= WEAK * st[r, H_LEVEL] else WEAK_WAIT
                if ti - st[r, H_CAND_APEX_S] < st[r, H_REPORT_S] or ti - cand_t < st[r, H_CONFIRM_S] * wait:
                    continue
                st[r, H_ACTIVE] = 0.0
                r_s, height = st[r, H_CAND_APEX_S], st[r, H_CAND_HEIGHT]
                first_t = st[r, H_FIRST_T]
                if cand_t - first_t > 0.1:
                    # The feature grew again after the complex that opened the candidate: when
                    # that first complex stands as tall, it is the beat, and the later one noise
                    # or a wide wave's tail (two R waves 100-200 ms apart cannot both be beats).
                    first_s, first_h = _apex(st, hist_t, hist_x, r, first_t - APEX_BEFORE_S, first_t + APEX_AFTER_S, first_t)
                    if r_s - first_s > 0.1 and first_h >= FIRST_TALL * height:
                        r_s = first_s
                if r_s - st[r, H_LAST_BEAT_S] < st[r, H_REFRACTORY_S]:
                    continue
                slope = _window_max(st, hist_t, hist_slope, r, r_s - SLOPE_SPAN_S, r_s + SLOPE_SPAN_S)
                if _soon_and_gentle(st, r, r_s, slope):
                    continue  # too soon and too gentle for a QRS: a T wave or noise, not a beat
                beat_slope = st[r, H_BEAT_SLOPE]
                st[r, H_BEAT_SLOPE] = slope if beat_slope == 0.0 else beat_slope + 0.125 * (min(slope, 3.0 * beat_slope) - beat_slope)
                st[r, H_LEVEL] += 0.125 * (min(cand_v, 3.0 * st[r, H_LEVEL]) - st[r, H_LEVEL])
                out[n_out, 0], out[n_out, 1], out[n_out, 2], out[n_out, 3] = s, r_s, ti, cand_v
                n_out += 1
                pos[s] = i + 1
                stopped = True
                break
        if not stopped:
            pos[s] = b
            _block_end(st, q, ring, r, t, clean, a, b, n_bad[s], True)
            done[s] = True
    return n_out


class HeartBank:
    """Every heart channel of one kind (PPG or ECG), analysed a batch at a time.

    Parameters
    ----------
    kind : {"ppg", "ecg"}
        The waveform.
    baseline_s : float
        Seconds after learning that define each channel's baseline; a channel
        with no beat for a while after it is in ``no_contact``.
    ppg_band_hz : tuple of float
        PPG band-pass edges in hertz.
    ppg_polarity : {"auto", "normal", "inverted"}
        PPG waveform polarity: ``inverted`` for sensors whose output falls as
        blood volume rises; ``auto`` decides per channel from the skew of the
        learning seconds (a pulse wave has sharp tops and broad bottoms).
    learn_s : float or None
        Seconds of signal used to learn amplitude (and polarity); default 4 s
        for PPG, 2 s for ECG.
    ecg_window_s : float
        ECG: length of the QRS slope moving average, seconds.
    ecg_report_s : float
        ECG: a beat is reported this long after its R apex, seconds (a steady
        delay, whatever the width of the complex).
    ecg_confirm_s : float
        ECG: the least time a candidate must stay the largest QRS energy before
        it is a beat, seconds.
    ecg_refractory_s : float
        ECG: minimum time between beats, seconds.
    number : int
        The bank's number in the batches it shares with other banks.
    """

    def __init__(
        self,
        kind: HeartKind,
        baseline_s: float = 10.0,
        ppg_band_hz: tuple[float, float] = (0.5, 5.0),
        ppg_polarity: Polarity = "auto",
        learn_s: float | None = None,
        ecg_window_s: float = 0.1,
        ecg_report_s: float = 0.24,
        ecg_confirm_s: float = 0.12,
        ecg_refractory_s: float = 0.2,
        number: int = 0,
    ) -> None:
        self.kind = kind
        self.number = number
        self.baseline_s = baseline_s
        self.ppg_band_hz = ppg_band_hz
        self.ppg_polarity = ppg_polarity
        self.learn_s = learn_s if learn_s is not None else (4.0 if kind == "ppg" else 2.0)
        self.ecg_window_s, self.ecg_confirm_s, self.ecg_refractory_s = ecg_window_s, ecg_confirm_s, ecg_refractory_s
        self.ecg_report_s = ecg_report_s
        self.series: list[BeatSeries] = []
        self.quality = QualityBank()
        self.state = np.zeros((0, H_COLUMNS))
        self._sos = np.zeros((0, 2, 5))
        self._zi = np.zeros((0, 2, 2))
        self._sos_clean = np.zeros((0, 1, 5))
        self._zi_clean = np.zeros((0, 1, 2))
        self._learn = np.zeros((0, 8))
        self._hist_t = np.zeros((0, 8))
        self._hist_x = np.zeros((0, 8))
        self._hist_slope = np.zeros((0, 8))  # ECG: the QRS band's absolute slope beside each kept sample
        self._win = np.zeros((0, 1))
        #: Asked about every candidate beat before the rhythm sees it: ``veto(row, time_s, reported_s)``
        #: True drops it (the signal core rejects PPG peaks that follow the wearer's movement).
        self.veto: Callable[[int, float, float], bool] | None = None

    def add(self, sampling_rate_hz: float, first_value: float) -> int:
        """Add a channel; ``first_value`` seeds its filters (no start transient). Returns its row."""
        rate = sampling_rate_hz
        row = np.full(H_COLUMNS, 0.0)
        row[[H_START_S, H_MEDIAN_IBI_S]] = math.nan
        row[[H_LAST_BEAT_S, H_NOISY_UNTIL_S, H_LAST_ARRIVAL_S]] = -math.inf
        row[H_BASELINE_UNTIL_S] = math.inf
        row[[H_LEARN_S, H_BASELINE_S, H_SIGN]] = self.learn_s, self.baseline_s, 1.0
        first = 0.0 if not math.isfinite(first_value) else first_value
        if self.kind == "ppg":
            low, high = self.ppg_band_hz
            sos, zi = butter_sos(2, (low, min(high, 0.45 * rate)), rate, "bandpass")
            clean, clean_zi = np.zeros((1, 5)), np.zeros((1, 2))
            row[H_POLARITY] = POLARITIES.index(self.ppg_polarity)
            row[H_REFRACTORY_S] = PPG_MIN_REFRACTORY_S
            span_s, row[H_APEX_WIDTH] = PPG_HISTORY_S, max(1, int(round(0.02 * rate)))
            series = BeatSeries(reject_short=True)
        else:
            sos, zi = butter_sos(2, (5.0, min(20.0, 0.45 * rate)), rate, "bandpass")
            # The R apex is looked for on a baseline-free but otherwise unfiltered ECG:
            # a low-pass would flatten the narrowest complexes below their neighbours.
            clean, clean_zi = butter_sos(2, 0.5, rate, "highpass")
            row[H_REFRACTORY_S], row[H_CONFIRM_S], row[H_REPORT_S] = self.ecg_refractory_s, self.ecg_confirm_s, self.ecg_report_s
            row[H_WIN_LEN] = max(1, int(round(self.ecg_window_s * rate)))
            span_s, row[H_APEX_WIDTH] = ECG_HISTORY_S, 1
            series = BeatSeries(reject_short=False, min_ibi_s=self.ecg_refractory_s)
        hist_cap = int(math.ceil(span_s * rate * 1.25)) + 64
        row[H_HIST_CAP] = hist_cap
        self.state = append_row(self.state, row)
        self._sos = append_row(self._sos, sos)
        self._zi = append_row(self._zi, zi * first)
        self._sos_clean = append_row(self._sos_clean, clean)
        self._zi_clean = append_row(self._zi_clean, clean_zi * first)
        self._learn = append_row(self._learn, np.zeros(int(math.ceil(self.learn_s * rate * 1.25)) + 64))
        self._hist_t = append_row(self._hist_t, np.zeros(hist_cap))
        self._hist_x = append_row(self._hist_x, np.zeros(hist_cap))
        self._hist_slope = append_row(self._hist_slope, np.zeros(hist_cap if self.kind == "ecg" else 1))
        self._win = append_row(self._win, np.zeros(int(row[H_WIN_LEN]) or 1))
        self.quality.add(rate, railing=True)
        self.series.append(series)
        return len(self.series) - 1

    def learning(self, row: int) -> bool:
        """True until the channel's amplitude (and polarity) has been learnt."""
        return self.state[row, H_LEARNED] == 0.0

    def polarity(self, row: int) -> Polarity:
        return POLARITIES[int(self.state[row, H_POLARITY])]

    def rebaseline(self, row: int) -> None:
        """The channel's baseline is learnt again from its next block on."""
        self.state[row, H_BASELINE_UNTIL_S] = math.inf

    def baseline_until_s(self, row: int) -> float:
        return float(self.state[row, H_BASELINE_UNTIL_S])

    def process(self, batch: Batch) -> list[tuple[int, Beat]]:
        """Analyse this bank's blocks of a batch; return ``(block index, beat)`` for every beat found, in order."""
        out = np.empty((batch.rows.size, 4))
        found: list[tuple[int, Beat]] = []
        st = self.state
        while True:  # a kernel stops a channel after each beat for its verdict; go on until none stops
            if self.kind == "ppg":
                n = _ppg_kernel(st, self._sos, self._zi, self._learn, self._hist_t, self._hist_x, self.quality.rows,
                                self.quality.ring, batch.rows, batch.banks, self.number, batch.starts, batch.ends, batch.pos, batch.done, batch.n_bad,
                                batch.arrival_s, batch.times_s, batch.values, batch.clean, batch.work, out)
            else:
                n = _ecg_kernel(st, self._sos, self._zi, self._sos_clean, self._zi_clean, self._learn, self._hist_t,
                                self._hist_x, self._hist_slope, self._win, self.quality.rows, self.quality.ring, batch.rows, batch.banks, self.number, batch.starts,
                                batch.ends, batch.pos, batch.done, batch.n_bad, batch.arrival_s, batch.times_s, batch.values,
                                batch.clean, batch.work, out)
            if n == 0:
                return found
            for k, time_s, reported_s, size in out[:n].tolist():
                block = int(k)
                r = int(batch.rows[block])
                if self.veto is not None and self.veto(r, time_s, reported_s):
                    continue
                series = self.series[r]
                beat = series.add(time_s, reported_s)
                if beat is None:
                    continue
                found.append((block, beat))
                median_s = series.median_ibi_s()
                st[r, H_LAST_BEAT_S], st[r, H_MEDIAN_IBI_S] = series.last_s, median_s
                st[r, H_BEATS], st[r, H_REGULARITY] = series.beats, series.regularity()
                if self.kind == "ppg":
                    st[r, H_REFRACTORY_S] = PPG_MIN_REFRACTORY_S if math.isnan(median_s) else max(PPG_MIN_REFRACTORY_S, 0.5 * median_s)
                    if beat.normal and reported_s >= st[r, H_NOISY_UNTIL_S]:
                        # the pulse amplitude of normal beats outside motion: motion cannot inflate it
                        typical = st[r, H_TYPICAL]
                        st[r, H_TYPICAL] = size if typical == 0.0 else 0.9 * typical + 0.1 * size

    def finish(self) -> list[tuple[int, Beat]]:
        """The end of the signal: every channel's pending candidate whose top has passed is a beat.

        Live, a candidate waits for its wave to fall (PPG) or for its report time (ECG);
        at the end of a file nothing more comes, so a candidate whose wave (the pulse,
        or the QRS energy) has passed its top before the last sample is reported now, with the last sample's time
        as ``reported_s``, if it passes the checks it would have passed (refractory
        time, the ECG slope rule). Returns ``(row, beat)`` pairs; the candidates are closed.
        """
        st = self.state
        found: list[tuple[int, Beat]] = []
        for r in range(st.shape[0]):
            if st[r, H_ACTIVE] == 0.0 or st[r, H_LEARNED] == 0.0 or st[r, H_HIST_COUNT] == 0.0:
                continue
            st[r, H_ACTIVE] = 0.0
            cap, write = int(st[r, H_HIST_CAP]), int(st[r, H_HIST_WRITE])
            last_s = float(self._hist_t[r, (write - 1) % cap])
            cand_t = float(st[r, H_CAND_T])
            if cand_t >= last_s:
                continue  # the pulse wave (the QRS energy) still rising at the last sample: no top yet
            if self.kind == "ppg":
                time_s = float(_pulse_apex_s(st, self._hist_t, self._hist_x, r, cand_t))
            else:
                time_s, _ = _apex(st, self._hist_t, self._hist_x, r, cand_t - APEX_BEFORE_S, cand_t + APEX_AFTER_S, cand_t)
                time_s = float(time_s)
                slope = _window_max(st, self._hist_t, self._hist_slope, r, time_s - SLOPE_SPAN_S, time_s + SLOPE_SPAN_S)
                if _soon_and_gentle(st, r, time_s, slope):
                    continue
            if time_s - st[r, H_LAST_BEAT_S] < st[r, H_REFRACTORY_S]:
                continue
            if self.veto is not None and self.veto(r, time_s, last_s):
                continue
            beat = self.series[r].add(time_s, last_s)
            if beat is not None:
                found.append((r, beat))
                st[r, H_LAST_BEAT_S] = self.series[r].last_s
        return found


class _SingleChannel:
    """One heart channel on a bank of its own (tests, tools)."""

    def __init__(self, bank: HeartBank, sampling_rate_hz: float) -> None:
        self._bank = bank
        self.sampling_rate_hz = sampling_rate_hz
        self.series = BeatSeries(reject_short=bank.kind == "ppg")

    def process(self, times_s: np.ndarray, values: np.ndarray) -> list[Beat]:
        """Feed one block of samples; return the beats it confirmed."""
        if values.size == 0:
            return []
        if not self._bank.series:
            self._bank.add(self.sampling_rate_hz, float(values[0]))
            self.series = self._bank.series[0]
        return [beat for _, beat in self._bank.process(Batch.single(times_s, values))]

    def finish(self) -> list[Beat]:
        """The end of the signal: the pending beat, if one would have been confirmed (see :meth:`HeartBank.finish`)."""
        return [beat for _, beat in self._bank.finish()]

    @property
    def learning(self) -> bool:
        return not self._bank.series or self._bank.learning(0)


class PpgBeatDetector(_SingleChannel):
    """Streaming systolic-peak detector for one PPG channel.

    A pulse opens a candidate above 0.4 of the running pulse level and is a beat
    once the wave falls to half its top (a weak one, under half the level, no sooner
    than 0.25 s after its top: a taller pulse right behind it takes its place). When 1.5 running intervals pass with no
    beat (in a regular rhythm), the largest pulse since the last beat is searched
    back with a lower threshold (0.3 of the level) and reported then.

    Parameters
    ----------
    sampling_rate_hz : float
        Nominal sampling rate in hertz (25 Hz and up).
    band_hz : tuple of float
        Band-pass edges in hertz.
    polarity : {"auto", "normal", "inverted"}
        See :class:`HeartBank`.
    learn_s : float
        Seconds of signal used to learn amplitude (and polarity) before detecting.
    """

    def __init__(self, sampling_rate_hz: float, band_hz: tuple[float, float] = (0.5, 5.0), polarity: Polarity = "auto",
                 learn_s: float = 4.0) -> None:
        super().__init__(HeartBank("ppg", ppg_band_hz=band_hz, ppg_polarity=polarity, learn_s=learn_s), sampling_rate_hz)

    @property
    def polarity(self) -> Polarity:
        """The polarity in use (``auto`` until it is learnt)."""
        return self._bank.polarity(0) if self._bank.series else self._bank.ppg_polarity


class EcgBeatDetector(_SingleChannel):
    """Streaming R-peak detector for one ECG channel.

    The QRS feature is the moving average of the absolute slope of a 5-20 Hz
    band-pass. A candidate opens above ``noise + 0.25 * (signal - noise)`` (running
    levels, Pan-Tompkins style); the R peak is the apex of the ECG (less its
    baseline) just before the feature maximum. A candidate 200-360 ms after the
    last beat (or sooner than 0.7 of the running interval) whose steepest slope is
    under half the running slope of the beats' complexes is a T wave or noise
    (Pan-Tompkins' rule), not a beat. The beat is reported
    ``report_s`` after it (and at least ``confirm_s`` after the feature maximum),
    so the report delay is steady.

    Parameters
    ----------
    sampling_rate_hz : float
        Nominal sampling rate in hertz.
    window_s : float
        Length of the slope moving average, seconds.
    report_s : float
        Delay from the R apex to the beat's report, seconds.
    confirm_s : float
        The least time a candidate must stay the largest before it is a beat, seconds.
    refractory_s : float
        Minimum time between beats, seconds.
    learn_s : float
        Seconds of signal used to learn the levels before detecting.
    """

    def __init__(self, sampling_rate_hz: float, window_s: float = 0.1, report_s: float = 0.24, confirm_s: float = 0.12,
                 refractory_s: float = 0.2, learn_s: float = 2.0) -> None:
        super().__init__(HeartBank("ecg", learn_s=learn_s, ecg_window_s=window_s, ecg_report_s=report_s,
                                   ecg_confirm_s=confirm_s, ecg_refractory_s=refractory_s), sampling_rate_hz)
