"""The sender process on its own, heard by the ``sacn`` library's parser: when the show stops writing
frames (its render thread hangs) it puts up the house look after a second, and takes it down when
frames come again; SIGTERM ends it as a clean stop does."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import numpy as np

from installation.config import SacnOutputConfig
from installation.lights.sender import pack_frames
from installation.lights.rig import sender_settings
from installation.lights.wire import new_cid
from tests.helpers import REPO
from tests.lights.test_receivers import RawReceiver


def test_frames_stop_then_the_house_look_then_frames_again() -> None:
    raw = RawReceiver()
    cfg = SacnOutputConfig(kind="sacn", host="127.0.0.1", port=raw.port, universes=[5])
    house = {5: np.full(512, 7, np.uint8)}
    settings = sender_settings([(0, cfg)], house, new_cid())
    proc = subprocess.Popen([sys.executable, "-m", "installation.lights.sender", json.dumps(settings)],
                            stdin=subprocess.PIPE, cwd=REPO)
    assert proc.stdin is not None
    lit = {5: np.full(512, 200, np.uint8)}
    try:
        for _ in range(400):  # bounded: 10 s for the process to start, then five more frames
            proc.stdin.write(pack_frames(lit))
            proc.stdin.flush()
            time.sleep(0.025)
            if raw.packets and raw.packets[-1][1].dmxData[0] == 200:
                break
        for _ in range(5):
            proc.stdin.write(pack_frames(lit))
            proc.stdin.flush()
            time.sleep(0.025)
        last_frame_s = time.monotonic()
        deadline = last_frame_s + 4.0
        while time.monotonic() < deadline and not (raw.packets and raw.packets[-1][1].dmxData[0] == 7):
            time.sleep(0.01)
        up_s = raw.packets[-1][0] - last_frame_s
        assert raw.packets[-1][1].dmxData[0] == 7 and 0.9 < up_s < 2.0
        proc.stdin.write(pack_frames(lit))
        proc.stdin.flush()
        time.sleep(0.2)
        assert raw.packets[-1][1].dmxData[0] == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5.0) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
        time.sleep(0.1)
        raw.close()
    tail = [p for _, p in raw.packets[-6:]]
    assert [p.option_StreamTerminated for p in tail] == [False] * 3 + [True] * 3
    assert all(p.dmxData[0] == 7 for p in tail)
