"""The lights on the wire, heard by receivers that are not ours: OLA's daemon (in a network namespace
this test makes) and the ``sacn`` library's packet parser on a plain UDP socket.

One rehearsal with a simulated wearer whose heartbeat pulses a wash on sACN universe 1 and another on
Art-Net port-address 0: the pulses' channel values, the rate, the keep-alive while nothing changes,
the universe numbering, the sequence numbers and the stream-terminated flag on stop. Then a show
process killed with SIGKILL: its sender still puts up the house look.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest

from installation.bench.lights import SacnReceiver
from installation.config import parse_show
from installation.runtime.launch import LaunchOptions, perform
from tests.helpers import DEFAULT_SHOW, REPO, headless_env
from tests.lights.ola import Heard, Ola, read_recording, start_ola


@pytest.fixture(scope="module")
def ola() -> Iterator[Ola]:
    daemon = start_ola()
    try:
        yield daemon
    finally:
        daemon.stop()


def RawReceiver() -> SacnReceiver:  # noqa: N802 (a receiver, as the tests name it)
    """sACN packets on a UDP socket on this machine, parsed by the ``sacn`` library, with arrival times (monotonic)."""
    return SacnReceiver(time.monotonic)


def lights_show(ola: Ola, raw_port: int, extra: str = "") -> str:
    return DEFAULT_SHOW.read_text() + f'''
[[outputs]]
kind = "sacn"
host = "{ola.address}"
universes = [1]

[[outputs]]
kind = "artnet"
host = "{ola.address}"
universes = [0]

[[outputs]]
kind = "sacn"
name = "raw"
host = "127.0.0.1"
port = {raw_port}
universes = [1]

[[fixtures]]
name = "wash"
universe = 1
address = 1
layout = "rgb"

[[fixtures]]
name = "desk"
universe = 0
address = 10
layout = "rgb+dimmer"
hue = 0.0
{extra}'''


BEAT_SHOW = '''
[[mappings]]
from = "p1.heart.beat"
to = "light.wash.pulse"

[[mappings]]
from = "p1.heart.beat"
to = "light.desk.pulse"
'''


def pulses(frames: list[Heard], channel: int, threshold: int = 200) -> int:
    """How many times a channel rises through ``threshold``."""
    values = np.array([f.values[channel] if len(f.values) > channel else 0 for f in frames])
    above = values >= threshold
    return int(np.count_nonzero(above[1:] & ~above[:-1]) + (1 if above.size and above[0] else 0))


def test_a_heartbeat_pulses_the_washes_as_ola_hears_them(ola: Ola, tmp_path: Path) -> None:
    raw = RawReceiver()
    recording = ola.record("beats.txt")
    try:
        show = parse_show(lights_show(ola, raw.port, BEAT_SHOW), "lights.toml", DEFAULT_SHOW)
        summary = perform(show, LaunchOptions(duration_s=12.0, participants=1, seed=3, audio="none", visuals="none",
                                              live_edit=False, runs_dir=tmp_path), rehearsal=True, notify=lambda _: None)
        ola.wait_recorders()
    finally:
        raw.close()
    heard = read_recording(recording)
    sacn = [h for h in heard if h.universe == 1]
    artnet = [h for h in heard if h.universe == 16]
    beats = summary.beats["p1"]
    assert beats >= 4
    # universe numbering: our sACN universe 1 is OLA's E1.31 universe 1; our Art-Net universe 0 is
    # the port OLA lists as Art-Net 0:0:0 (net 0, sub-net 0, universe 0)
    assert "ArtNet Universe 0:0:0" in ola.port_descriptions()
    assert sacn and artnet
    # every beat a pulse: the wash is cyan (hue 0.5), red stays dark; the desk is red on its dimmer
    # (the mapper lets a wearer's beats through once their signal is good: the first few may not pulse)
    flashes = pulses(sacn, 1)
    assert 4 <= flashes <= beats and pulses(sacn, 2) == flashes
    assert max(h.values[0] for h in sacn) == 0
    assert abs(pulses(artnet, 12) - flashes) <= 1  # the dimmer (address 13)
    lit = np.array([h.time_s for h in sacn if h.values[1] >= 200])
    starts = lit[np.concatenate([[True], np.diff(lit) > 0.2])]
    assert abs(np.median(np.diff(starts)) - 60.0 / summary.mean_bpm["p1"]) < 0.15  # one a beat, at the heart's rate
    assert all(h.values[9] == 255 and h.values[10] == 0 for h in artnet if h.values[12] > 0)  # red at full, on the dimmer
    # the rate: never more than 40 frames of a universe in any second (plus one at each edge for jitter)
    times = np.array([h.time_s for h in sacn])
    assert max(np.count_nonzero((times >= t) & (times < t + 1.0)) for t in times) <= 42
    # the keep-alive: before the first beat nothing changes, and a frame still comes about once a second
    first_lit = next(i for i, h in enumerate(sacn) if h.values[1] > 0)
    quiet = np.diff(times[:first_lit])
    assert quiet.size >= 2 and np.all((quiet > 0.6) & (quiet < 1.4)), quiet
    # the raw receiver: sequence numbers one by one, the house look (dark) and then the stream terminated
    packets = [p for _, p in raw.packets]
    sequences = np.array([p.sequence for p in packets])
    assert np.all(np.diff(sequences) % 256 == 1)
    assert [p.option_StreamTerminated for p in packets[-3:]] == [True] * 3
    assert not any(p.option_StreamTerminated for p in packets[:-3])
    assert all(max(p.dmxData[:3]) == 0 for p in packets[-6:])  # the house look (dark by default)
    assert all(p.universe == 1 and p.priority == 100 and p.sourceName == "Eco-Symphony" for p in packets)


HOUSE_SHOW = '''
[lights]
house = 0.5
house_color = "#ff8000"

[[mappings]]
from = "group.count"
to = "light.wash.intensity"
'''


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        out += [int(c) for c in (task / "children").read_text().split()]
    return out


def test_the_house_look_goes_up_when_the_show_is_killed(ola: Ola, tmp_path: Path) -> None:
    raw = RawReceiver()
    show_file = tmp_path / "show.toml"
    show_file.write_text(lights_show(ola, raw.port, HOUSE_SHOW))
    recording = ola.record("house.txt")
    show = subprocess.Popen([sys.executable, "-m", "installation", "rehearse", str(show_file), "--participants", "1",
                             "--duration", "60", "--audio", "none", "--visuals", "none", "--no-console"],
                            cwd=REPO, env=headless_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sender = None
    try:
        deadline = time.monotonic() + 40.0
        while time.monotonic() < deadline:  # the wash lit by the show: cyan at full
            if any(p.dmxData[:3] == (0, 255, 255) for _, p in raw.packets[-5:]):
                break
            time.sleep(0.1)
        else:
            pytest.fail("the show never lit the wash")
        senders = [c for c in _children(show.pid) if b"installation.lights.sender" in Path(f"/proc/{c}/cmdline").read_bytes()]
        assert len(senders) == 1
        sender = senders[0]
        killed_s = time.monotonic()
        show.send_signal(signal.SIGKILL)
        show.wait(timeout=10)
        for _ in range(100):  # bounded: 5 s for the sender to put up the house look and end
            if not Path(f"/proc/{sender}").exists() or Path(f"/proc/{sender}/stat").read_text().split()[2] == "Z":
                break
            time.sleep(0.05)
        else:
            pytest.fail("the sender did not end after the show was killed")
        time.sleep(0.3)
    finally:
        if show.poll() is None:
            show.kill()
            show.wait(timeout=10)
        raw.close()
        ola.wait_recorders()
    after = [p for t, p in raw.packets if t > killed_s]
    house = (128, 64, 0)  # #ff8000 at half
    assert after and after[0].dmxData[:3] in (house, (0, 255, 255))
    assert any(p.dmxData[:3] == house and not p.option_StreamTerminated for p in after)
    assert after[-1].option_StreamTerminated and after[-1].dmxData[:3] == house
    heard = [h for h in read_recording(recording) if h.universe == 1]
    assert heard and heard[-1].values[:3] == house  # what OLA holds: the house look, not the last frame
    assert any(h.values[:3] == (0, 255, 255) for h in heard)


def test_multicast_from_a_chosen_interface_reaches_ola(ola: Ola) -> None:
    from installation.lights.rig import LightRig

    text = DEFAULT_SHOW.read_text() + f'''
[[outputs]]
kind = "sacn"
interface = "{ola.host_address}"
universes = [2]

[[fixtures]]
name = "wash"
universe = 2
address = 500
layout = "rgbw"
'''
    rig = LightRig(parse_show(text, "multicast.toml", DEFAULT_SHOW), ["p1"])
    recording = ola.record("multicast.txt")
    rig.set("wash.intensity", 0.5)
    rig.set("wash.saturation", 0.0)
    rig.start()
    try:
        deadline = time.monotonic() + 4.0
        while time.monotonic() < deadline:  # bounded
            rig.fed()
            time.sleep(0.05)
    finally:
        rig.close()
        ola.wait_recorders()
    heard = [h for h in read_recording(recording) if h.universe == 2]  # OLA's E1.31 universe 2, by multicast
    assert heard, "nothing arrived on 239.255.0.2"
    assert any(h.values[499:503] == (0, 0, 0, 128) for h in heard)  # white at half on the rgbw's white channel
