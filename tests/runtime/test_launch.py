"""Planning outputs, and the whole rehearsal pipeline headless with real parts:
simulated audience -> signal core -> mapper -> pyo (real time, to WAV) + pygame
process (PNG frames)."""

from __future__ import annotations

import multiprocessing as mp
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy.io import wavfile

from installation.config import ConfigError, load_show, parse_show
from installation.runtime.launch import LaunchOptions, perform, plan_outputs
from installation.sound.devices import AudioDevice
from installation.sound.jack_server import JackNotInstalled, ServerSettings

from tests.helpers import DEFAULT_SHOW, REPO

DEVICE = AudioDevice(3, "USB Audio CODEC", True)


@pytest.mark.parametrize(
    ("devices", "display", "options", "backend", "headless", "notices"),
    [
        ([], False, {}, "wav", True, ["No audio device found", "No display found"]),
        ([DEVICE], True, {}, "portaudio", False, []),
        ([DEVICE], False, {}, "portaudio", True, ["No display found"]),
        ([], True, {}, "wav", False, ["No audio device found"]),
        ([DEVICE], True, {"audio": "file", "visuals": "frames"}, "wav", True, ["(as asked)", "(as asked)"]),
        ([DEVICE], True, {"audio": "none", "visuals": "none"}, None, None, []),
    ],
)
def test_plan_outputs(tmp_path: Path, devices: list[AudioDevice], display: bool, options: dict[str, str],
                      backend: str | None, headless: bool | None, notices: list[str]) -> None:
    show = load_show(DEFAULT_SHOW)
    plan = plan_outputs(show, LaunchOptions(runs_dir=tmp_path, **options), "rehearse", lambda: devices, lambda: display)
    assert plan.audio_backend == backend
    assert plan.headless_visuals is headless
    assert len(plan.notices) == len(notices)
    for line, fragment in zip(plan.notices, notices):
        assert fragment in line and "\n" not in line
    if backend == "wav":
        assert plan.wav_path is not None and plan.wav_path.parent == plan.run_dir
    assert not plan.run_dir.exists()  # made only when something is written


def test_named_device_missing_is_a_config_error(tmp_path: Path) -> None:
    show = parse_show(DEFAULT_SHOW.read_text().replace('patch = "eco_symphony.py"', 'patch = "eco_symphony.py"\ndevice = "focusrite"'), "s.toml")
    with pytest.raises(ConfigError, match="sound.device: no audio output device matches 'focusrite'"):
        plan_outputs(show, LaunchOptions(runs_dir=tmp_path), "run", lambda: [DEVICE], lambda: True)


def test_portaudio_demanded_without_device_goes_on_without_sound(tmp_path: Path) -> None:
    show = parse_show(DEFAULT_SHOW.read_text().replace('patch = "eco_symphony.py"', 'patch = "eco_symphony.py"\nbackend = "portaudio"'), "s.toml")
    plan = plan_outputs(show, LaunchOptions(runs_dir=tmp_path), "run", lambda: [], lambda: True)
    assert plan.audio_backend is None and plan.headless_visuals is False
    assert plan.notices[0].startswith("NO SOUND: sound.backend is 'portaudio' but no audio output device was found")


@pytest.mark.parametrize(
    ("running", "fails_with"),
    [(ServerSettings(48000, 64), None), (None, "no JACK server is running"),
     (JackNotInstalled("libjack cannot be loaded; install JACK: apt-get install jackd2"), "apt-get install jackd2")],
)
def test_jack_backend_uses_a_running_server(tmp_path: Path, running: ServerSettings | Exception | None,
                                            fails_with: str | None) -> None:
    show = parse_show(DEFAULT_SHOW.read_text().replace('patch = "eco_symphony.py"', 'patch = "eco_symphony.py"\nbackend = "jack"'), "s.toml")

    def find_jack() -> ServerSettings | None:
        if isinstance(running, Exception):
            raise running
        return running

    options = LaunchOptions(runs_dir=tmp_path)
    if fails_with is not None:  # the show goes on without sound, and says so first
        plan = plan_outputs(show, options, "run", lambda: [DEVICE], lambda: True, find_jack)
        assert plan.audio_backend is None and plan.headless_visuals is False
        assert plan.notices[0].startswith("NO SOUND: sound.backend is 'jack' but") and fails_with in plan.notices[0]
        return
    plan = plan_outputs(show, options, "run", lambda: [DEVICE], lambda: True, find_jack)
    assert plan.audio_backend == "jack" and plan.wav_path is None and plan.device is None
    assert plan.notices == ["Audio: through JACK at 48000 Hz, 64 frames a cycle (as asked)."]


def test_headless_rehearsal_end_to_end(tmp_path: Path) -> None:
    threads_before = {t.ident for t in threading.enumerate()}
    notices: list[str] = []
    duration_s = 10.0
    summary = perform(
        load_show(DEFAULT_SHOW),
        LaunchOptions(duration_s=duration_s, participants=4, runs_dir=tmp_path),
        rehearsal=True,
        notify=notices.append,
        find_devices=lambda: [],
        has_display=lambda: False,
    )
    # Said in one line each what it does instead.
    assert any(n.startswith("No audio device found") for n in notices)
    assert any(n.startswith("No display found") for n in notices)
    # Beats for every wearer at the simulated heart rate.
    assert summary.wearers == ["p1", "p2", "p3", "p4"]
    for w in summary.wearers:
        assert summary.beats[w] >= 5, summary.beats
        assert abs(summary.mean_bpm[w] - summary.simulated_bpm[w]) <= 3.0, (w, summary.mean_bpm, summary.simulated_bpm)
    assert summary.latency_p99_ms < 50.0
    # The WAV has sound, for about the whole run.
    assert summary.run_dir is not None and summary.wav_path is not None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", wavfile.WavFileWarning)
        rate, audio = wavfile.read(summary.wav_path)
    seconds = audio.shape[0] / rate
    assert duration_s - 1.0 <= seconds <= duration_s + 3.0
    rms_db = 20 * np.log10(np.sqrt(np.mean(np.square(audio[rate:], dtype=np.float64))))
    assert rms_db > -45.0
    assert np.abs(audio).max() <= 10 ** (-1.0 / 20) + 1e-6
    # Frames were written.
    frames = sorted((summary.run_dir / "frames").glob("frame_*.png"))
    assert len(frames) >= duration_s - 2 and summary.frames_written == len(frames)
    assert not summary.problems
    # Nothing left running.
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline and {t.ident for t in threading.enumerate()} - threads_before:
        time.sleep(0.05)
    left = [t.name for t in threading.enumerate() if t.ident not in threads_before]
    assert not left, left
    assert not mp.active_children()


def test_run_with_an_osc_source_end_to_end(tmp_path: Path) -> None:
    """``run`` listens where the show says; a sender on loopback plays a wearer's pulse in real time."""
    import socket

    from pythonosc import osc_message_builder

    from installation.sensors.simulated import SimulatedWearer, WearerProfile

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    show_text = DEFAULT_SHOW.read_text().replace(
        '[[sources]]\nkind = "simulated"\nwearers = 4\nseed = 1\n',
        f'[[sources]]\nkind = "osc"\nport = {port}\nwearers = ["p1"]\n',
    )
    show = parse_show(show_text, "osc.toml", DEFAULT_SHOW)
    wearer = SimulatedWearer(WearerProfile("p1", 72.0, excited_bpm_gain=0.0), np.random.default_rng(4))
    stop = threading.Event()

    def sensor() -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            start, sent = time.monotonic(), 0
            while not stop.is_set() and sent < 1200:
                due = int((time.monotonic() - start) * 100.0)
                if due > sent:
                    t = np.arange(sent, due) / 100.0
                    m = osc_message_builder.OscMessageBuilder("/eco/p1/ppg")
                    for v in wearer.ppg(t):
                        m.add_arg(float(v))
                    s.sendto(m.build().dgram, ("127.0.0.1", port))
                    sent = due
                time.sleep(0.02)

    sender = threading.Thread(target=sensor, daemon=True)
    sender.start()
    try:
        summary = perform(show, LaunchOptions(duration_s=9.0, runs_dir=tmp_path, audio="none", visuals="none"),
                          rehearsal=False, find_devices=lambda: [], has_display=lambda: False)
    finally:
        stop.set()
        sender.join(timeout=5)
    assert summary.wearers == ["p1"]
    assert summary.beats["p1"] >= 5
    assert abs(summary.mean_bpm["p1"] - 72.0) < 4.0


def test_rehearsal_through_osc_with_a_scenario(tmp_path: Path) -> None:
    scenario = tmp_path / "s.toml"
    scenario.write_text('[[events]]\nat_s = 5\nduration_s = 60\nwearer = "p2"\nwhat = "lift_off"\n')
    summary = perform(
        load_show(DEFAULT_SHOW),
        LaunchOptions(duration_s=8.0, participants=2, runs_dir=tmp_path, audio="none", visuals="none", via="osc", scenario=scenario),
        rehearsal=True, find_devices=lambda: [], has_display=lambda: False,
    )
    assert summary.beats["p1"] >= 4 and abs(summary.mean_bpm["p1"] - summary.simulated_bpm["p1"]) < 3.0
    assert summary.beats["p2"] <= 3  # once off the skin (after 5 s), no more beats


def test_shipped_scenarios_load() -> None:
    from installation.sensors.scripted import load_scenario

    for path in (REPO / "patches" / "scenarios").glob("*.toml"):
        assert load_scenario(path).events


@pytest.mark.parametrize("name", ["default", "meditation", "gathering"])
def test_example_shows_play(tmp_path: Path, name: str) -> None:
    """Each shipped show rehearses headless: beats for every wearer, sound in the WAV."""
    show = load_show(REPO / "patches" / f"{name}.toml")
    summary = perform(show, LaunchOptions(duration_s=6.0, runs_dir=tmp_path, audio="file", visuals="none"),
                      rehearsal=True, find_devices=lambda: [], has_display=lambda: False)
    assert not summary.problems
    assert all(summary.beats[w] >= 2 for w in summary.wearers), summary.beats
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", wavfile.WavFileWarning)
        rate, audio = wavfile.read(summary.wav_path)
    assert np.abs(audio[rate * 2 :]).max() > 0.01


def test_duration_asked_is_duration_played(tmp_path: Path) -> None:
    """``--duration 2`` plays 2 s of show, the fade-out included: the start-up (kernels, sound
    server) and the shutdown are not counted, and the WAV is silent from 2 s on."""
    summary = perform(load_show(DEFAULT_SHOW), LaunchOptions(duration_s=2.0, participants=2, runs_dir=tmp_path, audio="file",
                                                     visuals="none", live_edit=False),
                      rehearsal=True, notify=lambda line: None, find_devices=lambda: [], has_display=lambda: False)
    assert abs(summary.duration_s - 2.0) <= 0.5, summary.duration_s
    assert summary.startup_s >= 0.0 and summary.shutdown_s >= 0.0
    assert summary.wav_path is not None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", wavfile.WavFileWarning)
        rate, audio = wavfile.read(summary.wav_path)
    heard = np.flatnonzero(np.abs(audio).max(axis=1) > 1e-3)
    assert heard.size, "the WAV is silent"
    assert abs(heard[-1] / rate - 2.0) <= 0.5, heard[-1] / rate  # the fade-out ends on time
    assert audio.shape[0] / rate <= 2.0 + 1.0, audio.shape[0] / rate  # then only the shutdown's silence
