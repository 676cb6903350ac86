"""The conductor's own window follows the animation clock its render nodes follow.

Real processes on this machine: a rehearsed show drawing its window headless (PNG frames
with their clock readings) and serving its scene on loopback, and a render node drawing
the whole wall at the same size. Checked: for every moment both saved, the scene time and
the sway are the node's, and the two pictures are the same but for small differences (the
node may have a snapshot more or less at that moment); two moments apart differ.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest

from installation.pipeline.sinks import VisualSink
from installation.visuals.scene_clock import SceneClock

pygame = pytest.importorskip("pygame")

ROOT = Path(__file__).resolve().parents[2]
PORT = 7433
SIZE = (320, 180)
EVERY_S = 0.5


def _show(tmp: Path) -> Path:
    text = (ROOT / "patches" / "default.toml").read_text()
    text = text.replace('patch = "eco_symphony.py"', 'patch = "eco_symphony"')
    text = text.replace('size = "1280x720"', f'size = "{SIZE[0]}x{SIZE[1]}"').replace("frame_every_s = 1.0", f"frame_every_s = {EVERY_S}")
    text = text.replace("[visual]\n", f'[visual]\nserve = true\nserve_host = "127.0.0.1"\nserve_port = {PORT}\n', 1)
    path = tmp / "show.toml"
    path.write_text(text)
    return path


@pytest.fixture
def children() -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for p in procs:  # ended by their own process ids
        if p.poll() is None:
            os.kill(p.pid, signal.SIGKILL)
            p.wait(timeout=10)


def _frames(folder: Path) -> dict[int, dict[str, object]]:
    """Saved frames by their scene-time index (each with its PNG's path)."""
    out: dict[int, dict[str, object]] = {}
    for path in sorted(folder.glob("frame_*.json")):
        try:
            state = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if path.with_suffix(".png").exists() and state.get("connected", True):
            out[int(state["index"])] = {**state, "png": path.with_suffix(".png")}
    return out


def _pixels(path: object) -> np.ndarray:
    return pygame.surfarray.array3d(pygame.image.load(str(path))).astype(np.int16)


def test_the_conductors_window_shows_the_scene_time_of_its_render_nodes(
        tmp_path: Path, children: list[subprocess.Popen[bytes]]) -> None:
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy",
           "PYTHONPATH": str(ROOT) + (os.pathsep + os.environ["PYTHONPATH"] if os.environ.get("PYTHONPATH") else "")}
    with (tmp_path / "conductor.log").open("wb") as log:
        children.append(subprocess.Popen(
            [sys.executable, "-m", "installation", "rehearse", str(_show(tmp_path)),
             "--audio", "none", "--visuals", "frames", "--participants", "3", "--duration", "40", "--no-console",
             "--runs-dir", str(tmp_path / "runs")], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
    with (tmp_path / "node.log").open("wb") as log:
        children.append(subprocess.Popen(
            [sys.executable, "-m", "installation", "visuals", "--from", f"127.0.0.1:{PORT}", "--size",
             f"{SIZE[0]}x{SIZE[1]}", "--frames", str(tmp_path / "node"), "--frame-every", str(EVERY_S)],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
    deadline = time.monotonic() + 90.0
    window_dir: Path | None = None
    common: list[int] = []
    while time.monotonic() < deadline and len(common) < 16:
        time.sleep(0.5)
        window_dir = next((tmp_path / "runs").glob("*/frames"), None)
        if window_dir is not None:
            common = sorted(set(_frames(window_dir)) & set(_frames(tmp_path / "node")))
    logs = "\n".join(f"--- {n}\n{(tmp_path / n).read_text()[-1500:]}" for n in ("conductor.log", "node.log"))
    assert window_dir is not None and len(common) >= 16, logs
    window, node = _frames(window_dir), _frames(tmp_path / "node")
    common = common[4:]  # after the node's first seconds (its values still gliding from where it joined)
    same, other = [], []
    for k in common:
        assert window[k]["scene_time_s"] == pytest.approx(node[k]["scene_time_s"], abs=1e-9), k
        assert window[k]["sway_s"] == pytest.approx(node[k]["sway_s"], abs=1e-6), k
        same.append(float(np.abs(_pixels(window[k]["png"]) - _pixels(node[k]["png"])).mean()))
        other.append(float(np.abs(_pixels(window[k]["png"]) - _pixels(node[k - 2]["png"])).mean()) if k - 2 in node else None)
    moved = [o for o in other if o is not None]
    print(f"window against node, mean abs pixel difference: same moment {np.median(same):.2f}, one second apart {np.median(moved):.2f}")
    assert np.median(same) < 1.0 and np.median(moved) > 3.0 * max(np.median(same), 0.3), (same, moved)


@pytest.mark.parametrize(("drifts", "every_s"), [((0.3,), 0.1), ((0.3, 0.9, 0.1), 0.25), ((1.0, 0.0), 0.05)])
def test_the_visual_sink_sends_one_clock_with_every_snapshot(drifts: tuple[float, ...], every_s: float) -> None:
    """Each snapshot carries the clock steered by the drift it sends, read at its own stamp."""
    sink = VisualSink(None, lambda: 0.0)
    seen = []
    sink.add_publisher(type("Server", (), {"publish": lambda self, s: seen.append(s), "close": lambda self: None})())
    expected = SceneClock()
    for i, drift in enumerate(drifts):
        now_s = 100.0 + i * every_s
        sink.set("drift", drift, now_s)
        sink.flush(now_s, force=True)
        expected = expected.steer(now_s - 100.0, drift)
        assert seen[-1].stamp_s == now_s and seen[-1].scene_clock == expected
