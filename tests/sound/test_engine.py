"""The sound engine on a real pyo server in manual mode (deterministic, no sound card)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy.io import wavfile

from installation.sound.engine import SoundEngine, SoundError
from installation.sound.patch import load_patch

from tests.helpers import REPO

PATCH = REPO / "patches" / "eco_symphony.py"
RATE = 48000
BUFFER = 64


def read_wav(path: Path) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", wavfile.WavFileWarning)  # pyo adds a non-data chunk
        rate, x = wavfile.read(path)
    assert rate == RATE and x.dtype == np.float32 and x.shape[1] == 2
    return x


def make_engine(tmp_path: Path, wearers: list[str], **kw: float) -> SoundEngine:
    patch = load_patch(PATCH)(wearers, {})
    options = {"fade_in_s": 0.01, "fade_out_s": 0.05, "ceiling_db": -1.0} | kw
    return SoundEngine(patch, "manual", RATE, BUFFER, wav_path=tmp_path / "out.wav", **options)


def only_bells(engine: SoundEngine) -> None:
    """Silence the pad, the ticks and the ambient grains: only struck bells sound."""
    for address in ("drone.level", "rhythm.level", "texture.density"):
        engine.set(address, 0.0)


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def test_beat_makes_an_audible_transient(tmp_path: Path) -> None:
    engine = make_engine(tmp_path, ["p1", "p2"])
    engine.start()
    only_bells(engine)
    engine.process_seconds(2.5)  # drone glides to silence, reverb tail dies
    trigger_frame = engine.buffers_done * BUFFER
    engine.trigger("p1.pulse", 1.0)
    engine.process_seconds(0.5)
    engine.stop()
    x = read_wav(tmp_path / "out.wav")
    before = x[trigger_frame - RATE // 5 : trigger_frame]
    after = x[trigger_frame : trigger_frame + RATE // 10]
    assert rms(after) > 30 * max(rms(before), 1e-6), (rms(before), rms(after))
    assert np.abs(after).max() > 0.05
    loud = np.flatnonzero(np.abs(x[trigger_frame:]).max(axis=1) > 0.01)
    assert loud.size and loud[0] < 0.003 * RATE  # onset within 3 ms of the trigger (no hidden delay)


def test_untriggered_voice_stays_silent_and_wearers_pan_apart(tmp_path: Path) -> None:
    engine = make_engine(tmp_path, ["p1", "p2"])
    engine.start()
    only_bells(engine)
    engine.set("reverb.mix", 0.0)
    engine.process_seconds(2.5)
    start = engine.buffers_done * BUFFER
    engine.trigger("p1.pulse", 1.0)
    engine.process_seconds(0.4)
    engine.stop()
    seg = read_wav(tmp_path / "out.wav")[start : start + RATE // 5]
    left, right = rms(seg[:, 0]), rms(seg[:, 1])
    assert left > 2 * right  # p1 sits on the left of two wearers


def test_quiet_input_does_not_clip(tmp_path: Path) -> None:
    engine = make_engine(tmp_path, ["p1", "p2", "p3", "p4"])
    engine.start()
    for i in range(8):
        engine.trigger(f"p{i % 4 + 1}.pulse", 0.3)
        engine.set("drone.brightness", 0.2)
        engine.process_seconds(0.5)
    engine.stop()
    x = read_wav(tmp_path / "out.wav")
    peak = float(np.abs(x).max())
    assert 0.01 < peak < 0.7 * engine.ceiling, peak  # audible, far from the limiter


@pytest.mark.parametrize("ceiling_db", [-1.0, -12.0])
def test_limiter_holds_the_ceiling(tmp_path: Path, ceiling_db: float) -> None:
    wearers = [f"p{i + 1}" for i in range(16)]
    engine = make_engine(tmp_path, wearers, ceiling_db=ceiling_db)
    engine.start()
    engine.set("drone.level", 1.0)
    engine.set("drone.brightness", 1.0)
    for _ in range(60):
        for w in wearers:
            engine.trigger(f"{w}.pulse", 1.0)
        engine.process_seconds(0.05)
    engine.stop()
    x = read_wav(tmp_path / "out.wav")
    ceiling = 10 ** (ceiling_db / 20)
    assert np.abs(x).max() <= ceiling + 1e-6
    assert np.abs(x).max() > 0.7 * ceiling  # it was loud enough to need the limiter
    assert np.all(np.isfinite(x))


def test_fade_in_starts_silent(tmp_path: Path) -> None:
    engine = make_engine(tmp_path, ["p1"], fade_in_s=1.0)
    engine.start()
    engine.set("drone.level", 1.0)
    engine.process_seconds(2.0)
    engine.stop()
    x = read_wav(tmp_path / "out.wav")
    assert rms(x[: RATE // 20]) < 0.1 * rms(x[int(1.2 * RATE) : int(1.8 * RATE)])


def test_wav_backend_needs_a_path() -> None:
    with pytest.raises(SoundError, match="wav_path"):
        SoundEngine(load_patch(PATCH)(["p1"], {}), "wav")


def test_level_zero_silences_a_wearer(tmp_path: Path) -> None:
    engine = make_engine(tmp_path, ["p1"])
    engine.start()
    only_bells(engine)
    engine.set("p1.level", 0.0)
    engine.process_seconds(2.5)
    start = engine.buffers_done * BUFFER
    engine.trigger("p1.pulse", 1.0)
    engine.process_seconds(0.3)
    engine.stop()
    x = read_wav(tmp_path / "out.wav")
    assert np.abs(x[start : start + RATE // 5]).max() < 0.005


def test_panic_silences_within_50_ms_and_releases(tmp_path: Path) -> None:
    engine = make_engine(tmp_path, ["p1"])
    engine.start()
    engine.set("drone.level", 1.0)
    engine.set("drone.brightness", 1.0)
    engine.process_seconds(1.0)  # the drone is up and loud
    panic_frame = engine.buffers_done * BUFFER
    assert engine.panic() is True
    engine.trigger("p1.pulse", 1.0)  # a beat during panic makes no sound either
    engine.process_seconds(0.5)
    release_frame = engine.buffers_done * BUFFER
    assert engine.panic() is False
    engine.process_seconds(0.5)
    engine.stop()
    x = read_wav(tmp_path / "out.wav")
    loud = rms(x[panic_frame - RATE // 10 : panic_frame])
    assert loud > 0.01
    quiet_from = panic_frame + int(0.05 * RATE)
    assert np.abs(x[quiet_from:release_frame]).max() < 1e-4  # -80 dBFS: silence
    assert rms(x[release_frame + RATE // 10 : release_frame + RATE // 4]) > 0.3 * loud
    # the mute is a ramp: no sample-to-sample step larger than the music's own
    steps = np.abs(np.diff(x[panic_frame - RATE // 10 : quiet_from], axis=0)).max()
    assert steps <= np.abs(np.diff(x[panic_frame - RATE // 2 : panic_frame], axis=0)).max() * 1.05


@pytest.mark.parametrize("delay_s", [0.05, 0.3, 0.9])
def test_trigger_later_lands_on_time(tmp_path: Path, delay_s: float) -> None:
    engine = make_engine(tmp_path, ["p1"])
    engine.start()
    only_bells(engine)
    engine.process_seconds(2.5)
    frame = engine.buffers_done * BUFFER
    engine.trigger("p1.pulse", 1.0, delay_s=delay_s)
    engine.process_seconds(delay_s + 0.3)
    engine.stop()
    x = read_wav(tmp_path / "out.wav")
    loud = np.flatnonzero(np.abs(x[frame:]).max(axis=1) > 0.01)
    assert loud.size
    onset_s = loud[0] / RATE
    assert delay_s - 0.001 <= onset_s <= delay_s + 2 * BUFFER / RATE + 0.003, onset_s  # to a buffer, plus the attack
