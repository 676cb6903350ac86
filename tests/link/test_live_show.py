"""A whole live show with ``[link] enabled`` (``ecosymphony rehearse``) beside a musician's Link
app, in network namespaces the test makes: the show follows the musician's session without
changing it, and its ``link.*`` features and beats reach an independent OSC receiver (liblo's
``oscdump``), on the musician's grid."""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

from tests.helpers import DEFAULT_SHOW, REPO
from tests.link.netns import Host, child_env, two_hosts

pytest.importorskip("aalink", reason="needs the Python package aalink (pip install aalink)")

PORT = 9123


@pytest.fixture(scope="module")
def hosts() -> Iterator[tuple[Host, Host]]:
    yield from two_hosts()


def _ntp_s(stamp: str) -> float:
    """oscdump's receive time ``seconds.fraction`` (NTP, hexadecimal) in seconds."""
    whole, fraction = stamp.split(".")
    return int(whole, 16) + int(fraction, 16) / 2**32


def test_a_live_show_follows_the_musicians_session_and_sends_its_beats(hosts, tmp_path: Path) -> None:
    oscdump = shutil.which("oscdump")
    if oscdump is None:
        pytest.skip("needs oscdump: install liblo-tools (apt-get install liblo-tools)")
    show_host, peer_host = hosts
    show = tmp_path / "show.toml"
    show.write_text(DEFAULT_SHOW.read_text(encoding="utf-8") + (
        f'\n[link]\nenabled = true\n\n[[outputs]]\nkind = "osc"\nport = {PORT}\nsend = ["link.*"]\n'), encoding="utf-8")
    env = child_env(REPO)
    env["COLUMNS"] = "200"  # a log line stays on one line
    peer = subprocess.Popen(peer_host.python("-m", "tests.link.link_peer", "--bpm", "100", "--duration", "40"),
                            cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # no "go" to wait for: it starts at once
    dump = subprocess.Popen(show_host.command(oscdump, "-L", str(PORT)), stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        run = subprocess.run(show_host.python("-m", "installation", "rehearse", str(show), "--participants", "2",
                                              "--duration", "6", "--audio", "none", "--visuals", "none",
                                              "--no-console", "--runs-dir", str(tmp_path / "runs")),
                             cwd=REPO, env=env, capture_output=True, text=True, timeout=120.0)
    finally:
        for proc in (dump, peer):  # ours, by their handles (their PIDs)
            proc.kill()
    heard, _ = dump.communicate(timeout=10.0)
    printed = peer.communicate(timeout=10.0)[0].splitlines()
    seen = [json.loads(line) for line in printed if line.startswith('{"t"')]
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "link: following the session's tempo (100.0 bpm, 1 other peer)" in run.stdout + run.stderr
    assert any(s["peers"] >= 1 for s in seen) and all(abs(s["tempo"] - 100.0) < 0.01 for s in seen)
    messages = [line.split() for line in heard.splitlines() if " /link/" in line]
    tempos = [float(m[3]) for m in messages if m[1] == "/link/tempo"]
    beats = [_ntp_s(m[0]) for m in messages if m[1] == "/link/beat"]
    places = [float(m[3]) for m in messages if m[1] == "/link/beat"]
    assert tempos and abs(tempos[-1] - 100.0) < 0.01
    assert any(float(m[3]) == 1.0 for m in messages if m[1] == "/link/peers")
    assert len(beats) >= 5  # 100 bpm: a beat every 0.6 s
    assert statistics.median(b - a for a, b in zip(beats, beats[1:])) == pytest.approx(0.6, abs=0.02)
    # 0, 1, 2, 3, 0, ... in the bar: each beat's place follows from the beats between (one the
    # show skipped in a stall of a loaded machine, rather than fire late, leaves its place empty)
    steps = [round((tb - ta) / 0.6) for ta, tb in zip(beats, beats[1:])]
    assert all((b - a) % 4 == step % 4 for a, b, step in zip(places, places[1:], steps)), (places, steps)
    assert sum(1 for step in steps if step == 1) >= 0.8 * len(steps)
