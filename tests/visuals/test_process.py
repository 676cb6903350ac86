"""The visuals process: headless frames, a real X11 window, and clean stops."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import shutil
import subprocess
import time
from pathlib import Path
from typing import Iterator

import pytest

from installation.visuals.process import Renderer, RendererSettings, Snapshot


def test_headless_writes_frames_and_stops(tmp_path: Path) -> None:
    frames = tmp_path / "frames"
    renderer = Renderer(RendererSettings(["p1", "p2"], (320, 180), fps=30, headless=True, frames_dir=frames, frame_every_s=0.2))
    renderer.start()
    try:
        report = renderer.wait_started()
        assert report is not None and report["driver"] == "dummy" and report["headless"]
        for i in range(100):  # far more than the queue holds: must never block
            renderer.push(Snapshot(time.perf_counter(), {"p1.hue": 0.9}, {"p1.pulse": i + 1}, {"p1.pulse": 1.0}))
        time.sleep(1.0)
    finally:
        renderer.stop()
    assert not renderer.alive
    written = sorted(frames.glob("frame_*.png"))
    assert len(written) >= 3
    assert renderer.stopped_report()["frames_written"] == len(written)
    assert renderer.dropped > 0
    assert not mp.active_children()


@pytest.fixture
def xvfb_display() -> Iterator[str]:
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        pytest.skip("needs a virtual X server: install the Debian package xvfb (apt-get install xvfb)")
    for number in range(91, 110):
        if not Path(f"/tmp/.X11-unix/X{number}").exists() and not Path(f"/tmp/.X{number}-lock").exists():
            break
    display = f":{number}"
    proc = subprocess.Popen([xvfb, display, "-screen", "0", "1280x720x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10.0
        while not Path(f"/tmp/.X11-unix/X{number}").exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"Xvfb {display} did not start")
            time.sleep(0.05)
        yield display
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_real_window_under_x11(xvfb_display: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISPLAY", xvfb_display)
    monkeypatch.delenv("SDL_VIDEODRIVER", raising=False)
    renderer = Renderer(RendererSettings(["p1"], (640, 360), fps=30, headless=False))
    renderer.start()
    try:
        report = renderer.wait_started()
        assert report is not None and report["driver"] == "x11" and not report["headless"]
        time.sleep(0.5)
    finally:
        renderer.stop()
    stopped = renderer.stopped_report()
    assert stopped["frames_drawn"] >= 5 and stopped["frames_written"] == 0


def test_unreachable_display_falls_back_to_frames(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISPLAY", ":4321")  # nothing listens there
    monkeypatch.delenv("SDL_VIDEODRIVER", raising=False)
    renderer = Renderer(RendererSettings(["p1"], (320, 180), headless=False, frames_dir=tmp_path, frame_every_s=0.1))
    renderer.start()
    try:
        report = renderer.wait_started()
        assert report is not None and report["headless"]
        time.sleep(0.3)
    finally:
        renderer.stop()
    assert any(r["kind"] == "fallback" for r in renderer.reports)
    assert list(tmp_path.glob("frame_*.png"))


def test_a_beat_reaches_the_screen_with_its_time_stamp() -> None:
    renderer = Renderer(RendererSettings(["p1", "p2"], (320, 180), fps=60, headless=True, draw_every_frame=True))
    renderer.start()
    try:
        assert renderer.wait_started() is not None
        for i in range(10):
            time.sleep(0.05)
            now = time.perf_counter()
            renderer.push(Snapshot(now, {}, {"p1.pulse": i + 1}, {"p1.pulse": 1.0}, {"p1.pulse": now}))
        time.sleep(0.2)
    finally:
        renderer.stop()
    report = renderer.stopped_report()
    assert len(report["latencies_ms"]) == 10
    assert all(0.0 < ms < 100.0 for ms in report["latencies_ms"])
    assert report["frames_drawn"] >= 20


def test_blackout_and_overlay_reach_the_saved_frames(tmp_path: Path) -> None:
    import pygame

    renderer = Renderer(RendererSettings(["p1"], (320, 180), fps=30, headless=True, frames_dir=tmp_path,
                                         frame_every_s=0.1, blackout=True, overlay=True))
    renderer.start()
    try:
        assert renderer.wait_started() is not None
        time.sleep(0.5)
    finally:
        renderer.stop()
    pixels = pygame.surfarray.array3d(pygame.image.load(str(sorted(tmp_path.glob("frame_*.png"))[-1])))
    lit = pixels.max(axis=2) > 60
    xs, ys = lit.nonzero()
    assert lit.sum() > 200  # the overlay's text ...
    assert xs.min() < 20 and ys.min() < 20 and ys.max() < 150  # ... in its corner; the rest is black


def test_a_killed_renderer_restarts() -> None:
    renderer = Renderer(RendererSettings(["p1"], (160, 90), headless=True))
    renderer.start()
    try:
        first = renderer.wait_started()
        assert first is not None
        os.kill(first["pid"], signal.SIGKILL)
        renderer._process.join(timeout=5)
        assert not renderer.alive
        renderer.push(Snapshot(time.perf_counter(), {"p1.hue": 0.3}))  # no reader: never blocks
        renderer.restart()
        second = renderer.wait_started()
        assert second is not None and second["pid"] != first["pid"] and renderer.alive
        assert renderer.restarts == 1
    finally:
        renderer.stop()
    assert not mp.active_children()
