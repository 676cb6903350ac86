"""Eco-symphony: a choir of living materials, played by the audience's bodies.

Each wearer is a voice. Their heartbeats strike a tuned, plucked bell (its own
pitch, timbre and place between the speakers); their heart rate and heart-rate
variability play a soft tuned tick pattern on a shared pulse, sparse when the
heart beats like a metronome and lively when it varies; each skin-conductance
response scatters a burst of glassy grains at their place in the room. Beneath
them a pad of detuned saws walks slowly through the chords of the scale (a new
chord every ``chord_s`` seconds, reached by a long crossfade), opens and
brightens with the audience's skin conductance, and is pulled from tension
(clusters of seconds, beating) towards consonance (a pure, grounded chord) as
their heart rhythms fall into step. Everything shares one reverb. Every pitch is
the root times a note of the chosen scale (equal temperament); the piece plays
with every parameter at its default, before any mapping reaches it.

A crowd (more wearers than ``solo_wearers``) shares voices, so that the sound's
cost stops growing with each wearer's oscillators: the wearers whose bells have
one pitch (at most two per note of the scale: ten sections for the pentatonic,
however large the crowd) play one bell, one strike of noise and one tick voice
together, and the wearers on one degree of the scale one grain cloud. Each
wearer's strike, tick and burst enters its section as an impulse of its
strength times its level; the section's envelopes are one-pole filters of the
sum, so strikes add up and none cuts another short, and the section sounds
from its wearers' places weighted by what each played in the last 0.3 s. Every
wearer still strikes their own pitch with their own strength, timbre and level,
ticks with their own density and bursts at their place; what a section's
wearers share is the FM ratio, the ticks' length and brightness (their mean
rate) and, when several play at once, the place between them. A single
strike in a crowd is quieter (each section's sum is scaled by one over the
square root of its wearers) and the whole stays about as loud as separate
voices would. A wearer's level acts at each strike: their ringing bell fades
on its own when the level drops.

Parameters (address after ``sound.``; continuous values are clipped to 0..1 and
glide over the time given, so that no jump clicks; triggers are not smoothed)
------------------------------------------------------------------------------
``p*.pulse``            trigger, value 0..1 = strength: strike the wearer's bell
``p*.texture``          trigger, value 0..1 = strength: a burst of grains (about
                        3 s) at the wearer's place, pitched on their chord
``p*.level``            0..1 (default 1, glide 1.2 s): the wearer's loudness, for
                        all their layers; map signal quality here so that a
                        wearer who leaves or whose sensor fails fades out
``p*.tone``             0..1 (default 0.3, glide 0.3 s): the bell's timbre, from
                        pure to bright and metallic
``p*.rate``             0..1 (default 0.5, glide 1 s): the wearer's heart rate,
                        slow to fast: their ticks shorten and brighten as it rises
``p*.hrv``              0..1 (default 0.4, glide 1.5 s): the wearer's heart-rate
                        variability, low to high: the density of their ticks
                        (0: now and then on the downbeat; 1: nearly every
                        beat, about half the eighths and a few sixteenths)
``rhythm.tempo``        0..1 (default 0.4, glide 2 s): the shared pulse of the
                        ticks, 48 to 120 beats per minute (sixteenth-note grid)
``rhythm.level``        0..1 (default 0.4, glide 1 s): loudness of the ticks
``drone.brightness``    0..1 (default 0.3, glide 1 s): the pad's filter, dark
                        (150 Hz) to bright (4 kHz)
``drone.level``         0..1 (default 0.5, glide 1 s): the pad's loudness
``harmony.consonance``  0..1 (default 0.6, glide 2 s): 0 = tension (the chord
                        thickens with the scale notes a step above its root and
                        its third, and its saws beat against each other);
                        1 = consonance (pure chord over a sine bass)
``texture.density``     0..1 (default 0.2, glide 1 s): the ambient grain field,
                        silent to about 30 grains a second; also thickens every
                        wearer's bursts
``reverb.mix``          0..1 (default 0.3, glide 1 s): wet/dry balance of the reverb

Settings (``[sound.settings]`` in the show file)
------------------------------------------------
``root_hz``   root of the scale in hertz, 20..2000 (default 110, A2); the pad
              sits on it, the bells one and two octaves above
``scale``     one of ``pentatonic`` (default), ``minor-pentatonic``, ``major``,
              ``minor``, ``dorian``, ``phrygian``, ``lydian``, ``mixolydian``
``chord_s``   seconds each chord of the pad's progression lasts, 10..600
              (default 40); the crossfade between two chords takes 40 % of it
``solo_wearers``  up to this many wearers, 0..256 (default 8), each plays
              voices of their own (three copies of each trigger taking turns);
              beyond it the crowd shares voices as above (one copy per
              trigger). The solo voices cost about 2 % of a core per wearer at
              256-frame buffers, the crowd's far less (``python -m
              installation.bench.patch_cpu``)
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import pyo

from installation.sound.inputs import PatchInputs
from installation.sound.patch import Patch, PatchError


@dataclass(frozen=True)
class Mode:
    """A scale and the pad's chord progression in it.

    Attributes
    ----------
    semitones : tuple of int
        Notes of one octave in semitones above the root, ascending from 0.
    progression : tuple of int
        Scale degrees (0 = root) of the pad's chords, an even number of them,
        looped; chords whose fifth would not be perfect are left out.
    """

    semitones: tuple[int, ...]
    progression: tuple[int, ...]


SCALES: dict[str, Mode] = {
    "pentatonic": Mode((0, 2, 4, 7, 9), (0, 4, 1, 3, 0, 2, 4, 3)),
    "minor-pentatonic": Mode((0, 3, 5, 7, 10), (0, 2, 4, 1, 0, 3, 2, 4)),
    "major": Mode((0, 2, 4, 5, 7, 9, 11), (0, 5, 3, 4, 0, 2, 3, 4)),             # I vi IV V I iii IV V
    "minor": Mode((0, 2, 3, 5, 7, 8, 10), (0, 5, 3, 6, 0, 2, 3, 4)),             # i VI iv VII i III iv v
    "dorian": Mode((0, 2, 3, 5, 7, 9, 10), (0, 3, 0, 6, 0, 3, 2, 4)),            # i IV i VII i IV III v
    "phrygian": Mode((0, 1, 3, 5, 7, 8, 10), (0, 1, 0, 6, 0, 1, 5, 6)),          # i II i vii i II VI vii
    "lydian": Mode((0, 2, 4, 6, 7, 9, 11), (0, 1, 0, 4, 0, 1, 5, 4)),            # I II I V I II vi V
    "mixolydian": Mode((0, 2, 4, 5, 7, 9, 10), (0, 6, 3, 0, 5, 6, 3, 4)),        # I VII IV I vi VII IV v
}

#: Pad chord voicing, in scale steps above the chord's degree (root, fifth, tenth, ninth or seventh up an octave).
VOICING = {5: (0, 3, 6, 9), 7: (0, 4, 9, 13)}
#: Tension notes, in scale steps above the chord's degree: a step above the root and a step above the tenth.
TENSION = {5: (1, 7), 7: (1, 10)}
#: Order in which wearers take the scale's degrees (root, fifth, third, ...).
VOICE_ORDER = {5: (0, 3, 2, 4, 1), 7: (0, 4, 2, 5, 1, 3, 6)}
#: FM modulator ratios of the bells, one per wearer in turn (harmonic, then bell-like).
BELL_RATIOS = (2.0, 3.5, 1.0, 3.0, 2.5, 4.0, 1.5, 5.0)

DEFAULT_ROOT_HZ = 110.0
DEFAULT_SCALE = "pentatonic"
DEFAULT_CHORD_S = 40.0
DEFAULT_SOLO_WEARERS = 8
MAX_SOLO_WEARERS = 256
CROSSFADE_FRACTION = 0.4
STRIKE_VOICES = 3  # copies of each bell and grain burst, taking turns
GRAIN_BASE_OCTAVES = 2  # the grain material's pitch: the root two octaves up


@dataclass(frozen=True)
class PatchSettings:
    """The validated ``[sound.settings]`` of the eco-symphony."""

    root_hz: float = DEFAULT_ROOT_HZ
    scale: str = DEFAULT_SCALE
    chord_s: float = DEFAULT_CHORD_S
    solo_wearers: int = DEFAULT_SOLO_WEARERS


def parse_settings(settings: Mapping[str, float | str]) -> PatchSettings:
    """Validate the show file's ``[sound.settings]``.

    Raises
    ------
    PatchError
        Naming the setting (``sound.settings.scale``), the value and the valid choices.
    """
    known = {"root_hz", "scale", "chord_s", "solo_wearers"}
    for key in settings:
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise PatchError(f"sound.settings.{key}: unknown setting; the eco-symphony takes "
                             f"{', '.join(sorted(known))}{hint}")
    scale = settings.get("scale", DEFAULT_SCALE)
    if not isinstance(scale, str) or scale not in SCALES:
        close = difflib.get_close_matches(str(scale), list(SCALES), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise PatchError(f"sound.settings.scale: unknown scale {scale!r}; valid scales: {', '.join(SCALES)}{hint}")
    root_hz = _number(settings, "root_hz", DEFAULT_ROOT_HZ, 20.0, 2000.0, "hertz")
    chord_s = _number(settings, "chord_s", DEFAULT_CHORD_S, 10.0, 600.0, "seconds")
    solo = settings.get("solo_wearers", DEFAULT_SOLO_WEARERS)
    whole = isinstance(solo, int) or (isinstance(solo, float) and solo.is_integer())  # (a show file's 8 may be 8.0)
    if isinstance(solo, bool) or not whole or not 0 <= solo <= MAX_SOLO_WEARERS:
        raise PatchError(f"sound.settings.solo_wearers: must be a whole number of wearers from 0 to "
                         f"{MAX_SOLO_WEARERS}, got {solo!r}")
    return PatchSettings(root_hz, scale, chord_s, int(solo))


def _number(settings: Mapping[str, float | str], key: str, default: float, lo: float, hi: float, unit: str) -> float:
    value = settings.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= float(value) <= hi:
        raise PatchError(f"sound.settings.{key}: must be a number of {unit} from {lo:g} to {hi:g}, got {value!r}")
    return float(value)


def note_hz(root_hz: float, mode: Mode, step: int) -> float:
    """Frequency in hertz of scale step ``step`` (0 = root; ``len(scale)`` = the octave above)."""
    n = len(mode.semitones)
    octave, degree = divmod(step, n)
    return root_hz * 2.0 ** ((mode.semitones[degree] + 12 * octave) / 12.0)


@dataclass(frozen=True)
class PitchPlan:
    """Every pitch the patch plays, in hertz.

    Attributes
    ----------
    bell_hz : dict of str to float
        Each wearer's bell.
    tick_hz : dict of str to float
        Each wearer's tick (their bell an octave up).
    burst_hz : dict of str to tuple of float
        The notes of each wearer's grain bursts.
    ambient_hz : tuple of float
        The notes of the ambient grain field.
    chords_hz : tuple of tuple of float
        The pad's chords in order, each voiced from its root up.
    tension_hz : tuple of tuple of float
        The tension notes added to each chord.
    grain_base_hz : float
        Pitch of the grain material at playback ratio 1.
    """

    bell_hz: dict[str, float]
    tick_hz: dict[str, float]
    burst_hz: dict[str, tuple[float, ...]]
    ambient_hz: tuple[float, ...]
    chords_hz: tuple[tuple[float, ...], ...]
    tension_hz: tuple[tuple[float, ...], ...]
    grain_base_hz: float

    def all_hz(self) -> list[float]:
        """Every planned pitch, in hertz."""
        out = [*self.bell_hz.values(), *self.tick_hz.values(), *self.ambient_hz, self.grain_base_hz]
        for notes in (*self.burst_hz.values(), *self.chords_hz, *self.tension_hz):
            out.extend(notes)
        return out


def plan_pitches(root_hz: float, scale: str, wearers: list[str]) -> PitchPlan:
    """Choose every pitch of the piece from the root and the scale (pure; no server needed)."""
    mode = SCALES[scale]
    n = len(mode.semitones)
    order = VOICE_ORDER[n]
    bell_step: dict[str, int] = {}
    for i, wearer in enumerate(wearers):
        octave = 1 + (i % n + i // n) % 2  # alternate one and two octaves above the root, swapped each round
        bell_step[wearer] = order[i % n] + n * octave
    bell_hz = {w: note_hz(root_hz, mode, s) for w, s in bell_step.items()}
    tick_hz = {w: note_hz(root_hz, mode, s + n) for w, s in bell_step.items()}
    grain_octave = GRAIN_BASE_OCTAVES * n
    burst_hz = {w: tuple(note_hz(root_hz, mode, grain_octave + order[i % n] + k) for k in (0, 2, 4, n))
                for i, w in enumerate(wearers)}
    ambient_hz = tuple(note_hz(root_hz, mode, grain_octave + k) for k in range(2 * n))
    chords_hz = tuple(tuple(note_hz(root_hz, mode, d + v) for v in VOICING[n]) for d in mode.progression)
    tension_hz = tuple(tuple(note_hz(root_hz, mode, d + t) for t in TENSION[n]) for d in mode.progression)
    return PitchPlan(bell_hz, tick_hz, burst_hz, ambient_hz, chords_hz, tension_hz,
                     note_hz(root_hz, mode, grain_octave))


@dataclass(frozen=True)
class Section:
    """Wearers who share one set of voices in a crowd: those whose bells have one pitch.

    Attributes
    ----------
    bell_hz : float
        Their bell's pitch, in hertz (their ticks sound an octave above it).
    ratio : float
        The FM modulator ratio of the section's bell.
    members : tuple of int
        Indices of the section's wearers (into the patch's wearer list).
    """

    bell_hz: float
    ratio: float
    members: tuple[int, ...]


def crowd_sections(plan: PitchPlan, wearers: list[str]) -> list[Section]:
    """Group wearers by their bell's pitch (pure; no server needed).

    A scale of ``n`` notes gives at most ``2 n`` sections (each note in two
    octaves), however many wearers there are: the crowd's cost in voices stops
    growing there. Sections are ordered by the first wearer in each.
    """
    members: dict[float, list[int]] = {}
    for i, wearer in enumerate(wearers):
        members.setdefault(plan.bell_hz[wearer], []).append(i)
    return [Section(hz, BELL_RATIOS[k % len(BELL_RATIOS)], tuple(idx))
            for k, (hz, idx) in enumerate(members.items())]


def pan_gains(pan: float) -> tuple[float, float]:
    """Equal-power left and right gains of a place ``pan`` (0 = left, 1 = right), as pyo's ``Pan``."""
    return math.cos(0.5 * math.pi * pan), math.sin(0.5 * math.pi * pan)


def one_pole_gain(cutoff_hz: float, sample_rate_hz: float) -> float:
    """Gain that makes pyo's one-pole lowpass (``Tone``) answer a one-sample impulse with a peak of 1:
    it then decays with a time constant of ``1 / (2 pi cutoff_hz)`` seconds."""
    b = 2.0 - math.cos(2.0 * math.pi * cutoff_hz / sample_rate_hz)
    return 1.0 / (1.0 - (b - math.sqrt(b * b - 1.0)))


def decay_hz(tau_s: float) -> float:
    """Cutoff of the one-pole lowpass whose impulse response decays with time constant ``tau_s``."""
    return 1.0 / (2.0 * math.pi * tau_s)


def bell_decay_s(bell_hz: float) -> float:
    """How long a bell rings, in seconds (lower bells ring longer)."""
    return min(2.5, max(0.7, 1.8 * math.sqrt(220.0 / bell_hz)))


def crossfade_gain(size: int, crossfade_fraction: float) -> list[float]:
    """One cycle (two chords) of a pad layer's gain: held at 1 around phase 0, at 0 around
    phase 0.5, with equal-power (quarter-sine) fades between; the other layer reads it
    half a cycle later, so the two gains' squares always sum to 1."""
    c = crossfade_fraction / 2.0  # of the two-chord cycle
    d = np.minimum(np.arange(size) / size, 1.0 - np.arange(size) / size)  # distance from phase 0
    x = np.clip((d - (0.25 - c / 2.0)) / c, 0.0, 1.0)
    return np.cos(0.5 * np.pi * x).tolist()


def grain_material(sample_rate_hz: float, base_hz: float, seconds: float = 1.0, seed: int = 7) -> list[float]:
    """A bright, glassy tone at ``base_hz`` with a breath of noise, for the grains (peak 1)."""
    rng = np.random.default_rng(seed)  # a fixed timbre, not a global RNG
    t = np.arange(int(seconds * sample_rate_hz)) / sample_rate_hz
    wave = np.zeros_like(t)
    for k, amp in enumerate((1.0, 0.55, 0.35, 0.22, 0.14, 0.09, 0.05), start=1):
        if k * base_hz < 0.45 * sample_rate_hz:
            wave += amp * np.sin(2 * np.pi * k * base_hz * t + rng.uniform(0, 2 * np.pi))
    noise = np.diff(rng.standard_normal(t.size + 1))  # tilted towards the highs
    wave = wave * (0.8 + 0.2 * np.sin(2 * np.pi * 3.0 * t)) + 0.25 * noise
    return (wave / np.abs(wave).max()).tolist()


class EcoSymphony(Patch):
    """A choir of living materials: bells, ticks and grains over a slowly moving pad."""

    PARAMETERS = {
        "p*.pulse": "trigger",
        "p*.texture": "trigger",
        "p*.level": "continuous",
        "p*.tone": "continuous",
        "p*.rate": "continuous",
        "p*.hrv": "continuous",
        "rhythm.tempo": "continuous",
        "rhythm.level": "continuous",
        "drone.brightness": "continuous",
        "drone.level": "continuous",
        "harmony.consonance": "continuous",
        "texture.density": "continuous",
        "reverb.mix": "continuous",
    }
    #: Per-wearer continuous parameters: (default, glide in seconds).
    WEARER_DEFAULTS = {"level": (1.0, 1.2), "tone": (0.3, 0.3), "rate": (0.5, 1.0), "hrv": (0.4, 1.5)}
    #: Shared continuous parameters: (default, glide in seconds).
    GLOBAL_DEFAULTS = {
        "rhythm.tempo": (0.4, 2.0),
        "rhythm.level": (0.4, 1.0),
        "drone.brightness": (0.3, 1.0),
        "drone.level": (0.5, 1.0),
        "harmony.consonance": (0.6, 2.0),
        "texture.density": (0.2, 1.0),
        "reverb.mix": (0.3, 1.0),
    }

    def __init__(self, wearers: list[str], settings: Mapping[str, float | str]) -> None:
        super().__init__(wearers, settings)
        self.config = parse_settings(self.settings)
        self.plan = plan_pitches(self.config.root_hz, self.config.scale, self.wearers)

    @classmethod
    def check_settings(cls, settings: Mapping[str, float | str]) -> None:
        parse_settings(settings)

    @classmethod
    def trigger_voices_for(cls, wearers: list[str], settings: Mapping[str, float | str]) -> int:
        """Copies of each trigger: three for a small audience (each wearer's own bells and bursts
        take turns), one for a crowd (its shared voices add strikes up, and never cut one short)."""
        return cls.TRIGGER_VOICES if len(wearers) <= parse_settings(settings).solo_wearers else 1

    @property
    def crowd(self) -> bool:
        """True when the wearers share voices (more of them than ``solo_wearers``)."""
        return len(self.wearers) > self.config.solo_wearers

    # -- building -----------------------------------------------------------------------

    TRIGGER_VOICES = STRIKE_VOICES  # copies of each bell and grain burst, taking turns

    def build(self, inputs: PatchInputs) -> Any:
        self._params: dict[str, Any] = {
            name: self._glide(inputs, name, default, glide_s) for name, (default, glide_s) in self.GLOBAL_DEFAULTS.items()
        }
        self._voices: dict[str, dict[str, Any]] = {}
        n = max(1, len(self.wearers))
        sample_rate_hz = self._sample_rate_hz = pyo.Sig(0).getSamplingRate()
        self._tables = {
            "bell": pyo.ExpTable([(0, 0.0), (18, 1.0), (8191, 0.0)], exp=4, inverse=False),
            "bright": pyo.ExpTable([(0, 0.0), (16, 1.0), (8191, 0.0)], exp=8, inverse=False),
            "strike": pyo.LinTable([(0, 0.0), (64, 1.0), (8191, 0.0)]),
            "tick": pyo.CosTable([(0, 0.0), (300, 1.0), (1500, 0.35), (8191, 0.0)]),
            "burst": pyo.CosTable([(0, 0.0), (600, 1.0), (2500, 0.5), (8191, 0.0)]),
            "grain_env": pyo.HannTable(),
            "grains": pyo.DataTable(int(sample_rate_hz),
                                    init=grain_material(sample_rate_hz, self.plan.grain_base_hz)),
        }
        self._noise = pyo.Noise()  # one noise source for every strike (pyo's Noise is costly)
        self._build_rhythm_clock()
        if self.crowd:
            layers = self._build_crowd(inputs)
        else:
            layers = [self._build_wearer(inputs, w, i, n) for i, w in enumerate(self.wearers)]
        pad = self._build_pad()
        ambient = self._build_ambient()
        self._dry = pyo.Mix([*layers, pad, ambient], voices=2)
        self._reverb = pyo.Freeverb(self._dry, size=0.9, damp=0.55, bal=self._params["reverb.mix"])
        return self._reverb

    @staticmethod
    def _glide(inputs: PatchInputs, address: str, default: float, glide_s: float) -> Any:
        """A continuous parameter, clipped to 0..1 and glided over ``glide_s`` (no jump clicks)."""
        return pyo.SigTo(pyo.Clip(inputs.value(address, default), 0.0, 1.0), time=glide_s, init=default)

    def _build_rhythm_clock(self) -> None:
        tempo = self._params["rhythm.tempo"]
        self._step_s = 15.0 / (tempo * 72.0 + 48.0)  # a sixteenth at 48..120 beats per minute
        self._grid = pyo.Metro(time=self._step_s).play()
        self._step = pyo.Counter(self._grid, min=0, max=16)

    def _build_wearer(self, inputs: PatchInputs, wearer: str, i: int, n: int) -> Any:
        t = self._tables
        sig = {name: self._glide(inputs, f"{wearer}.{name}", default, glide_s)
               for name, (default, glide_s) in self.WEARER_DEFAULTS.items()}
        level, tone, rate, hrv = sig["level"], sig["tone"], sig["rate"], sig["hrv"]
        pan_pos = (i + 0.5) / n
        bell_hz = self.plan.bell_hz[wearer]

        # The bell: FM whose index decays faster than its amplitude (bright strike, pure tail),
        # with a short band of noise for the material's strike. Beats take turns between
        # STRIKE_VOICES copies, so that a new beat never cuts a ringing one short (a click).
        pulses = inputs.trigger(f"{wearer}.pulse")
        trig = [v.fire for v in pulses]
        strength = [pyo.Clip(v.strength, 0.0, 1.0) for v in pulses]
        voice_gain = 0.3 / math.sqrt(max(1.0, n / 2.0))  # a crowd's bells add up: keep their sum steady
        decay_s = bell_decay_s(bell_hz)
        env = pyo.TrigEnv(trig, table=t["bell"], dur=decay_s, mul=strength)
        bright = pyo.TrigEnv(trig, table=t["bright"], dur=decay_s * 0.5)
        # FM from two sines (pyo 1.1.0's FM object turned NaN now and then with an
        # enveloped index, and a NaN stays in the reverb for good).
        ratio = BELL_RATIOS[i % len(BELL_RATIOS)]
        bell_mod = pyo.Sine(freq=bell_hz * ratio, mul=bright * (0.3 + 3.2 * tone) * (bell_hz * ratio))
        bell = pyo.Sine(freq=bell_mod + bell_hz, mul=env)
        strike_env = pyo.TrigEnv(trig, table=t["strike"], dur=0.03, mul=strength)
        strike = pyo.Biquad(self._noise * strike_env.mix(1), freq=min(bell_hz * 4.0, 9000.0), q=4.0, type=2,
                            mul=0.1 + 0.4 * tone)
        bell_out = pyo.Pan(bell.mix(1) + strike, outs=2, pan=pan_pos, spread=0.25, mul=level * voice_gain)

        # The ticks: a step of the shared grid sounds with a probability set by this wearer's
        # HRV and the step's weight (patterns rotated per wearer so that they interlock).
        weights = np.roll([1.0, 0.12, 0.3, 0.12, 0.6, 0.12, 0.3, 0.12,
                           0.85, 0.12, 0.3, 0.12, 0.6, 0.12, 0.3, 0.2], 3 * i).tolist()
        weight_table = pyo.DataTable(16, init=weights)
        weight = pyo.TableIndex(weight_table, self._step)
        chance = pyo.Clip(weight * (hrv * 1.25 + 0.25) * 100.0, 0.0, 100.0)
        tick_trig = pyo.Percent(self._grid, percent=chance)
        tick_dur_s = pyo.Min(0.16 - 0.12 * rate, self._step_s * 0.9)  # one tick ends before the next
        tick_env = pyo.TrigEnv(tick_trig, table=t["tick"], dur=tick_dur_s,
                               mul=self._params["rhythm.level"] * level * voice_gain * 0.75)
        # (Two-sine FM, not SineLoop: pyo 1.1.0's SineLoop can read past its table and crash when fed back.)
        tick_hz = self.plan.tick_hz[wearer]
        tick_mod = pyo.Sine(freq=tick_hz, mul=(0.15 + 0.9 * rate) * tick_hz)
        tick = pyo.Sine(freq=tick_mod + tick_hz, mul=tick_env)
        tick_out = pyo.Pan(tick, outs=2, pan=pan_pos, spread=0.4)

        # The grain burst of a skin-conductance response, at the wearer's place.
        textures = inputs.trigger(f"{wearer}.texture")
        texture_trig = [v.fire for v in textures]
        texture_strength = [pyo.Clip(v.strength, 0.0, 1.0) for v in textures]
        bursts = pyo.TrigEnv(texture_trig, table=t["burst"], dur=3.0, mul=texture_strength)
        burst = pyo.Mix(bursts, voices=1, mul=level)
        base = self.plan.grain_base_hz
        size = t["grains"].getSize()
        pitch = pyo.Choice([f / base for f in self.plan.burst_hz[wearer]], freq=40.0)
        # Grain parameters are drawn at a grain's start: stepped randoms (Randh) are enough.
        grain_pos = pyo.Randh(min=0.05 * size, max=0.49 * size, freq=43.0)
        grain_dur = pyo.Randh(min=0.04, max=0.12, freq=37.0)
        # Within 0..1: pyo's Particle pans by square roots, and a pan outside that range
        # is a NaN that stays in the reverb for good.
        grain_pan = pyo.Randh(min=max(0.0, pan_pos - 0.12), max=min(1.0, pan_pos + 0.12), freq=31.0)
        grains = pyo.Particle(
            t["grains"], t["grain_env"],
            dens=burst * (25.0 + 45.0 * self._params["texture.density"]),
            pitch=pitch, pos=grain_pos, dur=grain_dur, dev=0.5, pan=grain_pan, chnls=2, mul=burst * 0.22,
        )
        self._voices[wearer] = {
            **sig, "trig": trig, "strength": strength, "env": env, "bright": bright, "bell_mod": bell_mod, "bell": bell, "bell_hz": bell_hz,
            "strike_env": strike_env, "strike": strike, "bell_out": bell_out,
            "weight_table": weight_table, "weight": weight, "chance": chance, "tick_trig": tick_trig,
            "tick_dur_s": tick_dur_s, "tick_env": tick_env, "tick_mod": tick_mod, "tick": tick, "tick_hz": tick_hz, "tick_out": tick_out,
            "texture_trig": texture_trig, "texture_strength": texture_strength, "bursts": bursts, "burst": burst,
            "pitch": pitch, "grain_pos": grain_pos, "grain_dur": grain_dur, "grain_pan": grain_pan,
            "grains": grains,
        }
        return pyo.Mix([bell_out, tick_out, grains], voices=2)

    # -- a crowd: voices shared by the wearers of a section --------------------------------
    #
    # Every wearer's strike, tick and burst enters its section's voices as an impulse (a
    # sample of its strength times its level). A section's envelopes are one-pole lowpass
    # filters of the sum of its wearers' impulses: linear, so strikes add up and a new one
    # never cuts a ringing one short, and each wearer costs a few multiplications instead
    # of a dozen oscillators. Where a section sounds follows who played it: the mean of
    # its wearers' places, weighted by their recent impulses.

    #: Time constants of the crowd's envelopes, as fractions of the solo voice's duration
    #: (the solo's tables hold near their peak and fall late; an exponential with these
    #: constants rings about as long) or in seconds.
    CROWD_BELL_TAU = 0.5
    CROWD_BRIGHT_TAU = 0.22
    CROWD_STRIKE_TAU_S = 0.01
    CROWD_TICK_TAU = 0.12
    CROWD_PLACE_TAU_S = 0.3  # how long a section stays at the place of who played it last
    CROWD_BURST_TAU_S = (1.2, 0.08)  # the burst: a slow decay less a fast one (peak at 0.23 s)
    CROWD_ATTACK_HZ = 400.0  # smooths a strike's impulse over about half a millisecond
    CROWD_TICK_ATTACK_HZ = 100.0

    def _build_crowd(self, inputs: PatchInputs) -> list[Any]:
        n = len(self.wearers)
        weights = [1.0, 0.12, 0.3, 0.12, 0.6, 0.12, 0.3, 0.12, 0.85, 0.12, 0.3, 0.12, 0.6, 0.12, 0.3, 0.2]
        # The tick patterns rotate by three steps per wearer: sixteen rotations, shared.
        rotations: dict[int, Any] = {}
        wearer: list[dict[str, Any]] = []
        for i, w in enumerate(self.wearers):
            place = (i + 0.5) / n
            level = pyo.Clip(inputs.value(f"{w}.level", 1.0), 0.0, 1.0)
            strike_gain = pyo.Clip(inputs.value(f"{w}.tone", 0.3), 0.0, 1.0, mul=0.4, add=0.1)
            rate = inputs.value(f"{w}.rate", 0.5)  # (clipped as its section's mean)
            chance = pyo.Clip(inputs.value(f"{w}.hrv", 0.4), 0.0, 1.0, mul=125.0, add=25.0)
            hit = self._impulses(inputs.trigger(f"{w}.pulse"), level)
            rot = (3 * i) % 16
            if rot not in rotations:
                table = pyo.DataTable(16, init=np.roll(weights, rot).tolist())
                rotations[rot] = (table, pyo.TableIndex(table, self._step))
            tick_trig = pyo.Percent(self._grid, percent=rotations[rot][1] * chance)
            tick = tick_trig * level
            burst = self._impulses(inputs.trigger(f"{w}.texture"), level)
            wearer.append({"level": level, "strike_gain": strike_gain, "rate": rate, "chance": chance, "hit": hit,
                           "hit_at": hit * place, "strike": hit * strike_gain, "tick_trig": tick_trig, "tick": tick,
                           "tick_at": tick * place, "burst": burst, "burst_at": burst * place})
        self._crowd: dict[str, Any] = {"wearers": wearer, "rotations": rotations, "sections": [], "grains": []}
        voice_gain = 0.3 / math.sqrt(max(1.0, n / 2.0))
        outs = [self._build_section(section, [wearer[i] for i in section.members], voice_gain)
                for section in crowd_sections(self.plan, self.wearers)]
        # Grain bursts: one cloud per set of notes (the wearers on one degree of the scale).
        clouds: dict[tuple[float, ...], list[int]] = {}
        for i, w in enumerate(self.wearers):
            clouds.setdefault(self.plan.burst_hz[w], []).append(i)
        outs += [self._build_cloud(notes, [wearer[i] for i in members]) for notes, members in clouds.items()]
        return outs

    @staticmethod
    def _impulses(voices: list[Any], level: Any) -> Any:
        """One sample of strength x level at each firing of any copy of a trigger."""
        if len(voices) == 1:
            return pyo.Clip(voices[0].strength, 0.0, 1.0, mul=voices[0].fire * level)
        return pyo.Mix([pyo.Clip(v.strength, 0.0, 1.0, mul=v.fire) for v in voices], voices=1, mul=level)

    def _decay(self, ex: Any, tau_s: float, mul: Any = 1.0) -> Any:
        """A one-pole envelope: each impulse of ``ex`` becomes a jump of its size decaying with ``tau_s``."""
        hz = decay_hz(tau_s)
        return pyo.Tone(ex, freq=hz, mul=mul * one_pole_gain(hz, self._sample_rate_hz))

    def _build_section(self, section: Section, members: list[dict[str, Any]], voice_gain: float) -> Any:
        """One section's bell (FM, with its strike of noise) and its ticks, played by all its wearers."""
        p = self._params
        sr = self._sample_rate_hz
        bell_hz = section.bell_hz
        decay_s = bell_decay_s(bell_hz)
        k = len(members)
        # A section's strikes add up in phase (one oscillator): their sum is kept near that
        # of as many separate voices by 1 / sqrt(wearers).
        gain = voice_gain / math.sqrt(k)
        hits = pyo.Mix([m["hit"] for m in members], voices=1)
        strikes = pyo.Mix([m["strike"] for m in members], voices=1)
        amp = self._decay(pyo.Tone(hits, freq=self.CROWD_ATTACK_HZ), self.CROWD_BELL_TAU * decay_s, gain)
        # The bell's brightness: the strike's timbre (0.1..0.5 of strength x level), as an FM index.
        index = self._decay(pyo.Tone(strikes, freq=self.CROWD_ATTACK_HZ), self.CROWD_BRIGHT_TAU * decay_s, 8.0)
        mod_hz = bell_hz * section.ratio
        bell_mod = pyo.Sine(freq=mod_hz, mul=pyo.Clip(index, 0.0, 4.0, mul=mod_hz))
        bell = pyo.Sine(freq=bell_mod + bell_hz, mul=amp)
        strike_env = self._decay(strikes, self.CROWD_STRIKE_TAU_S, gain)
        strike = pyo.Biquad(self._noise, freq=min(bell_hz * 4.0, 9000.0), q=4.0, type=2, mul=strike_env)
        # Ticks: the section's note an octave up, as long and as bright as its wearers' mean rate.
        tick_hz = self.plan.tick_hz[self.wearers[section.members[0]]]
        mean_rate = pyo.Clip(pyo.Mix([m["rate"] for m in members], voices=1, mul=1.0 / k), 0.0, 1.0)
        rate = pyo.SigTo(mean_rate, time=self.WEARER_DEFAULTS["rate"][1], init=self.WEARER_DEFAULTS["rate"][0])
        tick_tau_s = pyo.Min((0.16 - 0.12 * rate) * self.CROWD_TICK_TAU, self._step_s * (0.9 * self.CROWD_TICK_TAU))
        tick_sum = pyo.Mix([m["tick"] for m in members], voices=1)
        ticks = pyo.Tone(tick_sum, freq=self.CROWD_TICK_ATTACK_HZ)
        # (1 / c1 of a one-pole lowpass is about tau x the sample rate at these long time constants.)
        tick_env = pyo.Tone(ticks, freq=1.0 / (tick_tau_s * (2.0 * math.pi)),
                            mul=tick_tau_s * (sr * gain * 0.75) * p["rhythm.level"])
        tick_mod = pyo.Sine(freq=tick_hz, mul=(0.15 + 0.9 * rate) * tick_hz)
        tick = pyo.Sine(freq=tick_mod + tick_hz, mul=tick_env)
        # Where the section sounds: its wearers' places, weighted by what each played lately
        # (ticks count less than strikes, and nothing while the ticks are silent).
        tick_weight = p["rhythm.level"] * 0.3
        played = self._decay(hits + tick_sum * tick_weight, self.CROWD_PLACE_TAU_S)
        played_at = self._decay(pyo.Mix([m["hit_at"] for m in members], voices=1)
                                + pyo.Mix([m["tick_at"] for m in members], voices=1) * tick_weight,
                                self.CROWD_PLACE_TAU_S)
        place = pyo.Clip(played_at / (played + 1e-4), 0.0, 1.0)
        out = pyo.Pan(bell + strike + tick, outs=2, pan=place, spread=0.25)
        self._crowd["sections"].append({
            "section": section, "mean_rate": mean_rate, "hits": hits, "strikes": strikes, "amp": amp, "index": index, "bell_mod": bell_mod,
            "bell": bell, "strike_env": strike_env, "strike": strike, "rate": rate, "tick_tau_s": tick_tau_s,
            "ticks": ticks, "tick_env": tick_env, "tick_mod": tick_mod, "tick": tick, "tick_hz": tick_hz,
            "played": played, "played_at": played_at, "place": place, "out": out,
        })
        return out

    def _build_cloud(self, notes_hz: tuple[float, ...], members: list[dict[str, Any]]) -> Any:
        """One grain cloud for the bursts of every wearer on one degree of the scale, at their places."""
        t = self._tables
        slow_s, fast_s = self.CROWD_BURST_TAU_S
        peak_s = math.log(slow_s / fast_s) * slow_s * fast_s / (slow_s - fast_s)
        norm = 1.0 / (math.exp(-peak_s / slow_s) - math.exp(-peak_s / fast_s))

        def shape(ex: Any) -> Any:  # a burst's envelope: a slow decay less a fast one
            return self._decay(ex, slow_s, norm) - self._decay(ex, fast_s, norm)

        # At most one full burst's density and loudness per cloud, however many wearers burst together.
        burst = pyo.Clip(shape(pyo.Mix([m["burst"] for m in members], voices=1)), 0.0, 1.0)
        # Where the grains fall: the bursts' places, weighted by their envelopes.
        place = shape(pyo.Mix([m["burst_at"] for m in members], voices=1)) / (burst + 1e-4)
        size = t["grains"].getSize()
        base = self.plan.grain_base_hz
        pitch = pyo.Choice([f / base for f in notes_hz], freq=40.0)
        grain_pos = pyo.Randh(min=0.05 * size, max=0.49 * size, freq=43.0)
        grain_dur = pyo.Randh(min=0.04, max=0.12, freq=37.0)
        # Within 0..1: pyo's Particle pans by square roots (a NaN outside stays in the reverb).
        grain_pan = pyo.Clip(pyo.Randh(min=place - 0.12, max=place + 0.12, freq=31.0), 0.0, 1.0)
        grains = pyo.Particle(
            t["grains"], t["grain_env"],
            dens=burst * (25.0 + 45.0 * self._params["texture.density"]),
            pitch=pitch, pos=grain_pos, dur=grain_dur, dev=0.5, pan=grain_pan, chnls=2, mul=burst * 0.22,
        )
        self._crowd["grains"].append({"notes_hz": notes_hz, "burst": burst, "place": place, "pitch": pitch,
                                      "grain_pos": grain_pos, "grain_dur": grain_dur, "grain_pan": grain_pan,
                                      "grains": grains})
        return grains

    def _build_pad(self) -> Any:
        """Two layers take turns: one holds a chord while the other, silent, changes to the
        next; then they crossfade. Both follow one clock (sample-accurate tables read by
        oscillators), so a layer's notes only change while its gain is zero."""
        p = self._params
        chord_s = self.config.chord_s
        chords, tension = self.plan.chords_hz, self.plan.tension_hz
        cycle_hz = 1.0 / (len(chords) * chord_s)
        consonance = p["harmony.consonance"]
        detune = 0.12 + 0.55 * (1.0 - consonance)  # the saws' spread: beating grows with tension
        tension_gain = (1.0 - consonance) * 0.7
        gain_table = pyo.DataTable(8192, init=crossfade_gain(8192, CROSSFADE_FRACTION))
        self._pad: dict[str, Any] = {"gain_table": gain_table, "detune": detune, "tension_gain": tension_gain}
        layers = []
        for k, name in enumerate(("a", "b")):  # a plays chords 0, 2, 4 ..., b plays 1, 3, 5 ...
            # Layer a's notes are valid from half a chord before its chord to half after.
            phase = 1.0 / len(chords) if k == 0 else 0.0
            note_tables = [pyo.DataTable(len(chords) // 2, init=[c[v] for c in chords[k::2]])
                           for v in range(len(chords[0]))]
            tension_tables = [pyo.DataTable(len(chords) // 2, init=[c[v] for c in tension[k::2]])
                              for v in range(len(tension[0]))]
            notes = [pyo.Osc(tab, freq=cycle_hz, phase=phase, interp=1) for tab in note_tables]
            tense = [pyo.Osc(tab, freq=cycle_hz, phase=phase, interp=1) for tab in tension_tables]
            gain = pyo.Osc(gain_table, freq=1.0 / (2.0 * chord_s), phase=0.5 * k)
            saws = pyo.SuperSaw(freq=notes, detune=detune, bal=0.65, mul=gain * 0.3)
            cluster = pyo.SuperSaw(freq=tense, detune=detune, bal=0.65, mul=gain * tension_gain * 0.3)
            bass = pyo.Sine(freq=notes[0], mul=gain * consonance * 0.25)
            layers += [saws, cluster, bass]
            self._pad[name] = {"note_tables": note_tables, "tension_tables": tension_tables, "notes": notes,
                               "tense": tense, "gain": gain, "saws": saws, "cluster": cluster, "bass": bass}
        breath = pyo.Sine(freq=1.0 / 23.0, mul=0.12, add=1.0)  # a slow breath in the filter
        cutoff_hz = pyo.Scale(p["drone.brightness"], 0.0, 1.0, 150.0, 4000.0, exp=2.0) * breath
        mixed = pyo.Mix(layers, voices=2)
        pad = pyo.MoogLP(mixed, freq=cutoff_hz, res=0.2, mul=p["drone.level"])
        self._pad |= {"breath": breath, "cutoff_hz": cutoff_hz, "mixed": mixed, "out": pad}
        return pad

    def _build_ambient(self) -> Any:
        """A sparse field of grains over the whole room, thicker with ``texture.density``."""
        t = self._tables
        density = self._params["texture.density"]
        size = t["grains"].getSize()
        base = self.plan.grain_base_hz
        pitch = pyo.Choice([f / base for f in self.plan.ambient_hz], freq=30.0)
        pos = pyo.Randh(min=0.05 * size, max=0.49 * size, freq=29.0)
        dur = pyo.Randh(min=0.05, max=0.15, freq=23.0)
        pan = pyo.Randh(min=0.05, max=0.95, freq=19.0)
        field = pyo.Particle(
            t["grains"], t["grain_env"], dens=density * 30.0, pitch=pitch, pos=pos, dur=dur, dev=0.8,
            pan=pan, chnls=2, mul=density * 0.05 + 0.02,
        )
        self._ambient = {"pitch": pitch, "pos": pos, "dur": dur, "pan": pan, "field": field}
        return field

    def sounding_pitches_hz(self) -> dict[str, list[float]]:
        """Every pitch the built graph can play, read back from its pyo objects, in hertz.

        Returns
        -------
        dict of str to list of float
            ``bells``, ``ticks``, ``pad`` (chord notes), ``tension``, ``grains``
            (every grain's note: the material's pitch times each playback ratio).
        """
        base = self.plan.grain_base_hz
        if self.crowd:
            sections = self._crowd["sections"]
            grain_choices = [c["pitch"].choice for c in self._crowd["grains"]] + [self._ambient["pitch"].choice]
            bells = [float(s["section"].bell_hz) for s in sections]
            ticks = [float(s["tick_hz"]) for s in sections]
        else:
            grain_choices = [v["pitch"].choice for v in self._voices.values()] + [self._ambient["pitch"].choice]
            bells = [float(v["bell_hz"]) for v in self._voices.values()]
            ticks = [float(v["tick_hz"]) for v in self._voices.values()]
        return {
            "bells": bells,
            "ticks": ticks,
            "pad": [f for layer in "ab" for tab in self._pad[layer]["note_tables"] for f in tab.getTable()],
            "tension": [f for layer in "ab" for tab in self._pad[layer]["tension_tables"] for f in tab.getTable()],
            "grains": [base * r for choice in grain_choices for r in choice],
        }
