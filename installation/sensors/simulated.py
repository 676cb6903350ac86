"""Simulated audience members: heart (PPG) and skin-conductance (EDA) signals
with a scripted arousal arc, delivered through the common source interface.

The waveform model is pure (:class:`SimulatedWearer` turns times into samples);
:class:`SimulatedAudience` paces it in real time on a clock and stamps arrival.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field

import numpy as np

from installation.addresses import wearer_slot
from installation.clock import Clock, MonotonicClock
from installation.sensors.base import SampleBlock, SourceBase


@dataclass(frozen=True, slots=True)
class WearerProfile:
    """Physiology of one simulated wearer.

    Attributes
    ----------
    wearer : str
        Slot id, e.g. ``"p1"``.
    rest_bpm : float
        Heart rate at rest in beats per minute.
    excited_bpm_gain : float
        Extra beats per minute at full arousal.
    scl_us : float
        Resting skin-conductance level in microsiemens.
    arc_phase_s : float
        Offset into the arousal script, in seconds, so wearers differ.
    arc_period_s : float
        Length of one calm -> excited -> recovered cycle, in seconds.
    """

    wearer: str
    rest_bpm: float
    excited_bpm_gain: float = 16.0
    scl_us: float = 5.0
    arc_phase_s: float = 0.0
    arc_period_s: float = 120.0


@dataclass(frozen=True, slots=True)
class ArmSwing:
    """A stretch of walking with the sensor on the wrist: the arm swings at a cadence, the
    accelerometer sees it, and the pulse wave picks up an artefact locked to the swing.

    Attributes
    ----------
    start_s, end_s : float
        When the walking starts and stops, seconds (it fades in and out over ``ramp_s``).
    cadence_hz : float
        Arm swings per second (about half the step rate: 0.8-1.0 Hz walking).
    acc_g : float
        Amplitude of the swing's acceleration, g.
    artefact : float
        Amplitude of the pulse-wave artefact, in pulse heights (1: as tall as a pulse).
    lag_s : float
        How long the artefact lags the swing, seconds (blood pushed about by the arm).
    ramp_s : float
        Fade-in and fade-out, seconds.
    """

    start_s: float
    end_s: float
    cadence_hz: float = 0.9
    acc_g: float = 0.4
    artefact: float = 1.5
    lag_s: float = 0.1
    ramp_s: float = 2.0

    def envelope(self, times_s: np.ndarray) -> np.ndarray:
        """0 outside the walk, 1 inside, with linear ramps."""
        rise = np.clip((times_s - self.start_s) / self.ramp_s, 0.0, 1.0)
        fall = np.clip((self.end_s - times_s) / self.ramp_s, 0.0, 1.0)
        return rise * fall

    def phase(self, times_s: np.ndarray) -> np.ndarray:
        """The swing's phase, radians (the cadence wanders by a few per cent, as a walker's does)."""
        return 2.0 * math.pi * self.cadence_hz * times_s + 0.3 * np.sin(2.0 * math.pi * 0.05 * times_s)

    def acc(self, times_s: np.ndarray) -> np.ndarray:
        """The swing's acceleration on the three axes, ``(3, n)`` in g (no gravity)."""
        p, e = self.phase(times_s), self.acc_g * self.envelope(times_s)
        return np.stack([e * np.sin(p), 0.6 * e * np.sin(2.0 * p + 0.5), 0.4 * e * np.cos(p)])

    def ppg_artefact(self, times_s: np.ndarray) -> np.ndarray:
        """The artefact in pulse heights: the swing, lagging, with its second harmonic (each step)."""
        p = self.phase(times_s - self.lag_s)
        return self.artefact * self.envelope(times_s) * (np.sin(p) + 0.4 * np.sin(2.0 * p + 0.1))


#: The height of a simulated pulse, in the PPG's ADC counts.
PULSE_COUNTS = 180.0
#: A ``racing`` mood: beats per minute above the wearer's rate, reached over RACING_RAMP_S.
RACING_EXTRA_BPM = 60.0
RACING_RAMP_S = 10.0
#: An ``irregular`` mood: the chance that a beat comes early (an ectopic beat), its interval and the
#: pause after it, as fractions of the normal interval.
ECTOPIC_CHANCE = 0.3
ECTOPIC_EARLY, ECTOPIC_PAUSE = 0.62, 1.5
#: An ``scr_storm`` mood: skin-conductance responses every STORM_GAP_S plus an exponential wait of
#: mean STORM_WAIT_S (about 25 a minute), with amplitudes in STORM_AMPLITUDE_US.
STORM_GAP_S, STORM_WAIT_S = 1.8, 0.6
STORM_AMPLITUDE_US = (0.3, 0.8)


@dataclass(slots=True)
class SimulatedWearer:
    """Deterministic PPG and EDA generator for one wearer.

    Beats and skin-conductance responses are generated ahead of time on demand
    and kept, so the true beat times are known (used to score the detector).

    Parameters
    ----------
    profile : WearerProfile
        The wearer's physiology.
    rng : numpy.random.Generator
        Random source for SCR timing and sensor noise (no global RNG).
    """

    profile: WearerProfile
    rng: np.random.Generator
    moods: list[tuple[float, float, str]] = field(default_factory=list)  # (start_s, end_s, a mood of the scripts)
    beats_s: list[float] = field(default_factory=list)
    scr_onsets_s: list[float] = field(default_factory=list)
    scr_amplitudes_us: list[float] = field(default_factory=list)
    swings: list[ArmSwing] = field(default_factory=list)  # stretches of walking (motion the accelerometer sees)

    def arousal(self, t_s: float | np.ndarray) -> float | np.ndarray:
        """Scripted arousal in 0..1 at time(s) ``t_s`` in seconds: calm, rise, excitement, recovery."""
        p = self.profile
        phase = np.mod(np.add(t_s, p.arc_phase_s), p.arc_period_s) / p.arc_period_s
        bump = 0.5 - 0.5 * np.cos(2.0 * np.pi * phase)
        level = 0.15 + 0.7 * bump**2
        for start_s, end_s, mood in self.moods:
            t = np.asarray(t_s, dtype=float)
            inside = (t >= start_s) & (t < end_s)
            if mood == "calm":
                level = np.where(inside, level * 0.3, level)
            elif mood == "excite":
                level = np.where(inside, np.maximum(level, 0.9), level)
            elif mood == "startle":  # a jolt that fades over the event's duration
                fade = np.exp(-np.clip(t - start_s, 0.0, None) / max(0.5 * (end_s - start_s), 0.5))
                level = np.where(inside, np.maximum(level, fade), level)
        return level if isinstance(t_s, np.ndarray) else float(level)

    def add_mood(self, start_s: float, end_s: float, mood: str) -> None:
        """Script a stretch of calm, excitement or a startle (which also gives a strong SCR)."""
        self.moods.append((start_s, end_s, mood))
        if mood == "startle":
            onset_s = start_s + 1.2  # the skin answers about a second later
            i = bisect.bisect(self.scr_onsets_s, onset_s)
            self.scr_onsets_s.insert(i, onset_s)
            self.scr_amplitudes_us.insert(i, 1.2)

    def mood_at(self, mood: str, t_s: float) -> float:
        """Seconds since a ``mood`` stretch began, when one holds at ``t_s``; NaN otherwise."""
        for start_s, end_s, name in self.moods:
            if name == mood and start_s <= t_s < end_s:
                return t_s - start_s
        return math.nan

    def bpm(self, t_s: float) -> float:
        """Instantaneous heart rate in beats per minute (with respiratory sinus arrhythmia; a ``racing``
        mood adds :data:`RACING_EXTRA_BPM`, ramped in)."""
        p = self.profile
        rsa = 1.0 + 0.03 * math.sin(2.0 * math.pi * 0.22 * t_s)
        racing_s = self.mood_at("racing", t_s)
        extra = RACING_EXTRA_BPM * min(1.0, racing_s / RACING_RAMP_S) if racing_s == racing_s else 0.0
        return (p.rest_bpm + p.excited_bpm_gain * float(self.arousal(t_s)) + extra) * rsa

    def _extend(self, until_s: float) -> None:
        if not self.beats_s:
            self.beats_s.append(0.3 + 60.0 / self.bpm(0.0) * float(self.rng.uniform(0.0, 1.0)))
        while self.beats_s[-1] < until_s:
            last = self.beats_s[-1]
            interval_s = 60.0 / self.bpm(last)
            if self.mood_at("irregular", last) == self.mood_at("irregular", last) and self.rng.uniform() < ECTOPIC_CHANCE:
                self.beats_s.append(last + ECTOPIC_EARLY * interval_s)  # an early beat, then a pause
                interval_s *= ECTOPIC_PAUSE
                last = self.beats_s[-1]
            self.beats_s.append(last + interval_s)
        if not self.scr_onsets_s:
            self.scr_onsets_s.append(float(self.rng.uniform(2.0, 8.0)))
            self.scr_amplitudes_us.append(float(self.rng.uniform(0.2, 0.6)))
        while self.scr_onsets_s[-1] < until_s:
            last = self.scr_onsets_s[-1]
            if self.mood_at("scr_storm", last) == self.mood_at("scr_storm", last):
                self.scr_onsets_s.append(last + STORM_GAP_S + float(self.rng.exponential(STORM_WAIT_S)))
                self.scr_amplitudes_us.append(float(self.rng.uniform(*STORM_AMPLITUDE_US)))
                continue
            rate_per_min = 1.5 + 8.0 * float(self.arousal(last))
            self.scr_onsets_s.append(last + 1.5 + float(self.rng.exponential(60.0 / rate_per_min)))
            self.scr_amplitudes_us.append(float(self.rng.uniform(0.1, 0.3) + 0.6 * float(self.arousal(last))))

    def ppg(self, times_s: np.ndarray) -> np.ndarray:
        """PPG in 10-bit ADC counts at ``times_s`` (systolic peaks at the beat times)."""
        if times_s.size == 0:
            return np.empty(0)
        self._extend(float(times_s[-1]) + 2.0)
        beats = np.asarray(self.beats_s)
        near = beats[(beats > times_s[0] - 1.5) & (beats < times_s[-1] + 1.0)]
        dt = times_s[:, None] - near[None, :]
        # A pulse rises steeply to the systolic peak and decays slowly, with a
        # small dicrotic wave on the way down.
        width = np.where(dt < 0.0, 0.06, 0.16)
        wave = np.exp(-0.5 * (dt / width) ** 2) + 0.2 * np.exp(-0.5 * ((dt - 0.3) / 0.06) ** 2)
        signal = wave.sum(axis=1)
        drift = 0.15 * np.sin(2.0 * math.pi * 0.05 * times_s)
        noise = self.rng.normal(0.0, 0.02, size=times_s.shape)
        for swing in self.swings:
            signal = signal + swing.ppg_artefact(times_s)
        return np.round(512.0 + PULSE_COUNTS * (signal + drift + noise))

    def acc(self, times_s: np.ndarray) -> np.ndarray:
        """A wrist accelerometer's three axes at ``times_s``, ``(3, n)`` in g: gravity, a
        little sensor noise, and the arm swings of :attr:`swings`."""
        gravity = np.array([0.2, -0.3, 0.93])[:, None]
        out = gravity + self.rng.normal(0.0, 0.003, size=(3, times_s.size))
        for swing in self.swings:
            out = out + swing.acc(times_s)
        return out

    def ecg(self, times_s: np.ndarray) -> np.ndarray:
        """Single-lead ECG in millivolts at ``times_s`` (R peaks at the beat times)."""
        if times_s.size == 0:
            return np.empty(0)
        self._extend(float(times_s[-1]) + 2.0)
        beats = np.asarray(self.beats_s)
        near = beats[(beats > times_s[0] - 1.0) & (beats < times_s[-1] + 1.0)]
        dt = times_s[:, None] - near[None, :]

        def wave(centre_s: float, width_s: float, height_mv: float) -> np.ndarray:
            return height_mv * np.exp(-0.5 * ((dt - centre_s) / width_s) ** 2)

        beat = (wave(-0.16, 0.025, 0.12) + wave(-0.025, 0.008, -0.1) + wave(0.0, 0.011, 1.2)
                + wave(0.028, 0.009, -0.25) + wave(0.25, 0.045, 0.3))
        breathing = 0.08 * np.sin(2.0 * math.pi * 0.25 * times_s)
        noise = self.rng.normal(0.0, 0.01, size=times_s.shape)
        return beat.sum(axis=1) + breathing + noise

    def eda(self, times_s: np.ndarray) -> np.ndarray:
        """Skin conductance in microsiemens at ``times_s`` (tonic level plus SCRs)."""
        if times_s.size == 0:
            return np.empty(0)
        self._extend(float(times_s[-1]) + 2.0)
        onsets = np.asarray(self.scr_onsets_s)
        amps = np.asarray(self.scr_amplitudes_us)
        keep = (onsets < times_s[-1]) & (onsets > times_s[0] - 30.0)
        dt = np.clip(times_s[:, None] - onsets[keep][None, :], 0.0, None)
        rise_s, decay_s = 0.7, 3.0
        shape = np.exp(-dt / decay_s) - np.exp(-dt / rise_s)
        shape /= 0.5  # peak of the bi-exponential for these constants is ~0.5
        phasic = (shape * amps[keep][None, :]).sum(axis=1)
        tonic = self.profile.scl_us * (1.0 + 0.5 * self.arousal(times_s)) + 0.1 * np.sin(2.0 * math.pi * 0.01 * times_s)
        noise = self.rng.normal(0.0, 0.005, size=times_s.shape)
        return tonic + phasic + noise

    def true_beats_s(self, until_s: float) -> np.ndarray:
        """True beat (systolic peak) times in seconds up to ``until_s``."""
        self._extend(until_s)
        beats = np.asarray(self.beats_s)
        return beats[beats <= until_s]


def default_profiles(count: int, rng: np.random.Generator, first_slot: int = 0) -> list[WearerProfile]:
    """Distinct resting physiologies for ``count`` wearers in slots ``p<first_slot+1>`` onwards."""
    profiles = []
    for i in range(count):
        profiles.append(
            WearerProfile(
                wearer=wearer_slot(first_slot + i),
                rest_bpm=float(58.0 + (i * 9.0) % 34.0 + rng.uniform(-2.0, 2.0)),
                scl_us=float(rng.uniform(2.0, 12.0)),
                arc_phase_s=float(rng.uniform(0.0, 120.0)),
            )
        )
    return profiles


class SimulatedAudience(SourceBase):
    """A real-time source of simulated wearers.

    Each wearer sends PPG (ADC counts) and EDA (microsiemens) in small blocks,
    as a wireless sensor would, paced by ``clock``.

    Parameters
    ----------
    count : int
        Number of wearers (slots ``p1`` .. ``pN``).
    seed : int
        Seed of this audience's own random generator.
    clock : Clock, optional
        Time source; defaults to the monotonic clock.
    ppg_rate_hz, eda_rate_hz : float
        Sampling rates in hertz.
    block_s : float
        Seconds of signal per delivered block.
    first_slot : int
        0-based index of the first wearer's slot (``0`` -> ``p1``), so that several
        simulated groups can share a show.
    heart : {"ppg", "ecg"}
        Which heart sensor the wearers wear.
    ecg_rate_hz : float
        ECG sampling rate in hertz (with ``heart="ecg"``).
    acc_rate_hz : float or None
        With a rate, each wearer also wears a wrist accelerometer (``acc_x``, ``acc_y``,
        ``acc_z`` in g); None, none.
    """

    def __init__(
        self,
        count: int,
        seed: int = 1,
        clock: Clock | None = None,
        ppg_rate_hz: float = 100.0,
        eda_rate_hz: float = 25.0,
        block_s: float = 0.02,
        first_slot: int = 0,
        heart: str = "ppg",
        ecg_rate_hz: float = 250.0,
        acc_rate_hz: float | None = None,
    ) -> None:
        if count < 1:
            raise ValueError(f"a simulated audience needs at least 1 wearer, got {count}")
        self.name = f"simulated audience ({count} wearers)"
        self.clock = clock or MonotonicClock()
        rng = np.random.default_rng(seed)
        self.wearers = [SimulatedWearer(p, np.random.default_rng(rng.integers(2**32))) for p in default_profiles(count, rng, first_slot)]
        if heart not in ("ppg", "ecg"):
            raise ValueError(f"heart must be 'ppg' or 'ecg', got {heart!r}")
        self.heart = heart
        self.ppg_rate_hz = ecg_rate_hz if heart == "ecg" else ppg_rate_hz
        self.eda_rate_hz = eda_rate_hz
        self.acc_rate_hz = acc_rate_hz
        self.block_s = block_s
        self._start_s: float | None = None
        self._next_emit_s = 0.0
        self._ppg_next = 0
        self._eda_next = 0
        self._acc_next = 0

    def open(self) -> None:
        self._start_s = self.clock.now_s()
        self._next_emit_s = self._start_s + self.block_s
        self._ppg_next = 0
        self._eda_next = 0
        self._acc_next = 0

    def close(self) -> None:
        self._start_s = None

    def elapsed_s(self) -> float:
        """Simulated seconds delivered so far."""
        return self._ppg_next / self.ppg_rate_hz

    def read(self, timeout_s: float) -> list[SampleBlock]:
        """Return the blocks that are due, waiting at most ``timeout_s`` seconds for one."""
        if self._start_s is None:
            raise RuntimeError(f"{self.name}: read() before open()")
        now = self.clock.now_s()
        if now < self._next_emit_s:
            self.clock.sleep_s(min(self._next_emit_s - now, timeout_s))
            now = self.clock.now_s()
            if now < self._next_emit_s:
                return []
        sim_t = now - self._start_s
        self._next_emit_s += self.block_s * max(1, math.floor((now - self._next_emit_s) / self.block_s) + 1)
        ppg_end = int(math.floor(sim_t * self.ppg_rate_hz)) + 1
        eda_end = int(math.floor(sim_t * self.eda_rate_hz)) + 1
        ppg_t = np.arange(self._ppg_next, ppg_end) / self.ppg_rate_hz
        eda_t = np.arange(self._eda_next, eda_end) / self.eda_rate_hz
        self._ppg_next, self._eda_next = ppg_end, eda_end
        acc_t = np.empty(0)
        if self.acc_rate_hz:
            acc_end = int(math.floor(sim_t * self.acc_rate_hz)) + 1
            acc_t = np.arange(self._acc_next, acc_end) / self.acc_rate_hz
            self._acc_next = acc_end
        arrival_s = self.clock.now_s()
        blocks: list[SampleBlock] = []
        for w in self.wearers:
            if ppg_t.size and self.heart == "ecg":
                blocks.append(SampleBlock(w.profile.wearer, "ecg", ppg_t, w.ecg(ppg_t), "mV", arrival_s, self.ppg_rate_hz))
            elif ppg_t.size:
                blocks.append(SampleBlock(w.profile.wearer, "ppg", ppg_t, w.ppg(ppg_t), "adc", arrival_s, self.ppg_rate_hz))
            if eda_t.size:
                blocks.append(SampleBlock(w.profile.wearer, "eda", eda_t, w.eda(eda_t), "uS", arrival_s, self.eda_rate_hz))
            if acc_t.size:
                axes = w.acc(acc_t)
                for signal, values in zip(("acc_x", "acc_y", "acc_z"), axes):
                    blocks.append(SampleBlock(w.profile.wearer, signal, acc_t, values, "g", arrival_s, self.acc_rate_hz))  # type: ignore[arg-type]
        return blocks
