"""A show of two hubs recorded as XDF by its conductor, each machine in its own network namespace.

Real processes: ``ecosymphony hub`` x 2 (4 simulated wearers each; the second hub's clock
1000 s ahead of the others', in a time namespace of its own, as another computer's would
be), ``ecosymphony run`` with ``[record] format = "xdf"`` and its operator console on a
terminal (a pseudo-terminal this test types keys into; it lists the render node), and a
render node. The file is
loaded with pyxdf: every wearer's stream is there with its wearer, its hub, its hub
stream's source id and host and the LSL clock offset the conductor applied; sample counts
fit the stream's rate and span; time stamps go forward and lie on the recording's
timeline (the 1000 s are corrected); beats of both hubs lie on their PPG pulses; the
marker stream holds every wearer's beats (dated at their peaks) and the operator's actions; and
``ecosymphony report`` and ``replay`` read the file.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import struct
import subprocess
import termios
import threading
import time
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest

from tests.hub.machines import REPO, child_env, end_all, start_hub
from tests.netns import Host, network

pyxdf = pytest.importorskip("pyxdf", reason="pyxdf is not installed: pip install pyxdf (the test extras)")

HUBS = 2
WEARERS = 4
SEEDS = (11, 12)
CLOCK_AHEAD_S = (0.0, 1000.0)  # hub1's monotonic clock (LSL's) runs 1000 s ahead of the others'
RECORD_S = 20.0  # the show runs this long once both hubs' wearers are heard
SERVE_PORT = 7431


@pytest.fixture(scope="module")
def hosts() -> Iterator[list[Host]]:
    yield from network(HUBS + 2, "two LSL hubs, a recording conductor and a render node", subnet="10.214.19")


def _hub_config(path: Path, i: int) -> Path:
    path.write_text(f'[hub]\nname = "hub{i}"\n\n[[sources]]\nkind = "simulated"\nwearers = {WEARERS}\nseed = {SEEDS[i]}\n\n'
                    '[lsl]\nscope = "link"\nlisten = "0.0.0.0"\n', encoding="utf-8")
    return path


def _show(path: Path, conductor: Host, peers: list[str], record_dir: Path) -> Path:
    hubs = ", ".join(f'"hub{i}"' for i in range(HUBS))
    known = ", ".join(f'"{p}"' for p in peers)
    path.write_text(f'[show]\ntitle = "recorded"\n\n[[sources]]\nkind = "lsl"\nhubs = [{hubs}]\nslots_per_hub = {WEARERS}\n\n'
                    f'[lsl]\nscope = "link"\nknown_peers = [{known}]\n\n'
                    f'[record]\nenabled = true\nformat = "xdf"\ndir = "{record_dir}"\n\n'
                    f'[visual]\nserve = true\nserve_host = "{conductor.address}"\nserve_port = {SERVE_PORT}\n\n'
                    '[[mappings]]\nfrom = "p*.heart.beat"\nto = "visual.p*.pulse"\n', encoding="utf-8")
    return path


class Terminal:
    """A pseudo-terminal for the conductor's console: what it draws is drained on a thread; keys can be typed."""

    def __init__(self, columns: int = 160, rows: int = 48) -> None:
        self.master, self.slave = pty.openpty()
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        self.text = bytearray()
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:  # the last process holding the other side went
                return
            if not data:
                return
            self.text += data

    def type(self, keys: str, between_s: float = 0.4) -> None:
        for key in keys:
            os.write(self.master, key.encode())
            time.sleep(between_s)

    def close(self) -> None:
        for fd in (self.slave, self.master):
            try:
                os.close(fd)
            except OSError:
                pass


def _wait(what: str, ok, timeout_s: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if ok():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout_s:g} s")


def _node_stats(path: Path) -> dict[str, object]:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}


@pytest.fixture(scope="module")
def recorded(hosts: list[Host], tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The run, once for every check: the XDF file's path and what the test saw on the way."""
    tmp = tmp_path_factory.mktemp("xdf-run")
    conductor_host, hub_hosts, node_host = hosts[0], hosts[1:HUBS + 1], hosts[HUBS + 1]
    show = _show(tmp / "show.toml", conductor_host, [h.address for h in hub_hosts], tmp / "rec")
    terminal = Terminal()
    children: list[subprocess.Popen[str]] = []
    try:
        hubs = [start_hub(hub_hosts[i], _hub_config(tmp / f"hub{i}.toml", i), clock_ahead_s=CLOCK_AHEAD_S[i])
                for i in range(HUBS)]
        children += [p for p, _ in hubs]
        env = child_env() | {"TERM": "xterm-256color"}
        conductor = subprocess.Popen(
            conductor_host.python("-m", "installation", "run", str(show), "--duration", "120", "--audio", "none",
                                  "--visuals", "none", "--console", "--runs-dir", str(tmp / "runs")),
            cwd=REPO, env=env, stdin=terminal.slave, stdout=terminal.slave, stderr=terminal.slave, text=True,
            start_new_session=True)  # the terminal is its own: keys typed reach only the conductor
        children.append(conductor)
        node = subprocess.Popen(
            node_host.python("-m", "installation", "visuals", "--from", f"{conductor_host.address}:{SERVE_PORT}",
                             "--tile", "2/2", "--size", "64x36", "--frames", str(tmp / "frames"), "--frame-every", "2",
                             "--stats", str(tmp / "node.json")),
            cwd=REPO, env=child_env() | {"SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy"},
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
        children.append(node)
        for _, lines in hubs:
            lines.first_published_s(timeout_s=60.0)
        rec = tmp / "rec"
        _wait("the conductor starts recording", lambda: rec.exists() and any(rec.glob("*.xdf")), 90.0)
        _wait("the render node follows the conductor", lambda: _node_stats(tmp / "node.json").get("connected"), 60.0)
        began = time.monotonic()
        time.sleep(RECORD_S / 2)
        terminal.type("mkbk")  # mark, blackout, re-learn baselines, blackout again (back)
        time.sleep(max(0.0, RECORD_S - (time.monotonic() - began)))
        screen = terminal.text.decode("utf-8", "replace")
        conductor.send_signal(15)
        stopping = time.monotonic()
        assert conductor.wait(timeout=60.0) == 0, terminal.text.decode("utf-8", "replace")[-3000:]
        stopped_in_s = time.monotonic() - stopping
    finally:
        end_all(children)
        terminal.close()
    files = sorted((tmp / "rec").glob("*.xdf"))
    assert len(files) == 1, files
    print(f"conductor stopped in {stopped_in_s:.1f} s")
    return {"path": files[0], "screen": screen, "tmp": tmp, "recorded_s": RECORD_S}


def _by_name(streams: list[dict]) -> dict[str, dict]:  # type: ignore[type-arg]
    return {s["info"]["name"][0]: s for s in streams}


def _slots() -> list[tuple[int, int, str]]:
    """(hub, its wearer k, the show's slot) of every wearer."""
    return [(i, k, f"p{i * WEARERS + k}") for i in range(HUBS) for k in range(1, WEARERS + 1)]


def test_every_wearer_carries_its_hub_its_stream_and_the_clock_offset_applied(recorded: dict) -> None:  # type: ignore[type-arg]
    streams, header = pyxdf.load_xdf(str(recorded["path"]), synchronize_clocks=False, dejitter_timestamps=False)
    eco = header["info"]["eco_symphony"][0]
    start_s = float(eco["start_s"][0])
    by_name = _by_name(streams)
    duration_s = float(by_name["eco-symphony events"]["footer"]["info"]["eco_symphony"][0]["duration_s"][0])
    assert duration_s >= recorded["recorded_s"]
    for i, k, slot in _slots():
        ours = {n: s for n, s in by_name.items() if n.startswith(f"{slot}.")}
        assert f"{slot}.ppg" in ours and f"{slot}.eda" in ours, sorted(by_name)
        for name, stream in ours.items():
            desc = stream["info"]["desc"][0]
            signal = name.split(".")[1]
            assert (desc["wearer"], desc["hub"]) == ([slot], [f"hub{i}"]), name
            lsl = desc["lsl"][0]
            hub, wearer, kind = lsl["source_id"][0].split(":")[1:]
            assert (hub, wearer) == (f"hub{i}", f"p{k}") and kind in ("ppg", "eda", "hr", "ibi", "acc", "accm"), name
            assert lsl["hostname"][0], name
            # the offset LSL measured: the other clock's lead, seconds (one machine: within a millisecond)
            assert abs(float(lsl["clock_offset_s"][0]) + CLOCK_AHEAD_S[i]) < 0.002, (name, lsl)
            applied = [float(o["value"][0]) for o in stream["footer"]["info"]["lsl_clock_offsets"][0]["offset"]]
            assert applied and all(abs(o + CLOCK_AHEAD_S[i]) < 0.002 for o in applied), (name, applied)
            t = np.asarray(stream["time_stamps"])
            assert np.all(np.diff(t) > 0), name  # forward
            # on the recording's timeline (hub1's 1000 s corrected): within the recording, give or take its delay
            assert start_s - 1.0 < t[0] and t[-1] < start_s + duration_s + 1.0, (name, t[0] - start_s, t[-1] - start_s)
            rate_hz = float(stream["info"]["nominal_srate"][0])
            if rate_hz > 0:
                span_s = t[-1] - t[0]
                assert span_s > recorded["recorded_s"] - 2.0, (name, span_s)  # heard all along
                assert abs(t.size - (span_s * rate_hz + 1)) <= 0.02 * t.size + 2, (name, t.size, span_s, rate_hz)
            assert stream["footer"]["info"]["sample_count"] == [str(t.size)], name
            assert signal in ("ppg", "eda", "bpm", "ibi", "acc", "acc_x", "acc_y", "acc_z"), name


def test_the_marker_stream_holds_every_wearers_beats_and_the_operators_actions(recorded: dict) -> None:  # type: ignore[type-arg]
    streams, _ = pyxdf.load_xdf(str(recorded["path"]))  # pyxdf's defaults: clock sync and dejitter
    by_name = _by_name(streams)
    markers = by_name["eco-symphony events"]
    rows = [tuple(r) for r in markers["time_series"]]
    assert np.all(np.diff(markers["time_stamps"]) >= -1.0)  # beats are dated back to their peaks, within a second
    for i, _, slot in _slots():
        beats = [t for t, r in zip(markers["time_stamps"], markers["time_series"]) if r[0] == f"{slot}.heart.beat"]
        assert len(beats) >= 8, (slot, len(beats))
        # each beat lies on its PPG pulse: one timeline for the markers and both hubs' samples
        ppg = by_name[f"{slot}.ppg"]
        misses = []
        for t in beats:
            near = (ppg["time_stamps"] > t - 0.3) & (ppg["time_stamps"] < t + 0.3)
            if near.sum() > 10:
                misses.append(abs(ppg["time_stamps"][near][np.argmax(ppg["time_series"][near, 0])] - t))
        assert len(misses) >= 5 and float(np.median(misses)) < 0.05, (slot, misses)
    operator = [r for r in rows if r[0].startswith("operator.")]
    assert operator == [("operator.mark", ""), ("operator.blackout", "1"), ("operator.rebaseline", "all"),
                        ("operator.blackout", "0")], operator


def test_the_console_listed_the_render_node(recorded: dict, hosts: list[Host]) -> None:  # type: ignore[type-arg]
    assert f"render nodes (1): {hosts[HUBS + 1].address} tile 2/2" in recorded["screen"]


def test_report_and_replay_read_the_file(recorded: dict, tmp_path: Path) -> None:  # type: ignore[type-arg]
    from installation.cli import main

    path = tmp_path / "run.xdf"
    path.write_bytes(Path(recorded["path"]).read_bytes())
    assert main(["report", str(path)]) == 0
    assert main(["replay", str(path), "--events", str(tmp_path / "events.csv")]) == 0
    assert (tmp_path / "run-report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    events = (tmp_path / "events.csv").read_text()
    for _, _, slot in _slots():
        assert events.count(f"{slot},heart.beat") >= 8, slot
