"""Causal heartbeat detection from PPG and ECG, block by block.

Both detectors band-pass the signal, follow a feature wave (the pulse wave for
PPG, the QRS energy for ECG) above an adaptive threshold, confirm a beat a fixed
time after the feature's maximum, and place the beat on the apex of the lightly
filtered signal (the systolic peak, the R peak). Interval plausibility, heart
rate, HRV and the next-beat prediction live in :class:`~installation.dsp.rhythm.BeatSeries`.

Any sampling rate from 25 Hz to a few kHz and any units work: thresholds adapt to
the signal's own amplitude. Timestamps may be irregular (coarse clock ticks);
filters assume the nominal rate and beats take the timestamps of their samples.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from scipy import signal, stats

from installation.dsp.filters import StreamingSos, butter_bandpass
from installation.dsp.rhythm import Beat, BeatSeries

Polarity = Literal["auto", "normal", "inverted"]

#: An ECG candidate weaker than this share of the running QRS level waits
#: ``WEAK_WAIT`` times longer before it counts, so that a true QRS right behind a
#: noise bump can still take its place.
WEAK = 0.5
WEAK_WAIT = 1.3


class _RawHistory:
    """The last ``span_s`` seconds of a signal, for placing beats on its apex."""

    def __init__(self, span_s: float) -> None:
        self.span_s = span_s
        self.t = np.empty(0)
        self.x = np.empty(0)

    def add(self, t: np.ndarray, x: np.ndarray) -> None:
        self.t = np.concatenate([self.t, t])
        self.x = np.concatenate([self.x, x])
        if self.t.size > 64 and self.t[0] < self.t[-1] - self.span_s:
            keep = self.t >= self.t[-1] - self.span_s
            self.t, self.x = self.t[keep], self.x[keep]

    def apex(self, start_s: float, end_s: float, smooth_s: float, rate_hz: float) -> float | None:
        """Time of the maximum in ``[start_s, end_s]`` after a ``smooth_s`` moving average."""
        window = (self.t >= start_s) & (self.t <= end_s)
        if not window.any():
            return None
        times, x = self.t[window], self.x[window]
        width = max(1, int(round(smooth_s * rate_hz)))
        if width > 1 and x.size > width:
            smoothed = np.convolve(x, np.ones(width) / width, mode="valid")  # no zero padding at the edges
            return float(times[int(np.argmax(smoothed)) + width // 2])
        return float(times[int(np.argmax(x))])


class PpgBeatDetector:
    """Streaming systolic-peak detector for one PPG channel.

    Parameters
    ----------
    sampling_rate_hz : float
        Nominal sampling rate in hertz (25 Hz and up).
    band_hz : tuple of float
        Band-pass edges in hertz.
    polarity : {"auto", "normal", "inverted"}
        ``inverted`` for sensors whose output falls as blood volume rises;
        ``auto`` decides from the skew of the first ``learn_s`` seconds (a pulse
        wave has sharp tops and broad bottoms).
    learn_s : float
        Seconds of signal used to learn amplitude (and polarity) before detecting.
    """

    def __init__(
        self,
        sampling_rate_hz: float,
        band_hz: tuple[float, float] = (0.5, 5.0),
        polarity: Polarity = "auto",
        learn_s: float = 4.0,
    ) -> None:
        self.sampling_rate_hz = sampling_rate_hz
        self.polarity: Polarity = polarity
        self.learn_s = learn_s
        self._bandpass = butter_bandpass(band_hz[0], band_hz[1], sampling_rate_hz)
        self._history = _RawHistory(2.0)
        self._learn: list[np.ndarray] = []
        self._start_s: float | None = None
        self._sign = 1.0
        self._peak_level = 0.0
        self._in_pulse = False
        self._cand_max = 0.0
        self._cand_t = 0.0
        self._last_activity_s = 0.0
        self.series = BeatSeries(reject_short=True)
        self.excursion = 0.0  # largest |band-passed| in the last block, in units of the typical pulse
        self._typical = 0.0  # pulse amplitude of normal beats outside motion: motion cannot inflate it
        self.noisy_until_s = -np.inf

    @property
    def learning(self) -> bool:
        """True until the amplitude (and polarity) has been learnt."""
        return self._peak_level <= 0.0

    def process(self, times_s: np.ndarray, values: np.ndarray) -> list[Beat]:
        """Feed one block of samples; return the beats it confirmed."""
        if values.size == 0:
            return []
        filtered = self._bandpass.process(values.astype(float))
        if self._start_s is None:
            self._start_s = float(times_s[0])
        if self.learning:
            self._learn.append(filtered)
            if times_s[-1] - self._start_s < self.learn_s:
                self._history.add(times_s, values.astype(float))
                return []
            self._finish_learning()
        x = self._sign * filtered
        self._history.add(times_s, self._sign * values.astype(float))
        reference = self._typical or self._peak_level
        self.excursion = float(np.abs(x).max()) / reference if reference > 0 else 0.0
        if self.excursion > 2.5:
            self.noisy_until_s = float(times_s[-1]) + 3.0  # motion: far larger swings than a pulse makes
        found: list[Beat] = []
        for t, v in zip(times_s.tolist(), x.tolist()):
            if t - self._last_activity_s > 2.0:
                self._peak_level *= 0.6  # lost the pulse (moved, pressed): relax the threshold
                self._last_activity_s = t
            threshold = 0.4 * self._peak_level
            if not self._in_pulse:
                if v > threshold and t - self.series.last_s > self._refractory_s():
                    self._in_pulse, self._cand_max, self._cand_t = True, v, t
            elif v > self._cand_max:
                self._cand_max, self._cand_t = v, t
            elif v < 0.5 * self._cand_max:
                self._in_pulse = False
                self._last_activity_s = t
                self._peak_level = 0.8 * self._peak_level + 0.2 * min(self._cand_max, 2.0 * self._peak_level)
                apex = self._history.apex(self._cand_t - 0.2, self._cand_t + 0.02, 0.02, self.sampling_rate_hz)
                beat = self.series.add(self._cand_t if apex is None else apex, t)
                if beat is not None:
                    found.append(beat)
                    if beat.normal and t >= self.noisy_until_s:
                        self._typical = self._cand_max if not self._typical else 0.9 * self._typical + 0.1 * self._cand_max
        return found

    def _finish_learning(self) -> None:
        learnt = np.concatenate(self._learn)
        self._learn.clear()
        settled = learnt[learnt.size // 4 :]  # skip the filter's start
        if self.polarity == "auto":
            skew = float(stats.skew(settled)) if settled.size > 8 and np.ptp(settled) > 0 else 0.0
            self.polarity = "inverted" if skew < 0 else "normal"
        self._sign = -1.0 if self.polarity == "inverted" else 1.0
        self._peak_level = max(float(np.max(self._sign * settled)) if settled.size else 0.0, 1e-12)

    def _refractory_s(self) -> float:
        median_s = self.series.median_ibi_s()
        return max(0.27, 0.5 * median_s) if not math.isnan(median_s) else 0.27


class EcgBeatDetector:
    """Streaming R-peak detector for one ECG channel.

    The QRS feature is the moving average of the absolute slope of a 5-20 Hz
    band-pass. A candidate opens above ``noise + 0.25 * (signal - noise)`` (running
    levels, Pan-Tompkins style) and is confirmed ``confirm_s`` after its maximum,
    so the report delay is steady; the R peak is the apex of the ECG (less its
    baseline) just before the feature maximum.

    Parameters
    ----------
    sampling_rate_hz : float
        Nominal sampling rate in hertz.
    window_s : float
        Length of the slope moving average, seconds.
    confirm_s : float
        How long a candidate must stay the largest before it is a beat, seconds.
    refractory_s : float
        Minimum time between beats, seconds.
    learn_s : float
        Seconds of signal used to learn the levels before detecting.
    """

    def __init__(
        self,
        sampling_rate_hz: float,
        window_s: float = 0.1,
        confirm_s: float = 0.16,
        refractory_s: float = 0.2,
        learn_s: float = 2.0,
    ) -> None:
        self.sampling_rate_hz = sampling_rate_hz
        nyquist = sampling_rate_hz / 2.0
        self._qrs = StreamingSos(signal.butter(2, [5.0 / nyquist, min(20.0, 0.45 * sampling_rate_hz) / nyquist], "bandpass", output="sos"))
        # The R apex is looked for on a baseline-free but otherwise unfiltered ECG:
        # a low-pass would flatten the narrowest complexes below their neighbours.
        self._clean = StreamingSos(signal.butter(2, 0.5 / nyquist, "highpass", output="sos"))
        self._window = max(1, int(round(window_s * sampling_rate_hz)))
        self._tail = np.zeros(self._window)
        self._prev = 0.0
        self.confirm_s = confirm_s
        self.refractory_s = refractory_s
        self.learn_s = learn_s
        self._history = _RawHistory(1.0)
        self._learn: list[np.ndarray] = []
        self._start_s: float | None = None
        self._signal_level = 0.0
        self._noise_level = 0.0
        self._cand: tuple[float, float] | None = None
        self.series = BeatSeries(reject_short=False, min_ibi_s=refractory_s)
        self.excursion = 0.0

    @property
    def learning(self) -> bool:
        return self._signal_level <= 0.0

    def _feature(self, values: np.ndarray) -> np.ndarray:
        qrs = self._qrs.process(values)
        slope = np.abs(np.diff(np.concatenate([[self._prev], qrs])))
        self._prev = float(qrs[-1])
        extended = np.concatenate([self._tail, slope])
        sums = np.cumsum(extended)
        feature = (sums[self._window :] - sums[: -self._window]) / self._window
        feature[0] = sums[self._window] / self._window if feature.size else 0.0  # cumsum starts at the first tail value
        self._tail = extended[-self._window :]
        return feature

    def process(self, times_s: np.ndarray, values: np.ndarray) -> list[Beat]:
        """Feed one block of samples; return the beats it confirmed."""
        if values.size == 0:
            return []
        x = values.astype(float)
        feature = self._feature(x)
        self._history.add(times_s, self._clean.process(x))
        if self._start_s is None:
            self._start_s = float(times_s[0])
        if self.learning:
            self._learn.append(feature)
            if times_s[-1] - self._start_s < self.learn_s:
                return []
            learnt = np.concatenate(self._learn)[self._window :]
            self._learn.clear()
            self._signal_level = max(0.6 * float(learnt.max()) if learnt.size else 0.0, 1e-12)
            self._noise_level = float(np.median(learnt)) if learnt.size else 0.0
        self.excursion = float(feature.max()) / self._signal_level
        found: list[Beat] = []
        for t, f in zip(times_s.tolist(), feature.tolist()):
            if self._cand is None:
                threshold = self._noise_level + 0.25 * (self._signal_level - self._noise_level)
                if f > threshold and t - self.series.last_s > self.refractory_s:
                    self._cand = (t, f)
                else:
                    self._noise_level += 0.001 * (f - self._noise_level)
            elif f > self._cand[1]:
                self._cand = (t, f)
            elif t - self._cand[0] >= self.confirm_s * (1.0 if self._cand[1] >= WEAK * self._signal_level else WEAK_WAIT):
                cand_t, cand_f = self._cand
                self._cand = None
                apex = self._history.apex(cand_t - 0.15, cand_t + 0.03, 0.0, self.sampling_rate_hz)
                r_s = cand_t if apex is None else apex
                if r_s - self.series.last_s < self.refractory_s:
                    continue
                self._signal_level += 0.125 * (min(cand_f, 3.0 * self._signal_level) - self._signal_level)
                beat = self.series.add(r_s, t)
                if beat is not None:
                    found.append(beat)
        return found
