"""The eco-symphony for a crowd: wearers beyond ``solo_wearers`` share voices by pitch.

A real pyo server in manual mode renders the patch to a WAV file that the tests
read back and measure; the patch's own output (before the engine's limiter) is
recorded into a table where its level is what is asked.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pyo
import pytest
from scipy.io import wavfile
from scipy.signal import butter, sosfilt

from installation.sound.engine import SoundEngine
from installation.sound.patch import Patch, load_patch

from tests.helpers import REPO

EcoSymphony: type[Patch] = load_patch(REPO / "patches" / "eco_symphony.py")
MODULE: Any = sys.modules[EcoSymphony.__module__]
RATE = 48000
BUFFER = 256


def names(count: int) -> list[str]:
    return [f"p{i + 1}" for i in range(count)]


def start_engine(tmp_path: Path, wearers: list[str], settings: dict[str, Any] | None = None) -> SoundEngine:
    engine = SoundEngine(EcoSymphony(wearers, settings or {}), "manual", RATE, BUFFER, ceiling_db=-1.0,
                         fade_in_s=0.01, fade_out_s=0.05, wav_path=tmp_path / "out.wav", seed=3)
    engine.start()
    return engine


def finish(engine: SoundEngine) -> np.ndarray:
    """Stop the engine and read its recording: frames x 2 channels."""
    engine.stop()
    assert engine.errors == 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", wavfile.WavFileWarning)
        rate, x = wavfile.read(engine.wav_path)
    assert rate == RATE
    return x.astype(np.float64)


def now(engine: SoundEngine) -> int:
    return engine.buffers_done * BUFFER


def quiet_but_wearers(engine: SoundEngine) -> None:
    for address in ("drone.level", "rhythm.level", "texture.density", "reverb.mix"):
        engine.set(address, 0.0)


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x))))


def band_share(mono: np.ndarray, hz: float, width: float = 0.015) -> float:
    """Share of the spectrum's energy within +-``width`` (relative) of ``hz``."""
    spectrum = np.abs(np.fft.rfft(mono * np.hanning(mono.size))) ** 2
    f = np.fft.rfftfreq(mono.size, 1.0 / RATE)
    return float(spectrum[(f > hz * (1 - width)) & (f < hz * (1 + width))].sum() / spectrum.sum())


# -- who shares what ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scale", "count", "sections"),
    [
        ("pentatonic", 9, 9),
        ("pentatonic", 64, 10),  # five notes, each in two octaves
        ("pentatonic", 96, 10),
        ("major", 64, 14),
        ("dorian", 10, 10),
    ],
)
def test_a_crowd_shares_one_section_per_bell_pitch(scale: str, count: int, sections: int) -> None:
    wearers = names(count)
    plan = MODULE.plan_pitches(110.0, scale, wearers)
    got = MODULE.crowd_sections(plan, wearers)
    assert len(got) == sections
    members = sorted(i for s in got for i in s.members)
    assert members == list(range(count))  # every wearer in exactly one section
    for s in got:
        assert {plan.bell_hz[wearers[i]] for i in s.members} == {s.bell_hz}


@pytest.mark.parametrize(
    ("count", "settings", "crowd", "voices"),
    [
        (1, {}, False, 3),
        (8, {}, False, 3),  # a small audience sounds as before: its own voices
        (9, {}, True, 1),
        (64, {}, True, 1),
        (64, {"solo_wearers": 64}, False, 3),
        (1, {"solo_wearers": 0}, True, 1),
        (9, {"solo_wearers": 16.0}, False, 3),  # a show file's whole number may arrive as a float
    ],
)
def test_the_crowd_begins_after_solo_wearers(count: int, settings: dict[str, Any], crowd: bool, voices: int) -> None:
    patch = EcoSymphony(names(count), settings)
    assert patch.crowd is crowd  # type: ignore[attr-defined]
    assert EcoSymphony.trigger_voices_for(names(count), settings) == voices


@pytest.mark.parametrize("count", [16, 64, 96])
def test_a_big_crowd_builds_and_plays_the_planned_pitches(tmp_path: Path, count: int) -> None:
    engine = start_engine(tmp_path, names(count))
    engine.process_seconds(0.5)
    patch: Any = engine.patch
    sounding = patch.sounding_pitches_hz()
    assert sorted(set(sounding["bells"])) == sorted(set(patch.plan.bell_hz.values()))
    assert sorted(set(sounding["ticks"])) == sorted(set(patch.plan.tick_hz.values()))
    grains = np.array(sounding["grains"])
    for notes in patch.plan.burst_hz.values():
        for hz in notes:
            assert np.isclose(grains, hz, rtol=1e-6).any(), hz
    x = finish(engine)
    assert np.isfinite(x).all()


# -- every wearer still plays ------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "who", "scale"),
    [
        (64, "p1", "pentatonic"),
        (64, "p50", "pentatonic"),
        (64, "p64", "pentatonic"),
        (96, "p77", "minor"),
        (12, "p9", "pentatonic"),
    ],
)
def test_every_wearer_of_a_crowd_strikes_their_own_bell_at_their_place(
    tmp_path: Path, count: int, who: str, scale: str
) -> None:
    wearers = names(count)
    engine = start_engine(tmp_path, wearers, {"scale": scale})
    quiet_but_wearers(engine)
    engine.set(f"{who}.tone", 0.0)
    engine.process_seconds(2.0)  # the layers' levels glide to 0 (up to 1 s)
    at = now(engine)
    engine.trigger(f"{who}.pulse", 0.8)
    engine.process_seconds(0.6)
    bell_hz = engine.patch.plan.bell_hz[who]  # type: ignore[attr-defined]
    x = finish(engine)
    before, after = x[at - RATE // 5 : at], x[at : at + RATE // 10]
    assert rms(after) > 30 * max(rms(before), 1e-5), (rms(before), rms(after))
    assert band_share(x[at : at + RATE // 2].sum(axis=1), bell_hz) > 0.5
    place = (wearers.index(who) + 0.5) / count
    left, right = rms(after[:, 0]), rms(after[:, 1])
    if place < 0.3:
        assert left > 2.0 * right, (left, right)
    elif place > 0.7:
        assert right > 2.0 * left, (left, right)


@pytest.mark.parametrize(("who", "side"), [("p3", 0), ("p60", 1)])
def test_a_crowd_wearers_burst_scatters_grains_at_their_place(tmp_path: Path, who: str, side: int) -> None:
    engine = start_engine(tmp_path, names(64))
    quiet_but_wearers(engine)
    engine.process_seconds(2.0)
    at = now(engine)
    engine.trigger(f"{who}.texture", 1.0)
    engine.process_seconds(2.0)
    x = finish(engine)
    high = sosfilt(butter(4, 2000.0, "highpass", fs=RATE, output="sos"), x, axis=0)
    before, during = high[at - RATE // 2 : at], high[at + RATE // 4 : at + 2 * RATE]
    assert rms(during) > 0.005 and rms(during) > 20 * max(rms(before), 1e-5), (rms(before), rms(during))
    assert rms(during[:, side]) > 1.5 * rms(during[:, 1 - side])


@pytest.mark.parametrize("layer", ["pulse", "texture", "ticks"])
def test_a_crowd_wearer_at_level_zero_adds_almost_nothing(tmp_path: Path, layer: str) -> None:
    """Everyone else at level 0; the wearer plays at level 1, then the same at level 0."""
    wearers = names(16)
    engine = start_engine(tmp_path, wearers)
    quiet_but_wearers(engine)
    for w in wearers:
        engine.set(f"{w}.level", 0.0)
    engine.set("p5.hrv", 1.0)
    windows = []
    for level in (1.0, 0.0):
        engine.set("p5.level", level)
        engine.process_seconds(2.5)  # what the last window played rings out
        at = now(engine)
        if layer == "ticks":
            engine.set("rhythm.level", 1.0)
        else:
            engine.trigger(f"p5.{layer}", 1.0)
        engine.process_seconds(2.0)
        engine.set("rhythm.level", 0.0)
        windows.append((at, at + 2 * RATE))
    x = finish(engine)
    loud, silent = (rms(x[a:b]) for a, b in windows)
    assert loud > 0.002, loud
    assert silent < 0.01 * loud, (loud, silent)


# -- a crowd stays within bounds -----------------------------------------------------------


LOUDEST = {"drone.level": 1.0, "rhythm.level": 1.0, "texture.density": 1.0, "harmony.consonance": 1.0,
           "rhythm.tempo": 1.0}


def peak_all_at_once(tmp_path: Path, count: int, loud: dict[str, float], tone: float) -> float:
    """Every wearer strikes and bursts in the same buffer, three times (strength 1, HRV 1): the
    largest sample of the patch's own output, before the engine's limiter."""
    wearers = names(count)
    tmp_path.mkdir(exist_ok=True)
    engine = start_engine(tmp_path, wearers)
    for address, value in loud.items():
        engine.set(address, value)
    for w in wearers:
        engine.set(f"{w}.tone", tone)
        engine.set(f"{w}.hrv", 1.0)
    engine.process_seconds(2.0)
    table = pyo.NewTable(length=4.0, chnls=2)
    record = pyo.TableRec(engine.patch._reverb, table).play()  # type: ignore[attr-defined]
    for _ in range(3):
        for w in wearers:
            engine.trigger(f"{w}.pulse", 1.0)
            engine.trigger(f"{w}.texture", 1.0)
        engine.process_seconds(1.2)
    out = np.asarray(table.getTable(all=True), dtype=np.float64)
    del record
    finish(engine)
    assert np.isfinite(out).all()
    return float(np.abs(out).max())


@pytest.mark.parametrize(("count", "tone"), [(32, 0.3), (64, 0.3), (64, 1.0), (96, 1.0)])
def test_a_whole_crowd_striking_at_once_does_not_clip(tmp_path: Path, count: int, tone: float) -> None:
    """Every other parameter at its default."""
    peak = peak_all_at_once(tmp_path, count, {}, tone)
    assert 0.05 < peak < 1.0, peak


@pytest.mark.parametrize("count", [64, 96])
def test_a_crowd_at_its_loudest_is_no_louder_than_eight_wearers(tmp_path: Path, count: int) -> None:
    """Every layer at full level: eight wearers of their own (the patch as before) are the bound."""
    small = peak_all_at_once(tmp_path / "small", 8, LOUDEST, 1.0)
    crowd = peak_all_at_once(tmp_path / "crowd", count, LOUDEST, 1.0)
    assert crowd <= small, (crowd, small)


def max_step(x: np.ndarray) -> float:
    return float(np.abs(np.diff(x, axis=0)).max())


QUIET = {"drone.level": 0.0, "rhythm.level": 0.0, "texture.density": 0.0, "reverb.mix": 0.0}
TICKS = QUIET | {"rhythm.level": 1.0, "rhythm.tempo": 1.0}


@pytest.mark.parametrize(
    ("jumping", "background", "strike"),
    [
        ("p1.level", QUIET, True),  # while the bell rings
        ("p1.tone", QUIET, True),
        ("p1.rate", TICKS, False),  # while ticks play
        ("p1.hrv", TICKS, False),
        ("p1.level", TICKS, False),
    ],
)
def test_no_wearer_parameter_jump_clicks_in_a_crowd(
    tmp_path: Path, jumping: str, background: dict[str, float], strike: bool
) -> None:
    """As the solo patch's test of the same name: a parameter jumps 0 -> 1 and back while
    its layer sounds (here every wearer of a crowd at once, all in step); across a jump
    the largest sample-to-sample step stays within 1.5 times that of the held settings."""
    wearers = names(12)
    engine = start_engine(tmp_path, wearers)
    addresses = [jumping.replace("p1", w) for w in wearers]
    for address, value in background.items():
        engine.set(address, value)
    for w in wearers:
        engine.set(f"{w}.hrv", 1.0)
    for address in addresses:
        engine.set(address, 0.0)
    engine.process_seconds(2.2)
    windows = []
    for target in (None, 1.0, None, 0.0):
        start = now(engine)
        if strike:
            for w in wearers:
                engine.trigger(f"{w}.pulse", 1.0)
        engine.process_seconds(0.1)
        for address in addresses if target is not None else []:
            engine.set(address, target)
        engine.process_seconds(2.3)
        windows.append((start, now(engine)))
    x = finish(engine)
    held_0, up, held_1, down = (max_step(x[a:b]) for a, b in windows)
    normal = max(held_0, held_1)
    assert normal > 1e-4, (held_0, held_1)  # the layer did sound
    assert up <= 1.5 * normal + 0.002, (up, held_0, held_1)
    assert down <= 1.5 * normal + 0.002, (down, held_0, held_1)
