"""Offline rendering through the live pipeline (simulated audience and replayed recordings)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy.io import wavfile

from installation.clock import FakeClock
from installation.config import load_show
from installation.launch import LaunchOptions, make_sources, prepare_show
from installation.render import render_offline
from tests.test_cli import REPO, ecosymphony

SHOW = REPO / "patches" / "default.toml"


def read_wav(path: Path) -> tuple[int, np.ndarray]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", wavfile.WavFileWarning)
        return wavfile.read(path)


def render(tmp_path: Path, name: str, seconds: float, seed: int = 3) -> tuple[dict[str, int], np.ndarray]:
    prepared = prepare_show(load_show(SHOW))
    clock = FakeClock()
    sources, wearers = make_sources(prepared.show, LaunchOptions(participants=2, seed=seed), rehearsal=True, clock=clock)
    seen: list[float] = []
    summary = render_offline(prepared, sources, wearers, clock, tmp_path / name, seconds, progress=lambda done, _: seen.append(done))
    rate, x = read_wav(tmp_path / name)
    assert rate == prepared.show.sound.sample_rate_hz
    assert x.shape[0] / rate == pytest.approx(summary.seconds, abs=0.01)
    assert seen and seen[-1] == seconds and seen == sorted(seen)
    return summary.beats, x


def test_render_plays_the_show_offline(tmp_path: Path) -> None:
    beats, x = render(tmp_path, "a.wav", 12.0)
    # the simulated wearers rest at 60-100 bpm; the detector learns for ~4 s first
    assert set(beats) == {"p1", "p2"} and all(5 <= n <= 15 for n in beats.values()), beats
    ceiling = 10 ** (-1.0 / 20)
    assert 0.01 < np.abs(x).max() <= ceiling + 1e-6
    assert np.sqrt(np.mean(x[-4800:] ** 2)) < 0.2 * np.sqrt(np.mean(x[48000 * 6 : 48000 * 11] ** 2))  # faded out


def test_render_is_repeatable(tmp_path: Path) -> None:
    beats_a, a = render(tmp_path, "a.wav", 8.0)
    beats_b, b = render(tmp_path, "b.wav", 8.0)
    assert beats_a == beats_b
    n = min(a.shape[0], b.shape[0])
    assert np.abs(a[:n] - b[:n]).max() < 1e-3  # the same music (pyo seeded), but for the denormal guard's whisper of noise


def test_render_command_replays_a_recording(tmp_path: Path) -> None:
    out = tmp_path / "mix.wav"
    done = ecosymphony("render", "--input", str(REPO / "tests" / "data" / "ppg_bsnb_rest_1000hz.csv.gz"),
                       "--duration", "10", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "Rendered" in done.stdout and "p1" in done.stdout and out.is_file()


def test_render_command_refuses_a_bad_recording(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("time_s,value\n0.0,1\n0.01,oops\n")
    done = ecosymphony("render", "--input", str(bad), "--out", str(tmp_path / "x.wav"))
    assert done.returncode == 2
    assert "bad.csv" in done.stderr and "line 3" in done.stderr
    assert not (tmp_path / "x.wav").exists()


def test_scene_changes_do_not_click(tmp_path: Path) -> None:
    # The gathering show's scenes change the drone, the reverb and the mappings: the
    # largest sample-to-sample step around each change stays that of the music around it.
    prepared = prepare_show(load_show(REPO / "patches" / "gathering.toml"))
    clock = FakeClock()
    sources, wearers = make_sources(prepared.show, LaunchOptions(participants=3, seed=2), rehearsal=True, clock=clock)
    actions = [(10.0, lambda s: s.select_scene(key="2")), (16.0, lambda s: s.select_scene(key="1"))]
    render_offline(prepared, sources, wearers, clock, tmp_path / "g.wav", 22.0, actions=actions)
    rate, x = read_wav(tmp_path / "g.wav")
    step = np.abs(np.diff(x, axis=0)).max(axis=1)
    calm = step[int(5.0 * rate) : int(10.0 * rate)].max()
    for at_s in (10.0, 16.0):
        around = step[int(at_s * rate) : int((at_s + 3.0) * rate)].max()
        assert around <= 1.5 * calm + 1e-4, (at_s, around, calm)
