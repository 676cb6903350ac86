"""Synthetic lighting streams for flash-safety tests and benchmarks: hearts and group flares.

Pure numpy. A stream is an array of fixture brightness 0..1, shape (frames,
fixtures), sampled at ``rate_hz``: what a rig would want its fixtures to show
before the flash limiter, in the worst case the show allows (every wearer at
180 bpm, flares faster than anyone should see them).
"""

from __future__ import annotations

import numpy as np

#: A wash's level between beats, and how fast its flare on a beat fades (seconds).
REST_LEVEL = 0.15
PULSE_DECAY_S = 0.12


def pulse_train(times_s: np.ndarray, period_s: float, phase_s: float = 0.0, decay_s: float = PULSE_DECAY_S,
                rest: float = REST_LEVEL) -> np.ndarray:
    """A light that jumps to full on every beat (one every ``period_s``, the first at ``phase_s``) and fades.

    Parameters
    ----------
    times_s : ndarray
        Frame times in seconds.
    period_s : float
        Seconds between beats (180 bpm: 1/3 s).
    phase_s : float
        Time of the first beat.
    decay_s : float
        Time constant of the fade.
    rest : float
        Level between beats.
    """
    since_s = (times_s - phase_s) % period_s
    level = rest + (1.0 - rest) * np.exp(-since_s / decay_s)
    return np.where(times_s >= phase_s, level, rest)


def rig_storm(rate_hz: float = 40.0, seconds: float = 6.0, hearts: int = 8, bpm: float = 180.0,
              flare_hz: float = 4.0, flare_from_s: float = 2.0) -> np.ndarray:
    """``hearts`` washes, each pulsing with its own heart at ``bpm`` (out of phase), and a group
    flare on all of them ``flare_hz`` times a second from ``flare_from_s`` on.

    Returns
    -------
    ndarray, shape (frames, hearts)
        Wanted brightness 0..1 of each wash, ``1/rate_hz`` apart.
    """
    t = np.arange(int(round(seconds * rate_hz))) / rate_hz
    period_s = 60.0 / bpm
    washes = np.stack([pulse_train(t, period_s, phase_s=i * period_s / hearts) for i in range(hearts)], axis=1)
    flare = np.where(t >= flare_from_s, pulse_train(t, 1.0 / flare_hz, phase_s=flare_from_s, decay_s=0.05, rest=0.0), 0.0)
    return np.maximum(washes, flare[:, None])


def hearts_on_one(rate_hz: float = 40.0, seconds: float = 6.0, hearts: int = 8, bpm: float = 180.0) -> np.ndarray:
    """``hearts`` hearts at ``bpm``, out of phase, summed onto one fixture (each adds 1/hearts). Shape (frames,)."""
    t = np.arange(int(round(seconds * rate_hz))) / rate_hz
    period_s = 60.0 / bpm
    total = sum(pulse_train(t, period_s, phase_s=i * period_s / hearts, rest=0.0) for i in range(hearts))
    return np.clip(REST_LEVEL + total / hearts, 0.0, 1.0)


def to_dmx(brightness: np.ndarray) -> np.ndarray:
    """Brightness 0..1 as 8-bit DMX levels (0..255), as a universe carries them."""
    return np.round(np.clip(brightness, 0.0, 1.0) * 255.0).astype(np.uint8)
