"""The sound process, for real: child processes killed by signals, patches saved while they play,
the watchdog's word reaching the show, and (on JACK's dummy driver) a crossfade and a JACK server
that goes away and comes back."""

from __future__ import annotations

import os
import signal
import time
import warnings
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
from scipy.io import wavfile

from installation.bench import fault_patch
from installation.sound.jack_server import DummyJackServer, open_client, server_running
from installation.sound.patch import load_patch
from installation.sound.process import SoundProcess, SoundProcessError, SoundSettings, segment_path
from installation.sound.wire import expand_parameters

PATCH = Path(fault_patch.__file__)
PROBE = load_patch(PATCH)
RATE = 48000


def make(tmp_path: Path, backend: str = "wav", patch: Path = PATCH, **changes: object) -> SoundProcess:
    settings = SoundSettings(patch_path=str(patch), wearers=["p1"], backend=backend, fade_in_s=0.05, fade_out_s=0.05,
                             wav_path=str(tmp_path / "out.wav") if backend == "wav" else None,
                             jack_name=f"eco-test-{os.getpid()}", jack_connect_outputs=False)
    settings = SoundSettings(**{**settings.__dict__, **changes})
    return SoundProcess(settings, expand_parameters(PROBE.PARAMETERS, ["p1"]), PROBE.TRIGGER_VOICES, crossfade_s=0.5)


def poll_until(sound: SoundProcess, done: Callable[[], bool], timeout_s: float = 15.0) -> list[str]:
    """Supervise as the session does (50 times a second) until ``done()``; return what was said."""
    said: list[str] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        said += sound.poll()
        if done():
            return said
        time.sleep(0.02)
    raise AssertionError(f"not done within {timeout_s:g} s; said: {said}")


def poll_for(sound: SoundProcess, text: str, timeout_s: float = 15.0) -> list[str]:
    """Supervise until the supervisor says something containing ``text``; return all it said."""
    said: list[str] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        said += sound.poll()
        if said_any(said, text):
            return said
        time.sleep(0.02)
    raise AssertionError(f"nothing said about {text!r} within {timeout_s:g} s; said: {said}")


def said_any(lines: list[str], text: str) -> bool:
    return any(text in line for line in lines)


def read(path: str) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", wavfile.WavFileWarning)
        rate, x = wavfile.read(path)
    assert rate == RATE
    return x[:, 0]


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def dominant_hz(x: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    return float(np.fft.rfftfreq(x.size, 1.0 / RATE)[int(np.argmax(spectrum))])


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGSEGV, signal.SIGABRT])
def test_a_sound_process_killed_by_any_signal_is_replaced_with_every_value(tmp_path: Path, sig: signal.Signals) -> None:
    sound = make(tmp_path)
    sound.start()
    try:
        sound.set("level", 0.5)  # not the patch's default (0.2): the new process must be told
        sound.flush()
        first = sound.pid
        assert first is not None
        time.sleep(0.3)
        os.kill(first, sig)
        killed_s = time.monotonic()
        said = poll_until(sound, lambda: sound.restarts == 1 and sound.alive)
        back_s = time.monotonic() - killed_s
        assert sound.pid not in (None, first)
        assert any(f"killed by {sig.name}" in line and "starting a new one" in line for line in said), said
        time.sleep(1.0)
    finally:
        sound.stop()
    assert back_s < 5.0  # (the figure, under 1 s, is measured from the output by `bench sound-faults`)
    x = read(segment_path(str(tmp_path / "out.wav"), 1))  # the new process's own file
    # The tone at the level set before the kill (0.5), not the patch's default (0.2: an RMS under 0.15).
    assert rms(x[int(0.5 * RATE): int(0.9 * RATE)]) > 0.2


def test_a_patch_that_fails_to_build_says_where(tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text(PATCH.read_text().replace("        tone = pyo.Sine(TONE_HZ, mul=level)\n",
                                                "        tone = pyo.Sine(TONE_HZ, mul=level * (1 / 0))\n"))
    line = broken.read_text().splitlines().index("        tone = pyo.Sine(TONE_HZ, mul=level * (1 / 0))") + 1
    sound = make(tmp_path, patch=broken)
    with pytest.raises(SoundProcessError, match=rf"broken.py:{line}: ZeroDivisionError"):
        sound.start()
    sound.stop()


def test_a_saved_patch_replaces_the_playing_one_and_a_broken_save_leaves_it_playing(tmp_path: Path) -> None:
    patch = tmp_path / "live.py"
    patch.write_text(PATCH.read_text())
    sound = make(tmp_path, patch=patch)
    sound.start()
    try:
        first = sound.pid
        time.sleep(0.3)
        patch.write_text(PATCH.read_text().replace("class FaultPatch(Patch):", "class FaultPatch(Patch)\n"))
        line = patch.read_text().splitlines().index("class FaultPatch(Patch)") + 1
        said = poll_for(sound, "not playing")
        failed = [s for s in said if "not playing" in s]
        assert failed and f"live.py:{line}" in failed[0] and "SyntaxError" in failed[0], said
        assert sound.pid == first and sound.alive  # the old one never stopped
        patch.write_text(PATCH.read_text().replace("TONE_HZ = 440.0", "TONE_HZ = 660.0"))
        said = poll_until(sound, lambda: sound.pid not in (None, first))
        assert any("new patch built" in s for s in said), said
        time.sleep(1.0)
    finally:
        sound.stop()
    old, new = read(str(tmp_path / "out.wav")), read(segment_path(str(tmp_path / "out.wav"), 1))
    assert dominant_hz(old[: int(0.3 * RATE)]) == pytest.approx(440.0, abs=5.0)
    assert dominant_hz(new[int(0.6 * RATE):]) == pytest.approx(660.0, abs=5.0)


def test_the_watchdogs_word_reaches_the_show(tmp_path: Path) -> None:
    sound = make(tmp_path)
    sound.start()
    try:
        time.sleep(0.2)
        sound.trigger("cue.nan", 1.0)
        said = poll_for(sound, "watchdog")
        assert said_any(said, "watchdog: non-finite sample") and said_any(said, "patch rebuilt")
        assert sound.restarts == 0  # the process itself went on
    finally:
        sound.stop()


def jack_clients(prefix: str) -> set[str]:
    client = open_client(f"eco-test-look-{os.getpid()}")
    try:
        return {p.name.split(":")[0] for p in client.get_ports(prefix, is_audio=True, is_output=True)}
    finally:
        client.close()


def test_under_jack_a_saved_patch_crossfades_with_both_playing(jackd: str, tmp_path: Path) -> None:
    patch = tmp_path / "live.py"
    patch.write_text(PATCH.read_text())
    with DummyJackServer(48000, 256):
        sound = make(tmp_path, backend="jack", patch=patch)
        sound.start()
        try:
            name = sound.settings.jack_name
            assert jack_clients(name) == {name}
            patch.write_text(PATCH.read_text().replace("TONE_HZ = 440.0", "TONE_HZ = 660.0"))
            said = poll_for(sound, "new patch playing")
            assert said_any(said, "new patch playing"), said
            assert jack_clients(name) == {name, f"{name}-2"}  # both play during the crossfade
            poll_until(sound, lambda: jack_clients(name) == {f"{name}-2"}, 10.0)  # then the old one goes
            assert sound.alive and sound.restarts == 0
        finally:
            sound.stop()


def test_when_the_jack_server_goes_and_comes_back_the_sound_reconnects(jackd: str, tmp_path: Path) -> None:
    if server_running():
        pytest.skip("a JACK server of someone else's is running: this test stops and starts its own")
    server = DummyJackServer(48000, 256)
    server.start()
    sound = make(tmp_path, backend="jack")
    try:
        sound.start()
        name = sound.settings.jack_name
        server.stop()  # the JACK server goes away
        said = poll_for(sound, "sound process stopped")
        assert said_any(said, "sound process stopped"), said
        time.sleep(1.5)  # a while with no server: attempts fail, quietly
        said += sound.poll()
        server = DummyJackServer(48000, 256)
        server.start()  # and comes back
        poll_until(sound, lambda: sound.alive, 15.0)
        assert sound.restarts >= 1 and any(n.startswith(name) for n in jack_clients(name))
    finally:
        sound.stop()
        server.stop()

