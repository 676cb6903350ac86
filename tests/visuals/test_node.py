"""Render nodes on machines of their own: a conductor (a rehearsed show serving its scene) and
nodes in other network namespaces, drawing PNG frames with SDL's dummy driver.

Checked: a node applies exactly the state the conductor sent (an independent raw client
records the stream for comparison); two nodes show the same scene time, each its own
tile of the wall; a node that starts late shows the whole state in its first frame; a
node killed with SIGKILL and started again comes back to the current scene; a node that
loses its conductor fades to the idle look and follows the conductor when it returns.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import pytest

from tests.netns import Host, network

pygame = pytest.importorskip("pygame")

PORT = 7420
ROOT = Path(__file__).resolve().parents[2]
WALL = (480, 160)  # node A draws the whole wall; node B the middle third
TILE = (160, 160)
EVERY_S = 0.25

RECORD = """
import json, socket, sys, time
host, port, out, seconds = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
end = time.monotonic() + seconds
states, values = {}, {}
while time.monotonic() < end and not states:
    try:
        sock = socket.create_connection((host, port), timeout=1.0)
    except OSError:
        time.sleep(0.1)
        continue
    sock.settimeout(1.0)
    buffer = b""
    try:
        while time.monotonic() < end:
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                break
            *lines, buffer = (buffer + chunk).split(b"\\n")
            for line in lines:
                m = json.loads(line)
                if m["type"] == "state":
                    if m["key"]:
                        values = {}
                    values.update(m["values"])
                    states[m["seq"]] = dict(values)
    except OSError:
        pass
    sock.close()
with open(out, "w") as f:
    json.dump(states, f)
"""


@pytest.fixture(scope="module")
def hosts() -> Iterator[list[Host]]:
    yield from network(3, "render nodes on machines of their own", subnet="10.214.18")


def _show(tmp: Path, host: str) -> Path:
    text = (ROOT / "patches" / "default.toml").read_text()
    text = text.replace('patch = "eco_symphony.py"', 'patch = "eco_symphony"')
    text = text.replace("[visual]\n", f'[visual]\nserve = true\nserve_host = "{host}"\nserve_port = {PORT}\n', 1)
    path = tmp / "show.toml"
    path.write_text(text)
    return path


class Procs:
    """Processes this test started, ended by their own PIDs."""

    def __init__(self) -> None:
        self.all: list[subprocess.Popen[bytes]] = []

    def start(self, args: list[str], log: Path) -> subprocess.Popen[bytes]:
        with log.open("ab") as out:
            p = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        self.all.append(p)
        return p

    def kill(self, p: subprocess.Popen[bytes]) -> None:
        if p.poll() is None:
            os.kill(p.pid, signal.SIGKILL)
        p.wait(timeout=10)

    def end_all(self) -> None:
        for p in self.all:
            if p.poll() is None:
                os.kill(p.pid, signal.SIGKILL)
                p.wait(timeout=10)


@pytest.fixture
def procs() -> Iterator[Procs]:
    p = Procs()
    yield p
    p.end_all()


def _conductor(procs: Procs, host: Host, show: Path, tmp: Path, seconds: int = 60) -> subprocess.Popen[bytes]:
    return procs.start(host.python("-m", "installation", "rehearse", str(show), "--audio", "none", "--visuals", "none",
                                   "--participants", "4", "--duration", str(seconds), "--no-console",
                                   "--runs-dir", str(tmp / "runs")), tmp / "conductor.log")


def _node(procs: Procs, host: Host, conductor: Host, tmp: Path, name: str, tile: str, size: tuple[int, int]) -> subprocess.Popen[bytes]:
    return procs.start(host.python("-m", "installation", "visuals", "--from", f"{conductor.address}:{PORT}",
                                   "--tile", tile, "--size", f"{size[0]}x{size[1]}", "--frames", str(tmp / name),
                                   "--frame-every", str(EVERY_S), "--stats", str(tmp / f"{name}.json")),
                       tmp / f"{name}.log")


def _wait(what: str, ok: Callable[[], Any], timeout_s: float, logs: list[Path] = ()) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        got = ok()
        if got:
            return got
        time.sleep(0.1)
    tails = "\n".join(f"--- {p.name}\n{p.read_text()[-1500:]}" for p in logs if p.exists())
    raise AssertionError(f"{what}: not within {timeout_s:g} s\n{tails}")


def _frames(folder: Path) -> list[dict[str, Any]]:
    """Saved frames' states, oldest first (each with its PNG's path)."""
    out = []
    for path in sorted(folder.glob("frame_*.json")):
        try:
            state = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if path.with_suffix(".png").exists():
            out.append({**state, "png": path.with_suffix(".png"), "mtime": path.stat().st_mtime})
    return sorted(out, key=lambda s: s["mtime"])


def _pixels(path: Path) -> np.ndarray:
    return pygame.surfarray.array3d(pygame.image.load(str(path))).astype(np.int16)  # [x, y, rgb]


def test_nodes_show_the_conductors_scene_at_one_time_each_its_tile_and_come_back_after_sigkill(
        hosts: list[Host], procs: Procs, tmp_path: Path) -> None:
    conductor_host, host_a, host_b = hosts
    show = _show(tmp_path, conductor_host.address)
    logs = [tmp_path / n for n in ("conductor.log", "a.log", "b.log")]
    node_a = _node(procs, host_a, conductor_host, tmp_path, "a", "1/1", WALL)  # before the conductor: it waits
    conductor = _conductor(procs, conductor_host, show, tmp_path)
    recorder = procs.start(host_a.python("-c", RECORD, conductor_host.address, str(PORT), str(tmp_path / "sent.json"), "30"),
                           tmp_path / "recorder.log")
    _wait("node A follows the conductor",
          lambda: [f for f in _frames(tmp_path / "a") if f["connected"] and f["seq"] > 0], 90.0, logs)
    time.sleep(1.0)
    node_b = _node(procs, host_b, conductor_host, tmp_path, "b", "2/3", TILE)  # a node that starts late
    first_b = _wait("node B (late) follows the conductor",
                    lambda: next((f for f in _frames(tmp_path / "b") if f["connected"]), None), 60.0, logs)
    # The late node's first frame shows the whole state at once: organisms settled (and, below,
    # every value the conductor had).
    for w, shown in first_b["presence_shown"].items():
        target = first_b["values"].get(f"{w}.presence", 1.0)
        assert abs(shown - min(1.0, max(0.0, target))) < 0.05, (w, shown, target)
    time.sleep(3.0)

    a = {(f["session"], f["index"]): f for f in _frames(tmp_path / "a") if f["connected"]}
    b = {(f["session"], f["index"]): f for f in _frames(tmp_path / "b") if f["connected"]}
    common = sorted(set(a) & set(b))[4:]  # after the late node's first second (its values settled, A's still gliding)
    assert len(common) >= 6, (len(a), len(b))
    right, wrong = [], []
    for k in common:
        assert a[k]["scene_time_s"] == pytest.approx(b[k]["scene_time_s"], abs=1e-9)  # one scene time
        assert a[k]["sway_s"] == pytest.approx(b[k]["sway_s"], abs=1e-6)
        pa, pb = _pixels(a[k]["png"]), _pixels(b[k]["png"])
        assert pb.shape[:2] == TILE
        right.append(float(np.abs(pa[160:320] - pb).mean()))  # B is the middle third of A's wall
        wrong.append(float(np.abs(pa[0:160] - pb).mean()))
    assert np.median(right) < 1.0 and np.median(wrong) > 5.0 * max(np.median(right), 0.5), (right, wrong)
    # Frames move: the same node's picture a second apart differs.
    assert float(np.abs(_pixels(a[common[0]]["png"]) - _pixels(a[common[-1]]["png"])).mean()) > 0.5

    # What a node applied is what the conductor sent, value for value, at that snapshot's number.
    recorder.wait(timeout=40)
    sent = {int(k): v for k, v in json.loads((tmp_path / "sent.json").read_text()).items()}
    checked = 0
    for f in list(a.values()) + list(b.values()):
        if f["seq"] in sent:
            assert f["values"] == sent[f["seq"]]
            checked += 1
    assert checked >= 10
    before = max(seq for seq in sent if seq <= first_b["seq"])
    assert first_b["values"].keys() >= sent[before].keys() and len(first_b["values"]) >= 10
    # Beats reach the nodes: the trigger counts grow and organisms flare.
    frames_a = [a[k] for k in sorted(a)]
    assert sum(frames_a[-1]["counts"].values()) > sum(frames_a[0]["counts"].values())
    assert max(max(f["pulse"].values()) for f in frames_a) > 0.3

    # SIGKILL the late node and start it again: it comes back to the current scene at once.
    seq_before = max(f["seq"] for f in b.values())
    procs.kill(node_b)
    killed_at = time.time()
    node_b = _node(procs, host_b, conductor_host, tmp_path, "b", "2/3", TILE)
    back = _wait("node B comes back after SIGKILL",
                 lambda: next((f for f in _frames(tmp_path / "b") if f["mtime"] > killed_at and f["connected"]), None),
                 60.0, logs)
    assert back["seq"] > seq_before
    assert back["values"].keys() >= first_b["values"].keys()  # the whole state (the show may have set more since)
    for w, shown in back["presence_shown"].items():
        assert abs(shown - min(1.0, max(0.0, back["values"].get(f"{w}.presence", 1.0)))) < 0.05
    assert conductor.poll() is None and node_a.poll() is None


def test_a_node_that_loses_its_conductor_fades_to_idle_and_follows_it_when_it_returns(
        hosts: list[Host], procs: Procs, tmp_path: Path) -> None:
    conductor_host, host_a, _ = hosts
    show = _show(tmp_path, conductor_host.address)
    logs = [tmp_path / n for n in ("conductor.log", "a.log")]
    conductor = _conductor(procs, conductor_host, show, tmp_path)
    node = _node(procs, host_a, conductor_host, tmp_path, "a", "1/1", WALL)
    first = _wait("the node follows the conductor",
                  lambda: next((f for f in _frames(tmp_path / "a") if f["connected"]), None), 90.0, logs)
    time.sleep(1.0)
    procs.kill(conductor)  # the conductor's machine goes away
    lost_at = time.time()
    idle = _wait("the node fades to its idle look",
                 lambda: next((f for f in _frames(tmp_path / "a") if f["mtime"] > lost_at and f["idle"]
                               and max(f["presence_shown"].values()) < 0.05), None), 10.0, logs)
    assert not idle["connected"]
    conductor = _conductor(procs, conductor_host, show, tmp_path)
    again = _wait("the node follows the conductor again",
                  lambda: next((f for f in _frames(tmp_path / "a") if f["connected"] and f["session"] != first["session"]
                                and f["seq"] > 0), None), 90.0, logs)
    assert not again["idle"] and len(again["values"]) > 0
    stats = _wait("the node's figures count the second connection",
                  lambda: (lambda d: d if d.get("connections", 0) >= 2 else None)(json.loads((tmp_path / "a.json").read_text())),
                  5.0, logs)
    assert abs(stats["offset_s"]) < 0.005  # one machine's clock, seen across the network
    assert node.poll() is None
