"""Causal PPG beat detection and heart rate, block by block.

The detector band-passes the pulse wave, opens a pulse when the filtered signal
crosses an adaptive threshold, follows it to its maximum, and confirms the beat
once the wave has fallen back to half of that maximum. The beat time is then
refined to the apex of the (polarity-corrected) raw wave, which the band-pass
delays. Implausible intervals (double detections such as the dicrotic wave,
missed beats) are kept out of the heart-rate estimate.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from installation.dsp.filters import butter_bandpass

MIN_IBI_S = 60.0 / 220.0
MAX_IBI_S = 60.0 / 30.0


@dataclass(frozen=True, slots=True)
class Beat:
    """One detected heartbeat.

    Attributes
    ----------
    time_s : float
        Estimated systolic-peak time in seconds (source clock).
    reported_s : float
        Source-clock time in seconds of the sample that confirmed it.
    ibi_s : float
        Interval since the previous beat in seconds (``nan`` for the first).
    bpm : float
        Heart rate in beats per minute after this beat (``nan`` until known).
    """

    time_s: float
    reported_s: float
    ibi_s: float
    bpm: float


class PpgBeatDetector:
    """Streaming systolic-peak detector for one PPG channel.

    Parameters
    ----------
    sampling_rate_hz : float
        Nominal sampling rate in hertz.
    band_hz : tuple of float
        Band-pass edges in hertz.
    inverted : bool
        True for sensors whose waveform falls as blood volume rises.
    learn_s : float
        Seconds of signal used to learn the pulse amplitude before detecting.
    """

    def __init__(
        self,
        sampling_rate_hz: float,
        band_hz: tuple[float, float] = (0.5, 5.0),
        inverted: bool = False,
        learn_s: float = 1.5,
    ) -> None:
        self.sampling_rate_hz = sampling_rate_hz
        self.polarity = -1.0 if inverted else 1.0
        self.learn_s = learn_s
        self._bandpass = butter_bandpass(band_hz[0], band_hz[1], sampling_rate_hz)
        self._start_s: float | None = None
        self._peak_level = 0.0
        self._in_pulse = False
        self._cand_max = 0.0
        self._cand_t = 0.0
        self._last_beat_s = -np.inf
        self._last_activity_s = 0.0
        self._ibis_s: deque[float] = deque(maxlen=8)
        self._rejected_in_row = 0
        self._raw_t = np.empty(0)
        self._raw_x = np.empty(0)
        self.beats: list[Beat] = []
        self.bpm = float("nan")

    def process(self, times_s: np.ndarray, values: np.ndarray) -> list[Beat]:
        """Feed one block of samples; return the beats confirmed by it."""
        if values.size == 0:
            return []
        raw = self.polarity * values.astype(float)
        filtered = self._bandpass.process(raw)
        self._remember_raw(times_s, raw)
        if self._start_s is None:
            self._start_s = float(times_s[0])
            self._last_activity_s = self._start_s
        found: list[Beat] = []
        for t, x in zip(times_s.tolist(), filtered.tolist()):
            if t - self._start_s < self.learn_s:
                self._peak_level = max(self._peak_level, x)
                continue
            if t - self._last_activity_s > 2.0:
                # Lost the pulse (sensor moved, amplitude dropped): relax the threshold.
                self._peak_level *= 0.6
                self._last_activity_s = t
            threshold = 0.4 * self._peak_level
            if not self._in_pulse:
                if x > threshold and t - self._last_beat_s > self._refractory_s():
                    self._in_pulse, self._cand_max, self._cand_t = True, x, t
            elif x > self._cand_max:
                self._cand_max, self._cand_t = x, t
            elif x < 0.5 * self._cand_max:
                self._in_pulse = False
                self._last_activity_s = t
                self._peak_level = 0.8 * self._peak_level + 0.2 * min(self._cand_max, 2.0 * self._peak_level)
                beat = self._accept(self._refine(self._cand_t), t)
                if beat is not None:
                    found.append(beat)
        return found

    def _refractory_s(self) -> float:
        if len(self._ibis_s) >= 3:
            return max(MIN_IBI_S, 0.5 * float(np.median(self._ibis_s)))
        return MIN_IBI_S

    def _remember_raw(self, times_s: np.ndarray, raw: np.ndarray) -> None:
        self._raw_t = np.concatenate([self._raw_t, times_s])
        self._raw_x = np.concatenate([self._raw_x, raw])
        keep = self._raw_t >= self._raw_t[-1] - 1.5
        self._raw_t, self._raw_x = self._raw_t[keep], self._raw_x[keep]

    def _refine(self, filtered_peak_s: float) -> float:
        """Move a peak of the band-passed wave to the apex of the raw wave before it."""
        window = (self._raw_t >= filtered_peak_s - 0.2) & (self._raw_t <= filtered_peak_s + 0.02)
        if not window.any():
            return filtered_peak_s
        times, x = self._raw_t[window], self._raw_x[window]
        width = max(1, int(round(0.02 * self.sampling_rate_hz)))
        if width > 1 and x.size > width:
            # 20 ms moving average ("valid": no zero padding pulling the edges).
            smoothed = np.convolve(x, np.ones(width) / width, mode="valid")
            return float(times[int(np.argmax(smoothed)) + width // 2])
        return float(times[int(np.argmax(x))])

    def _accept(self, time_s: float, reported_s: float) -> Beat | None:
        ibi_s = time_s - self._last_beat_s
        if ibi_s < MIN_IBI_S:
            return None  # a second peak inside one beat: not a beat
        median_s = float(np.median(self._ibis_s)) if len(self._ibis_s) >= 3 else None
        if median_s is not None and ibi_s < 0.6 * median_s:
            self._rejected_in_row += 1
            return None  # double detection (dicrotic wave, noise spike)
        plausible = ibi_s <= MAX_IBI_S and (median_s is None or ibi_s <= 1.6 * median_s)
        if plausible:
            self._ibis_s.append(ibi_s)
            self._rejected_in_row = 0
        else:
            self._rejected_in_row += 1
            if self._rejected_in_row >= 3:
                self._ibis_s.clear()  # the rhythm really changed: start over
        if len(self._ibis_s) >= 2:
            self.bpm = 60.0 / float(np.median(self._ibis_s))
        self._last_beat_s = time_s
        beat = Beat(time_s, reported_s, ibi_s if np.isfinite(ibi_s) else float("nan"), self.bpm)
        self.beats.append(beat)
        return beat
