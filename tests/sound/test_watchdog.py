"""The watchdog between the patch and the master chain, on a real pyo server (manual mode): a patch
that turns NaN, runs away in DC or holds full scale on cue is muted within a buffer, rebuilt and
heard again, and a calm patch is left alone."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy.io import wavfile

from installation.bench import fault_patch
from installation.sound.engine import REBUILD_FADE_S, REPEAT_TRIPS, SoundEngine
from installation.sound.patch import load_patch

from tests.helpers import REPO

RATE = 48000
BUFFER = 256
PROBE = load_patch(Path(fault_patch.__file__))


def read(path: Path) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", wavfile.WavFileWarning)
        rate, x = wavfile.read(path)
    assert rate == RATE
    return x


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0


@pytest.mark.parametrize(
    ("cue", "value", "named"),
    [
        ("cue.nan", 1.0, "non-finite sample"),
        ("cue.dc", 0.9, "DC offset ran away"),
        ("cue.full", 1.0, "full scale held for 0.5 s"),
    ],
)
def test_a_patch_gone_bad_is_muted_within_a_buffer_rebuilt_and_heard_again(
        tmp_path: Path, cue: str, value: float, named: str) -> None:
    faults: list[tuple[int, str]] = []
    engine = SoundEngine(PROBE(["p1"], {}), "manual", RATE, BUFFER, fade_in_s=0.01, fade_out_s=0.01,
                         wav_path=tmp_path / "out.wav")

    def fault(message: str) -> None:
        faults.append((engine.buffers_done, message))
        if cue != "cue.nan":  # (a trigger: fired once)
            engine.set(cue, 0.0)  # the operator's fix; the rebuilt patch starts clean

    engine.on_fault = fault
    engine.start()
    engine.process_seconds(1.0)
    cued_at = engine.buffers_done * BUFFER
    engine.trigger(cue, value) if cue == "cue.nan" else engine.set(cue, value)
    for _ in range(int(3.0 * RATE / BUFFER)):
        engine.process(1)
        if faults:
            break
    assert faults, f"the watchdog did not trip on {cue}"
    tripped_at = faults[0][0] * BUFFER  # the end of the buffer the watchdog tripped in
    engine.process_seconds(1.5)
    engine.stop()
    x = read(tmp_path / "out.wav")
    before = x[cued_at - RATE // 2: cued_at]
    assert np.all(np.isfinite(x)), "a bad sample reached the output"
    assert engine.watchdog_trips == 1 and len(faults) == 1
    assert named in faults[0][1] and "rebuilt" in faults[0][1]
    # Silence from the next buffer on: the rebuilt chain starts from nothing and fades in.
    assert np.abs(x[tripped_at: tripped_at + BUFFER]).max() < 0.01
    if cue == "cue.nan":  # the first bad sample and all after it came out as silence (the limiter's 5-sample look-ahead aside)
        assert tripped_at == cued_at + BUFFER  # tripped in the buffer the NaN appeared in
        assert np.abs(x[cued_at + 8: tripped_at]).max() < 1e-3
    # Heard again within a second of the trip, at the level it had.
    back = x[tripped_at + int((REBUILD_FADE_S + 0.1) * RATE): tripped_at + RATE]
    assert rms(back) > 0.7 * rms(before) > 0.0


def test_a_calm_patch_is_left_alone(tmp_path: Path) -> None:
    engine = SoundEngine(PROBE(["p1"], {}), "manual", RATE, BUFFER, fade_in_s=0.01, fade_out_s=0.01)
    engine.start()
    engine.set("level", 0.9)  # loud, but neither full scale nor DC
    engine.process_seconds(3.0)
    engine.stop()
    assert engine.watchdog_trips == 0


def test_the_eco_symphony_at_full_tilt_is_left_alone(tmp_path: Path) -> None:
    wearers = [f"p{i + 1}" for i in range(8)]
    patch = load_patch(REPO / "patches" / "eco_symphony.py")(wearers, {})
    engine = SoundEngine(patch, "manual", RATE, BUFFER, fade_in_s=0.01, fade_out_s=0.01, wav_path=tmp_path / "o.wav")
    engine.start()
    for address in ("drone.level", "drone.brightness", "texture.density", "rhythm.level", "reverb.mix"):
        engine.set(address, 1.0)
    for step in range(40):  # 8 hearts at 180 bpm, every burst, for 13 s
        for w in wearers:
            engine.trigger(f"{w}.pulse", 1.0)
            if step % 4 == 0:
                engine.trigger(f"{w}.texture", 1.0)
        engine.process_seconds(60.0 / 180.0)
    engine.stop()
    assert engine.watchdog_trips == 0 and engine.errors == 0
    x = read(tmp_path / "o.wav")
    assert np.all(np.isfinite(x)) and np.abs(x).max() > 0.1


def test_a_patch_that_keeps_going_bad_stays_muted_and_says_so(tmp_path: Path) -> None:
    faults: list[str] = []
    engine = SoundEngine(PROBE(["p1"], {}), "manual", RATE, BUFFER, fade_in_s=0.01, fade_out_s=0.01,
                         wav_path=tmp_path / "out.wav", on_fault=faults.append)
    engine.start()
    engine.process_seconds(0.5)
    engine.set("cue.dc", 0.9)  # left on: every rebuilt patch runs away again
    engine.process_seconds(8.0)
    tail_from = engine.buffers_done * BUFFER
    engine.process_seconds(2.0)
    engine.stop()
    assert engine.watchdog_trips == REPEAT_TRIPS and engine.gave_up
    assert [f for f in faults if "rebuilt" in f] == faults[: REPEAT_TRIPS - 1]
    assert "stays muted until the patch file is saved again" in faults[-1] and len(faults) == REPEAT_TRIPS
    assert np.abs(read(tmp_path / "out.wav")[tail_from:]).max() == 0.0  # muted, not rebuilt again
