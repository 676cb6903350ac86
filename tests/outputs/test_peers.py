"""OSC outputs to real UDP peers on loopback: selections, rates, vanished peers, another program."""

from __future__ import annotations

import logging
import math
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from installation.config import LslOutputConfig, OscOutputConfig
from installation.outputs.fanout import Outputs
from installation.outputs.osc import BACK_AFTER_S, OscOutLink, OscPeer
from tests.outputs.peers import Peer

FEATURES = {"p1.heart.bpm": 70.0, "p2.heart.bpm": 80.0, "p1.eda.scl": 4.0, "p2.eda.scl": 5.0, "group.sync": 0.5,
            "group.heart.bpm": 75.0, "p1.heart.rmssd": math.nan}
PARAMS = {"sound.drone.level": 0.25, "visual.p1.hue": 0.5}


def osc(port: int, **kw: object) -> OscOutputConfig:
    return OscOutputConfig(kind="osc", port=port, **kw)  # type: ignore[arg-type]


@pytest.fixture
def peers():
    made: list[Peer] = []

    def make(port: int = 0) -> Peer:
        made.append(Peer(port))
        return made[-1]

    yield make
    for p in made:
        p.close()


def test_two_peers_get_only_what_they_asked_for(peers) -> None:
    desk, td = peers(), peers()
    outputs = Outputs([osc(desk.port, send=["p*.heart.bpm", "sound.drone.*"]),
                       osc(td.port, send=["group.*", "p1.heart.beat", "p*.heart.rmssd"], prefix="/eco")], ["p1", "p2"])
    outputs.update(0.0, FEATURES, PARAMS)
    outputs.event("p1.heart.beat", 72.0, 1.0)
    outputs.event("p2.heart.beat", 81.0, 1.0)
    outputs.close()
    desk.drain(0.5), td.drain(0.5)
    assert sorted(desk.messages) == [("/p1/heart/bpm", [70.0]), ("/p2/heart/bpm", [80.0]), ("/sound/drone/level", [0.25])]
    assert sorted(td.messages) == [("/eco/group/heart/bpm", [75.0]), ("/eco/group/sync", [0.5]),
                                   ("/eco/p1/heart/beat", [72.0])]  # NaN never goes out


@pytest.mark.parametrize(("rate_hz", "expected"), [(20.0, 200), (30.0, 300), (100.0, 1000), (7.0, 70)])
def test_each_address_is_sent_at_the_configured_rate(peers, rate_hz: float, expected: int) -> None:
    """1000 updates 10 ms apart on a fake clock (10 s): the rate each address gets."""
    peer = peers()
    outputs = Outputs([osc(peer.port, send=["p*.heart.bpm"], rate_hz=rate_hz)], ["p1", "p2"])
    for k in range(1000):
        outputs.update(k * 0.01, {**FEATURES, "p1.heart.bpm": 60.0 + k * 0.01}, PARAMS)
        if k % 20 == 19:
            peer.drain(0.0)
    peer.drain(0.3)
    counts = {a: len(v) for a, v in peer.by_address().items()}
    assert set(counts) == {"/p1/heart/bpm", "/p2/heart/bpm"}
    assert all(abs(n - expected) <= 1 for n in counts.values()), counts


def test_a_peer_that_vanishes_is_no_error_and_the_other_still_receives(peers, caplog: pytest.LogCaptureFixture) -> None:
    gone, stays = peers(), peers()
    port = gone.port
    outputs = Outputs([osc(gone.port, send=["p*.heart.bpm"]), osc(stays.port, send=["p*.heart.bpm"])], ["p1", "p2"])
    t = 0.0
    back = None
    with caplog.at_level(logging.WARNING, logger="installation.outputs.osc"):
        for k in range(480):  # 0.04 s apart on a fake clock: 19.2 s
            if k == 30:
                gone.close()  # the desk is switched off mid-show ...
            if k == 330:
                back = peers(port)  # ... and on again 12 s later
            outputs.update(t, FEATURES, {})
            if 30 <= k < 330:
                outputs.event("p1.heart.beat", 70.0, t)
            t += 0.04
            if k % 10 == 0:
                stays.drain(0.0)
                if back is not None:
                    back.drain(0.0)
    assert back is not None
    stays.drain(0.3), back.drain(0.3)
    assert len(stays.messages) == 2 * 480  # every turn of both wearers, before, during and after
    assert len(back.messages) > 250, len(back.messages)  # it hears the show again
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [f"outputs[0] osc 127.0.0.1:{port}: not answering (connection refused); the show goes on, still sending",
                     f"outputs[0] osc 127.0.0.1:{port}: answering again"]


def test_an_unreachable_host_never_raises(caplog: pytest.LogCaptureFixture) -> None:
    peer = OscPeer("192.0.2.1", 9, "desk")  # TEST-NET-1: routed nowhere (or nowhere at all)
    with caplog.at_level(logging.WARNING, logger="installation.outputs.osc"):
        for k in range(500):
            peer.send("/x", (1.0,), k * 0.01)
    peer.close()
    assert peer.sent + peer.failed == 500
    assert len(caplog.records) <= 2


def test_the_old_osc_out_link_still_keeps_the_last_value(peers) -> None:
    peer = peers()
    link = OscOutLink("127.0.0.1", peer.port, rate_hz=10.0)
    link.send("/lights/1", 0.1, 0.0)
    link.send("/lights/1", 0.2, 0.01)  # too soon: waits
    link.send("/lights/1", 0.3, 0.02)
    link.flush(0.05)
    link.flush(0.11)
    link.close()
    peer.drain(0.3)
    assert [args[0] for _, args in peer.messages] == pytest.approx([0.1, 0.3])
    assert link.sent == 2


def test_an_output_that_cannot_be_made_is_left_out(peers, caplog: pytest.LogCaptureFixture) -> None:
    peer = peers()
    with caplog.at_level(logging.ERROR, logger="installation.outputs.fanout"):
        outputs = Outputs([LslOutputConfig(kind="lsl", send=["sound.nothing.*"]), osc(peer.port, send=["group.sync"])],
                          ["p1"])
    assert len(outputs) == 1
    assert "outputs[0] (lsl): left out: LSL output 'ecosymphony-features': no channel to send" in caplog.text
    outputs.update(0.0, FEATURES, {})
    outputs.close()
    assert peer.drain(0.5) == [("/group/sync", [0.5])]


def _bound(port: int) -> bool:
    """True when some socket listens on UDP ``port`` (read from the kernel's table, so as not to race for it)."""
    try:
        table = Path("/proc/net/udp").read_text() + Path("/proc/net/udp6").read_text()
    except OSError:
        time.sleep(0.5)  # no table to read: give the program half a second
        return True
    return any(line.split()[1].endswith(f":{port:04X}") for line in table.splitlines()[1:] if line.split())


def test_liblo_oscdump_hears_what_we_send(peers) -> None:
    """Interop with a program not written by us (Debian liblo-tools)."""
    oscdump = shutil.which("oscdump")
    if oscdump is None:
        pytest.skip("needs oscdump: install liblo-tools (apt-get install liblo-tools)")
    probe = peers()
    port = probe.port
    probe.close()  # a free port for oscdump
    proc = subprocess.Popen([oscdump, "-L", str(port)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        outputs = Outputs([osc(port, send=["p1.heart.bpm", "p1.heart.beat"]),
                           osc(port, format="openbci", wearers=["p1"])], ["p1"])
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline and not _bound(port):  # oscdump is listening once the port is taken
            time.sleep(0.05)
        for k in range(3):
            outputs.update(float(k), {"p1.heart.bpm": 72.0}, {})
            outputs.event("p1.heart.beat", 72.0, float(k))
        time.sleep(0.3)
        outputs.close()
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=5.0)
    lines = {line if line.startswith("/") else line.split(" ", 1)[-1] for line in out.splitlines()}  # no time tags
    assert "/p1/heart/bpm f 72.000000" in lines
    assert "/p1/heart/beat f 72.000000" in lines
    assert "/openbci/pulse/bpm i 72" in lines and "/openbci/pulse/ibi i 1000" in lines
