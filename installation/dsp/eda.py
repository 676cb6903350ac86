"""Causal skin-conductance analysis: tonic level (SCL), phasic part, skin-conductance
responses (SCRs) as events, and an arousal value relative to the wearer's baseline."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import signal

from installation.dsp.filters import OnePole, StreamingSos

#: Seconds the phasic high-pass needs to settle before SCRs are trusted
#: (about 1.5 time constants of its 0.05 Hz corner).
PHASIC_SETTLE_S = 5.0
#: The response detector runs on the phasic signal decimated to about this rate.
DETECT_RATE_HZ = 25.0


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


class EdaTracker:
    """Streaming SCL, phasic component, SCRs and arousal for one EDA channel.

    Responses are found on a causal 0.05 Hz high-pass of the 3 Hz low-passed
    signal (the decomposition NeuroKit2 uses offline): a rise from a local
    minimum to a maximum, confirmed once it falls back by a tenth or stops
    rising for half a second.

    Parameters
    ----------
    sampling_rate_hz : float
        Nominal sampling rate in hertz.
    baseline_s : float
        Seconds that define this wearer's resting level (from the start, or from
        :meth:`rebaseline`); arousal is 0.5 at that level.
    min_amplitude : float
        Smallest SCR amplitude in the signal's units; default: 0.01 uS for
        microsiemens, else 0.5 % of the resting level (0.05 uS at 10 uS, the
        top of the usual 0.01-0.05 uS criteria).
    relative_amplitude : float
        An SCR must also reach this fraction of the largest SCR of the last minute.
    """

    def __init__(
        self,
        sampling_rate_hz: float,
        baseline_s: float = 10.0,
        min_amplitude: float | None = None,
        relative_amplitude: float = 0.1,
    ) -> None:
        self.sampling_rate_hz = sampling_rate_hz
        self.baseline_s = baseline_s
        self.min_amplitude = min_amplitude
        self.relative_amplitude = relative_amplitude
        nyquist = sampling_rate_hz / 2.0
        self._clean = StreamingSos(signal.butter(2, min(3.0, 0.45 * sampling_rate_hz) / nyquist, output="sos"))
        self._highpass = StreamingSos(signal.butter(1, 0.05 / nyquist, "highpass", output="sos"))
        self._scl = OnePole(2.0, sampling_rate_hz)
        self._fast = OnePole(0.3, sampling_rate_hz)
        # The phasic level is measured above a floor that follows falls within a
        # second and rises over half a minute, so a response stands out (and
        # stays up while it lasts) even on a drifting level.
        self._floor_fall = 1.0 - math.exp(-1.0 / (1.0 * sampling_rate_hz))
        self._floor_rise = 1.0 - math.exp(-1.0 / (30.0 * sampling_rate_hz))
        self._floor: float | None = None
        self._step = max(1, int(round(sampling_rate_hz / DETECT_RATE_HZ)))
        self._phase = 0
        self._start_s: float | None = None
        self._baseline_from_s: float | None = None
        self._baseline_sum = 0.0
        self._baseline_n = 0
        self._rising = False
        self._low = (0.0, math.inf)  # (time, value) of the lowest phasic since the last peak
        self._onset = (0.0, 0.0)
        self._peak = (0.0, -math.inf)
        self._recent_amplitudes: list[tuple[float, float]] = []
        self.scl = math.nan
        self.phasic = 0.0
        self.arousal = 0.5
        self.responses = 0
        self.last_scr: Scr | None = None

    @property
    def baseline(self) -> float:
        """Resting level in the signal's units (``nan`` until the first sample)."""
        return self._baseline_sum / self._baseline_n if self._baseline_n else math.nan

    def rebaseline(self) -> None:
        """Start learning the resting level again from the next sample."""
        self._baseline_from_s = None
        self._baseline_sum, self._baseline_n = 0.0, 0
        self._floor = None  # responses are measured from the present level on

    def process(self, times_s: np.ndarray, values: np.ndarray) -> list[Scr]:
        """Feed one block of samples; return the responses it confirmed."""
        if values.size == 0:
            return []
        x = values.astype(float)
        if self._start_s is None:
            self._start_s = float(times_s[0])
        if self._baseline_from_s is None:
            self._baseline_from_s = float(times_s[0])
        scl = self._scl.process(x)
        clean = self._clean.process(x)
        phasic = self._highpass.process(clean)
        in_baseline = (times_s - self._baseline_from_s) < self.baseline_s
        if in_baseline.any():
            self._baseline_sum += float(scl[in_baseline].sum())
            self._baseline_n += int(in_baseline.sum())
        self.scl = float(scl[-1])
        fast = self._fast.process(x)
        floor = self._floor if self._floor is not None else float(fast[0])
        fall, rise = self._floor_fall, self._floor_rise
        for v in fast[:: max(1, self._step // 4)].tolist():
            floor += (v - floor) * (fall if v < floor else rise) * max(1, self._step // 4)
        self._floor = floor
        self.phasic = max(0.0, float(fast[-1]) - floor)
        found = self._detect(times_s, phasic)
        base = self.baseline
        tonic_z = (self.scl - base) / max(0.10 * abs(base), 1e-9)
        phasic_z = self.phasic / max(0.05 * abs(base), 1e-9)
        self.arousal = 1.0 / (1.0 + math.exp(-2.0 * max(-20.0, min(20.0, tonic_z + phasic_z))))
        return found

    def _detect(self, times_s: np.ndarray, phasic: np.ndarray) -> list[Scr]:
        first = (self._step - self._phase) % self._step
        self._phase = (self._phase + phasic.size) % self._step
        found: list[Scr] = []
        assert self._start_s is not None
        for t, v in zip(times_s[first :: self._step].tolist(), phasic[first :: self._step].tolist()):
            if not self._rising:
                if v < self._low[1]:
                    self._low = (t, v)
                elif v > self._low[1]:
                    self._rising, self._onset, self._peak = True, self._low, (t, v)
            elif v >= self._peak[1]:
                self._peak = (t, v)
            elif self._peak[1] - v > 0.1 * (self._peak[1] - self._onset[1]) or t - self._peak[0] > 0.5:
                scr = self._judge(t)
                if scr is not None:
                    found.append(scr)
                self._rising, self._low = False, (t, v)
        return found

    def _judge(self, now_s: float) -> Scr | None:
        amplitude = self._peak[1] - self._onset[1]
        self._recent_amplitudes = [(t, a) for t, a in self._recent_amplitudes if t > now_s - 60.0]
        largest = max((a for _, a in self._recent_amplitudes), default=0.0)
        self._recent_amplitudes.append((now_s, amplitude))
        assert self._start_s is not None
        if self._onset[0] - self._start_s < PHASIC_SETTLE_S:
            return None
        floor = self.min_amplitude if self.min_amplitude is not None else 0.005 * abs(self.baseline)
        if amplitude < max(floor, self.relative_amplitude * largest):
            return None
        scr = Scr(self._onset[0], self._peak[0], amplitude, self._peak[0] - self._onset[0], now_s)
        self.responses += 1
        self.last_scr = scr
        return scr
