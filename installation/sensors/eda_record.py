"""A long synthetic skin-conductance record whose responses are known, to score SCR detectors.

Each response is a Bateman function (the difference of two exponentials, the shape
the skin's sweat-duct model gives) with its own rise and recovery; they arrive at
random (some on the recovery of the one before), with amplitudes spread from
below the usual 0.05 uS criterion to 1 uS, on a tonic level that drifts over
minutes, with a breathing ripple and sensor noise. Everything comes from one
seeded generator, so a seed always gives the same record.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class SyntheticEda:
    """A synthetic record and its responses.

    Attributes
    ----------
    times_s, values_us : numpy.ndarray
        Sample times in seconds and skin conductance in microsiemens.
    onset_s, peak_s, amplitude_us : numpy.ndarray
        Each response's start, the top of its own curve, and its height in
        microsiemens (above whatever it started on), in time order.
    """

    times_s: np.ndarray
    values_us: np.ndarray
    onset_s: np.ndarray
    peak_s: np.ndarray
    amplitude_us: np.ndarray

    @property
    def sampling_rate_hz(self) -> float:
        return (self.times_s.size - 1) / float(self.times_s[-1] - self.times_s[0])


def bateman_peak_s(rise_tau_s: float, decay_tau_s: float) -> float:
    """Time from onset to the top of ``exp(-t/decay_tau_s) - exp(-t/rise_tau_s)``."""
    return math.log(decay_tau_s / rise_tau_s) * rise_tau_s * decay_tau_s / (decay_tau_s - rise_tau_s)


def bateman(t_s: np.ndarray, rise_tau_s: float, decay_tau_s: float) -> np.ndarray:
    """A response of height 1 starting at ``t_s = 0`` (zero before)."""
    t = np.clip(t_s, 0.0, None)
    top = bateman_peak_s(rise_tau_s, decay_tau_s)
    height = math.exp(-top / decay_tau_s) - math.exp(-top / rise_tau_s)
    return (np.exp(-t / decay_tau_s) - np.exp(-t / rise_tau_s)) / height


def synthetic_eda(seconds: float = 1500.0, sampling_rate_hz: float = 32.0, seed: int = 16,
                  mean_interval_s: float = 8.0, noise_us: float = 0.004) -> SyntheticEda:
    """A record of ``seconds`` at ``sampling_rate_hz`` with known responses.

    Parameters
    ----------
    seconds : float
        Length of the record.
    sampling_rate_hz : float
        Samples per second.
    seed : int
        Seed of the record's own random generator.
    mean_interval_s : float
        Mean time between response onsets (at least 1.5 s apart, so many start
        on the recovery of the one before).
    noise_us : float
        Standard deviation of the white sensor noise in microsiemens.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(0.0, seconds, 1.0 / sampling_rate_hz)
    onsets, peaks, amplitudes = [], [], []
    phasic = np.zeros_like(t)
    onset = float(rng.uniform(5.0, 15.0))
    while onset < seconds - 10.0:
        rise_tau_s = float(rng.uniform(0.5, 1.0))
        decay_tau_s = float(rng.uniform(2.0, 6.0))
        amplitude = float(np.exp(rng.uniform(math.log(0.02), math.log(1.0))))  # as many 0.02-0.1 as 0.2-1 uS
        near = (t >= onset) & (t < onset + 12.0 * decay_tau_s)
        phasic[near] += amplitude * bateman(t[near] - onset, rise_tau_s, decay_tau_s)
        onsets.append(onset)
        peaks.append(onset + bateman_peak_s(rise_tau_s, decay_tau_s))
        amplitudes.append(amplitude)
        onset += 1.5 + float(rng.exponential(mean_interval_s - 1.5))
    # Tonic level: 5 uS drifting by about 1 uS over minutes (a smoothed random walk), a
    # breathing ripple of 0.01 uS peak to peak, and sensor noise.
    walk = np.cumsum(rng.normal(0.0, 1.0, size=t.size))
    kernel = np.exp(-np.arange(int(60.0 * sampling_rate_hz)) / (20.0 * sampling_rate_hz))
    drift = np.convolve(walk - walk.mean(), kernel / kernel.sum(), mode="same")
    drift *= 1.0 / max(1e-9, float(np.ptp(drift)))
    breathing_hz = 0.25 + 0.03 * np.sin(2.0 * math.pi * t / 300.0)
    breathing = 0.005 * np.sin(2.0 * math.pi * np.cumsum(breathing_hz) / sampling_rate_hz)
    values = 5.0 + drift + phasic + breathing + rng.normal(0.0, noise_us, size=t.size)
    return SyntheticEda(t, values, np.array(onsets), np.array(peaks), np.array(amplitudes))
