"""``ecosymphony listen`` on real transports: OSC from liblo's oscsend, native lines on a pty."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from installation.sensors.parsers import native_encode

from tests.helpers import REPO, ecosymphony


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listen(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "installation", "listen", *args, "--json"], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_listen_to_emotibit_over_osc() -> None:
    oscsend = shutil.which("oscsend")
    if oscsend is None:
        pytest.skip("needs a real OSC peer: install the Debian package liblo-tools (apt-get install liblo-tools)")
    port = free_udp_port()
    proc = listen("--osc", str(port), "--duration", "6")
    try:
        first = proc.stdout.readline() if proc.stdout else ""  # the first report: it is listening
        assert json.loads(first)["state"] == "no data"
        for i in range(10):
            subprocess.run([oscsend, "localhost", str(port), "/EmotiBit/0/PPG:IR", "ff", str(500 + i), str(501 + i)], check=True, timeout=10)
            subprocess.run([oscsend, "localhost", str(port), "/EmotiBit/0/EDA", "f", "2.5"], check=True, timeout=10)
            time.sleep(0.05)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    ppg = [r for r in rows if r["signal"] == "ppg"]
    assert ppg and ppg[-1]["samples"] == 20 and ppg[-1]["format"] == "emotibit" and ppg[-1]["wearer"] == "p1"
    assert ppg[-1]["transport"] == "osc" and ppg[-1]["address"] == f"127.0.0.1:{port}" and ppg[-1]["last"] == 510.0
    assert any(r["signal"] == "eda" and r["unit"] == "uS" for r in rows)


def test_listen_to_a_serial_port_recognises_the_format(tmp_path: Path) -> None:
    master, slave = os.openpty()
    path = os.ttyname(slave)
    os.close(slave)
    proc = listen("--serial", f"{path}@115200", "--duration", "5")
    try:
        first = proc.stdout.readline() if proc.stdout else ""  # the first report: the port is open
        assert json.loads(first)["state"] == "no data"
        for i in range(60):
            if i in (30, 31):
                continue  # two lines lost on the way
            os.write(master, (native_encode(i, 10 * i, {"ppg": 500 + i, "gsr": 300}) + "\r\n").encode())
            time.sleep(0.01)
        os.write(master, b"junk line\r\n")
        out, err = proc.communicate(timeout=30)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    ppg = [r for r in rows if r["signal"] == "ppg"]
    last = ppg[-1]
    assert last["format"] == "auto: native" and last["transport"] == "serial" and last["address"] == path
    assert last["samples"] == 58 and last["corrupt"] == 1 and last["lost"] == 2
    assert max(r["rate_hz"] for r in ppg) > 0 and last["last"] == 559.0


def test_listen_needs_something() -> None:
    done = ecosymphony("listen", timeout_s=60.0)
    assert done.returncode == 2 and "nothing to listen to" in done.stderr
