"""The eco-symphony patch, heard: a real pyo server in manual mode renders it to a WAV
file that the tests read back and measure."""

from __future__ import annotations

import math
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.io import wavfile
from scipy.signal import butter, sosfilt

from installation.config import ConfigError, load_show, parse_show
from installation.runtime.launch import prepare_show
from installation.sound.engine import SoundEngine
from installation.sound.patch import Patch, PatchError, load_patch
from installation.sound.wire import expand_parameters

from tests.helpers import DEFAULT_SHOW, REPO

PATCH = REPO / "patches" / "eco_symphony.py"
RATE = 48000
BUFFER = 256
EcoSymphony: type[Patch] = load_patch(PATCH)
MODULE: Any = sys.modules[EcoSymphony.__module__]  # the patch file's module: its scales and planning

#: The named scales, in semitones above the root, written out here independently of the patch.
EXPECTED_SCALES = {
    "pentatonic": {0, 2, 4, 7, 9},
    "minor-pentatonic": {0, 3, 5, 7, 10},
    "major": {0, 2, 4, 5, 7, 9, 11},
    "minor": {0, 2, 3, 5, 7, 8, 10},
    "dorian": {0, 2, 3, 5, 7, 9, 10},
    "phrygian": {0, 1, 3, 5, 7, 8, 10},
    "lydian": {0, 2, 4, 6, 7, 9, 11},
    "mixolydian": {0, 2, 4, 5, 7, 9, 10},
}
CONTINUOUS = [a for a, k in EcoSymphony.PARAMETERS.items() if k == "continuous"]
TRIGGERS = [a for a, k in EcoSymphony.PARAMETERS.items() if k == "trigger"]


def start_engine(tmp_path: Path, wearers: list[str], settings: dict[str, float | str] | None = None) -> SoundEngine:
    patch = EcoSymphony(wearers, settings or {})
    engine = SoundEngine(patch, "manual", RATE, BUFFER, ceiling_db=-1.0, fade_in_s=0.01, fade_out_s=0.05,
                         wav_path=tmp_path / "out.wav")
    engine.start()
    return engine


def finish(engine: SoundEngine) -> np.ndarray:
    """Stop the engine and read its recording: frames x 2 channels, float32."""
    engine.stop()
    assert engine.errors == 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", wavfile.WavFileWarning)  # pyo adds a non-data chunk
        rate, x = wavfile.read(engine.wav_path)
    assert rate == RATE and x.dtype == np.float32
    return x


def now(engine: SoundEngine) -> int:
    """The next frame the engine will compute (an index into its recording)."""
    return engine.buffers_done * BUFFER


def only_wearers(engine: SoundEngine) -> None:
    """Silence the pad, the ticks and the ambient grains."""
    for address in ("drone.level", "rhythm.level", "texture.density"):
        engine.set(address, 0.0)


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def high_band(x: np.ndarray, cutoff_hz: float = 2000.0) -> np.ndarray:
    return sosfilt(butter(4, cutoff_hz, "highpass", fs=RATE, output="sos"), x, axis=0)


def band_energy(mono: np.ndarray, freqs_hz: list[float], width: float = 0.015) -> float:
    """Spectral energy within +-``width`` (relative) of each frequency."""
    spectrum = np.abs(np.fft.rfft(mono * np.hanning(mono.size))) ** 2
    f = np.fft.rfftfreq(mono.size, 1.0 / RATE)
    return float(sum(spectrum[(f > hz * (1 - width)) & (f < hz * (1 + width))].sum() for hz in freqs_hz))


# -- what each layer does ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("wearers", "who", "tone"),
    [
        (["p1"], "p1", 0.0),
        (["p1", "p2", "p3", "p4"], "p3", 1.0),
        ([f"p{i + 1}" for i in range(8)], "p2", 0.0),
        ([f"p{i + 1}" for i in range(8)], "p6", 0.0),
    ],
)
def test_a_beat_strikes_the_wearers_tuned_bell(tmp_path: Path, wearers: list[str], who: str, tone: float) -> None:
    engine = start_engine(tmp_path, wearers)
    only_wearers(engine)
    engine.set(f"{who}.tone", tone)
    engine.process_seconds(2.0)
    at = now(engine)
    engine.trigger(f"{who}.pulse", 0.8)
    engine.process_seconds(0.6)
    bell_hz = engine.patch.plan.bell_hz[who]  # type: ignore[attr-defined]
    x = finish(engine)
    before, after = x[at - RATE // 5 : at], x[at : at + RATE // 10]
    assert rms(after) > 30 * max(rms(before), 1e-5), (rms(before), rms(after))
    if tone == 0.0:  # tuned: a pure strike's energy is mostly at its note
        mono = x[at : at + int(0.5 * RATE)].sum(axis=1)
        share = band_energy(mono, [bell_hz]) / band_energy(mono, [RATE / 4], width=0.9999)
        assert share > 0.5, share


def test_a_skin_conductance_response_scatters_bright_grains(tmp_path: Path) -> None:
    engine = start_engine(tmp_path, ["p1", "p2"])
    only_wearers(engine)
    engine.process_seconds(2.0)
    at = now(engine)
    engine.trigger("p1.texture", 1.0)
    engine.process_seconds(2.0)
    x = finish(engine)
    high = high_band(x)
    before, during = high[at - RATE : at], high[at + RATE // 4 : at + 2 * RATE]
    assert rms(during) > 0.005 and rms(during) > 20 * max(rms(before), 1e-5), (rms(before), rms(during))
    assert rms(during[:, 0]) > 1.5 * rms(during[:, 1])  # at p1's place, on the left


@pytest.mark.parametrize("layer", ["pulse", "texture", "ticks"])
def test_a_wearer_at_level_zero_adds_almost_nothing(tmp_path: Path, layer: str) -> None:
    """Quality drop -> silence: the same input at level 1 and then at level 0."""
    engine = start_engine(tmp_path, ["p1"])
    only_wearers(engine)
    engine.set("reverb.mix", 0.0)  # the shared reverb's tail is not the wearer's
    engine.set("p1.hrv", 1.0)
    engine.process_seconds(2.0)
    windows = []
    for level in (1.0, 0.0):
        engine.set("p1.level", level)
        engine.process_seconds(2.5)  # the level glides (1.2 s), the reverb rings out
        at = now(engine)
        if layer == "ticks":
            engine.set("rhythm.level", 1.0)
        else:
            engine.trigger(f"p1.{layer}", 1.0)
        engine.process_seconds(2.0)
        engine.set("rhythm.level", 0.0)
        windows.append((at, at + 2 * RATE))
    x = finish(engine)
    loud, silent = (rms(x[a:b]) for a, b in windows)
    assert loud > 0.003, loud
    assert silent < 0.01 * loud, (loud, silent)


def test_consonance_trades_the_tension_notes_for_a_pure_bass(tmp_path: Path) -> None:
    measured = {}
    for consonance in (0.0, 1.0):
        engine = start_engine(tmp_path, ["p1"], {"scale": "major", "root_hz": 110.0})
        engine.set("rhythm.level", 0.0)
        engine.set("texture.density", 0.0)
        engine.set("drone.brightness", 0.6)
        engine.set("harmony.consonance", consonance)
        engine.process_seconds(3.0)
        at = now(engine)
        engine.process_seconds(2.0)
        plan = engine.patch.plan  # type: ignore[attr-defined]
        mono = finish(engine)[at : at + 2 * RATE].sum(axis=1)
        total = float(np.sum(np.abs(np.fft.rfft(mono * np.hanning(mono.size))) ** 2))
        measured[consonance] = (band_energy(mono, list(plan.tension_hz[0])) / total,
                                band_energy(mono, [plan.chords_hz[0][0]]) / total)
    (tension_0, root_0), (tension_1, root_1) = measured[0.0], measured[1.0]
    assert tension_0 > 20 * tension_1, measured  # the added seconds are there only in tension
    assert root_1 > 2 * root_0, measured  # the sine bass grounds the consonant chord


def test_the_pad_moves_to_the_next_chord(tmp_path: Path) -> None:
    """With 10 s chords, the second chord holds from 7 to 13 s; the first before 3 s."""
    engine = start_engine(tmp_path, ["p1"], {"chord_s": 10.0, "scale": "pentatonic"})
    only_wearers(engine)
    engine.set("drone.level", 0.8)
    engine.set("drone.brightness", 0.6)
    engine.process_seconds(13.0)
    plan = engine.patch.plan  # type: ignore[attr-defined]
    x = finish(engine).sum(axis=1)
    first, second = set(plan.chords_hz[0]), set(plan.chords_hz[1])
    only_first, only_second = sorted(first - second), sorted(second - first)
    assert only_first and only_second
    early, late = x[RATE // 2 : int(2.5 * RATE)], x[int(8.5 * RATE) : int(12.5 * RATE)]
    assert band_energy(early, only_first) > 10 * band_energy(early, only_second)
    assert band_energy(late, only_second) > 10 * band_energy(late, only_first)


# -- tuning and settings -----------------------------------------------------------------


def semitones_above(root_hz: float, freq_hz: float) -> float:
    return 12.0 * math.log2(freq_hz / root_hz)


@pytest.mark.parametrize("scale", sorted(EXPECTED_SCALES))
def test_every_planned_pitch_is_in_the_named_scale(scale: str) -> None:
    root_hz = 98.0
    plan = MODULE.plan_pitches(root_hz, scale, [f"p{i + 1}" for i in range(16)])
    pitches = plan.all_hz()
    for hz in pitches:
        k = semitones_above(root_hz, hz)
        assert abs(k - round(k)) < 1e-9 and round(k) % 12 in EXPECTED_SCALES[scale], (scale, hz, k)
    # Every note of the scale is heard somewhere, and wearers get distinct bells.
    assert {round(semitones_above(root_hz, hz)) % 12 for hz in pitches} == EXPECTED_SCALES[scale]
    assert len(set(plan.bell_hz.values())) >= min(16, 2 * len(EXPECTED_SCALES[scale]))


def test_the_built_graph_plays_the_planned_pitches(tmp_path: Path) -> None:
    root_hz = 138.59
    engine = start_engine(tmp_path, ["p1", "p2", "p3"], {"scale": "dorian", "root_hz": root_hz})
    sounding = engine.patch.sounding_pitches_hz()  # type: ignore[attr-defined]
    plan = engine.patch.plan  # type: ignore[attr-defined]
    finish(engine)
    assert sounding["bells"] == pytest.approx(list(plan.bell_hz.values()))
    assert sorted(sounding["pad"]) == pytest.approx(sorted(f for chord in plan.chords_hz for f in chord), rel=1e-6)
    for role, pitches in sounding.items():
        assert pitches, role
        for hz in pitches:
            k = semitones_above(root_hz, hz)
            assert abs(k - round(k)) < 1e-4 and round(k) % 12 in EXPECTED_SCALES["dorian"], (role, hz, k)


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"scale": "dorain"}, "sound.settings.scale: unknown scale 'dorain'; valid scales: pentatonic, "
                              "minor-pentatonic, major, minor, dorian, phrygian, lydian, mixolydian; "
                              "did you mean 'dorian'?"),
        ({"scale": "blues"}, "sound.settings.scale: unknown scale 'blues'; valid scales: pentatonic,"),
        ({"scale": 3.0}, "sound.settings.scale: unknown scale 3.0"),
        ({"root_hz": -110.0}, "sound.settings.root_hz: must be a number of hertz from 20 to 2000, got -110.0"),
        ({"root_hz": "A"}, "sound.settings.root_hz: must be a number of hertz"),
        ({"chord_s": 2.0}, "sound.settings.chord_s: must be a number of seconds from 10 to 600"),
        ({"rooot_hz": 110.0}, "sound.settings.rooot_hz: unknown setting; the eco-symphony takes chord_s, root_hz, "
                              "scale, solo_wearers; did you mean 'root_hz'?"),
        ({"solo_wearers": -1}, "sound.settings.solo_wearers: must be a whole number of wearers from 0 to 256, got -1"),
        ({"solo_wearers": 8.5}, "sound.settings.solo_wearers: must be a whole number of wearers"),
        ({"solo_wearers": True}, "sound.settings.solo_wearers: must be a whole number of wearers"),
        ({"solo_wearer": 8}, "did you mean 'solo_wearers'?"),
    ],
)
def test_bad_settings_name_the_setting_and_the_choices(settings: dict[str, float | str], expected: str) -> None:
    with pytest.raises(PatchError) as err:
        EcoSymphony(["p1"], settings)
    assert expected in str(err.value)
    with pytest.raises(PatchError):
        EcoSymphony.check_settings(settings)


def test_check_refuses_an_unknown_scale_with_the_file_and_key() -> None:
    path = DEFAULT_SHOW
    text = path.read_text().replace('scale = "pentatonic"', 'scale = "lydain"', 1)
    with pytest.raises(ConfigError, match=r"default\.toml: sound\.settings\.scale: unknown scale 'lydain'.*"
                                          r"did you mean 'lydian'\?"):
        prepare_show(parse_show(text, "show.toml", path))


@pytest.mark.parametrize("path", sorted((REPO / "patches").glob("*.toml")), ids=lambda p: p.name)
def test_every_shipped_show_drives_the_new_layers(path: Path) -> None:
    prepared = prepare_show(load_show(path))
    targets = {m.target for m in prepared.show.mappings} | {k for s in prepared.show.scenes for k in s.set}
    for wanted in ("sound.p*.pulse", "sound.p*.texture", "sound.p*.level", "sound.harmony.consonance",
                   "sound.reverb.mix", "sound.texture.density"):
        assert wanted in targets, (path.name, wanted)
    assert targets & {"sound.p*.hrv", "sound.rhythm.tempo"}, path.name


# -- robustness ----------------------------------------------------------------------------


def test_every_declared_parameter_is_accepted(tmp_path: Path) -> None:
    engine = start_engine(tmp_path, ["p1", "p2"])
    for pattern in EcoSymphony.PARAMETERS:
        for address in ([pattern.replace("p*", w) for w in ("p1", "p2")] if "p*" in pattern else [pattern]):
            for value in (0.0, 0.5, 1.0, -3.0, 7.0):  # values outside 0..1 are clipped, not refused
                if pattern in TRIGGERS:
                    engine.trigger(address, value)
                else:
                    engine.set(address, value)
                engine.process(2)
    # The patch reads every parameter it declares, and nothing else.
    declared = expand_parameters(EcoSymphony.PARAMETERS, ["p1", "p2"])
    assert set(engine.inputs.defaults) == {a for a, k in declared.items() if k == "continuous"}
    assert set(engine.inputs.triggers) == {a for a, k in declared.items() if k == "trigger"}
    x = finish(engine)  # no address was refused (errors == 0)
    assert np.all(np.isfinite(x)) and np.abs(x).max() > 0.01


@pytest.mark.parametrize("call", [("set", "drone.colour"), ("trigger", "p9.pulse"), ("set", "p1.pulse")])
def test_an_address_the_patch_does_not_read_is_counted_not_raised(tmp_path: Path, call: tuple[str, str]) -> None:
    engine = start_engine(tmp_path, ["p1", "p2"])
    method, address = call
    getattr(engine, method)(address, 0.5)
    engine.process(2)
    engine.stop()
    assert engine.errors == 1


def max_step(x: np.ndarray) -> float:
    """Largest sample-to-sample change in either channel."""
    return float(np.abs(np.diff(x, axis=0)).max())


QUIET = {"drone.level": 0.0, "rhythm.level": 0.0, "texture.density": 0.0, "reverb.mix": 0.0}
TICKS = QUIET | {"rhythm.level": 1.0, "rhythm.tempo": 1.0, "p1.hrv": 1.0}
PAD = QUIET | {"drone.level": 0.8, "drone.brightness": 0.3}


@pytest.mark.parametrize(
    ("jumping", "background", "strike"),
    [
        ("p1.level", QUIET, True),  # while the bell rings
        ("p1.tone", QUIET, True),
        ("p1.rate", TICKS, False),  # while ticks play
        ("p1.hrv", TICKS, False),
        ("rhythm.tempo", TICKS, False),
        ("rhythm.level", TICKS, False),
        ("drone.brightness", PAD, False),  # while the pad plays
        ("drone.level", PAD, False),
        ("harmony.consonance", PAD, False),
        ("texture.density", QUIET, False),  # the ambient grains
        ("reverb.mix", PAD, True),
        ("all", {}, True),
    ],
)
def test_no_parameter_jump_clicks(tmp_path: Path, jumping: str, background: dict[str, float], strike: bool) -> None:
    """A continuous parameter jumps 0 -> 1 and back while its layer sounds.

    The bound comes from the signal itself. Four 2.4 s windows follow each other,
    each starting with the same strike (when the case has one): held at 0, jump to
    1 (0.1 s in), held at 1, jump back to 0. The largest sample-to-sample step of
    the held windows is what the music does on its own at either setting; across
    a jump the step may not exceed 1.5 times the larger of the two (ticks and
    grains are random, so some margin) plus 0.002 (-54 dBFS, for settings where a
    layer is near silent). A smoothed parameter moves the sound between two held
    states, so its steps stay within theirs; an unsmoothed one moves the output
    by a layer's instantaneous amplitude in one sample: for the pad, the bell or
    a tick, several times the step of the same sound held. (With the patch's
    smoothing taken out, the level and mix cases fail by 3 to 30 times the bound;
    the timbre, rate, density and tempo parameters act through a filter, an
    oscillator's phase or a probability, and do not step even unsmoothed.)
    """
    engine = start_engine(tmp_path, ["p1"])
    addresses = [a.replace("p*", "p1") for a in CONTINUOUS] if jumping == "all" else [jumping]
    for address, value in background.items():
        engine.set(address, value)
    for address in addresses:
        engine.set(address, 0.0)
    engine.process_seconds(2.2)  # the longest glide is 2 s
    windows = []
    for target in (None, 1.0, None, 0.0):
        start = now(engine)
        if strike:
            engine.trigger("p1.pulse", 1.0)
        engine.process_seconds(0.1)
        for address in addresses if target is not None else []:
            engine.set(address, target)
        engine.process_seconds(2.3)
        windows.append((start, now(engine)))
    x = finish(engine)
    held_0, up, held_1, down = (max_step(x[a:b]) for a, b in windows)
    normal = max(held_0, held_1)
    assert normal > 1e-4 or jumping in ("p1.level",), (held_0, held_1)  # the layer did sound
    assert up <= 1.5 * normal + 0.002, (up, held_0, held_1)
    assert down <= 1.5 * normal + 0.002, (down, held_0, held_1)
