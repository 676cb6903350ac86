"""Faults injected into a running, recording show: it survives, and the recording keeps
everything that reached the program.

Each test runs a real session (reader and core threads, the recorder's writer thread)
and checks three things: the show went on, the fault was noticed, and the recording
holds every sample the source delivered. Elsewhere: a full disk while recording
(``tests/record/test_writer.py``), a renderer killed (``tests/runtime/test_session.py``), the
sound failing to start and threads dying (``tests/runtime/test_supervisor.py``).
"""

from __future__ import annotations

import logging
import math
import socket
import threading
import time
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
from pythonosc.osc_message_builder import OscMessageBuilder
from streams import Pty

from installation.config import load_show
from installation.runtime.launch import prepare_show
from installation.record.reader import load_recording
from installation.record.writer import Recorder
from installation.sensors.base import SampleBlock
from installation.sensors.parsers import Native, native_encode
from installation.sensors.osc_source import OscSource
from installation.sensors.serial_source import SerialSource
from installation.sensors.simulated import SimulatedAudience
from installation.runtime.session import Session
from installation.sensors.scripted import Scenario, ScriptedAudience

from tests.helpers import DEFAULT_SHOW


class Counting:
    """Wraps a source and counts the samples it delivered, per wearer and signal."""

    def __init__(self, source) -> None:  # type: ignore[no-untyped-def]
        self.source = source
        self.name = getattr(source, "name", "source")
        self.delivered: dict[tuple[str, str], list[float]] = {}

    def open(self) -> None:
        self.source.open()

    def close(self) -> None:
        self.source.close()

    def read(self, timeout_s: float) -> list[SampleBlock]:
        blocks = self.source.read(timeout_s)
        for b in blocks:
            self.delivered.setdefault((b.wearer, b.signal), []).extend(b.values.tolist())
        return blocks

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self.source, name)


def _recorded_values(folder: Path, wearer: str, signal: str) -> list[float]:
    rec = load_recording(folder)
    keep = (rec.samples.wearer == wearer) & (rec.samples.signal == signal)
    return rec.samples.value[keep].tolist()


def _session(source, wearers: list[str], folder: Path) -> Session:  # type: ignore[no-untyped-def]
    prepared = prepare_show(load_show(DEFAULT_SHOW))
    recorder = Recorder(folder, DEFAULT_SHOW.read_text(), "run", DEFAULT_SHOW)
    return Session(prepared.show, prepared.mapper, [source], wearers, None, None, recorder=recorder)


def _pulse(t_s: float) -> float:
    """A PPG-like wave at 72 beats a minute, in ADC counts."""
    phase = (t_s * 1.2) % 1.0
    return 512.0 + 300.0 * math.exp(-((phase - 0.2) / 0.06) ** 2) + 80.0 * math.exp(-((phase - 0.45) / 0.1) ** 2)


@pytest.fixture
def pty(tmp_path: Path) -> Iterator[Pty]:
    p = Pty(tmp_path / "ttyECO0")
    yield p
    p.close()


def test_a_serial_sensor_unplugged_and_plugged_back(pty: Pty, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    serial = SerialSource(str(pty.link), 115200, Native(), ["p1"], max_backoff_s=0.2)
    source = Counting(serial)
    session = _session(source, ["p1"], tmp_path / "rec")
    written: list[float] = []
    seq = 0

    def play(seconds: float) -> None:
        nonlocal seq
        start = time.monotonic()
        while time.monotonic() - start < seconds:  # 100 lines a second, written in 20 ms bursts
            lines = []
            for _ in range(2):
                value = round(_pulse(seq / 100.0), 1)
                lines.append(native_encode(seq, seq * 10, {"ppg": value}) + "\n")
                written.append(value)
                seq += 1
            pty.write("".join(lines))
            time.sleep(0.02)

    with caplog.at_level(logging.WARNING), session:
        play(3.0)
        time.sleep(0.3)
        pty.unplug()  # the cable is pulled mid-show
        session.run(1.0)
        assert not serial.connected
        pty.plug()
        deadline = time.monotonic() + 5.0
        while not serial.connected and time.monotonic() < deadline:
            session.run(0.1)
        play(4.0)
        time.sleep(0.5)
        blocks_late = session.stats.blocks
        connected_at_the_end = serial.connected
        session.run(0.3)
    assert connected_at_the_end and serial.reconnects == 2
    assert "lost" in caplog.text  # the operator was told
    assert source.delivered[("p1", "ppg")] == written  # every line that reached a plugged port ...
    assert _recorded_values(tmp_path / "rec", "p1", "ppg") == written  # ... is in the recording
    assert blocks_late > 100 and session.stats.source_errors == 0
    assert load_recording(tmp_path / "rec").meta["complete"] is True


def _osc(address: str, *values: float) -> bytes:
    m = OscMessageBuilder(address)
    for v in values:
        m.add_arg(float(v))
    return m.build().dgram


GARBAGE = [
    b"\x00\x01\x02 not osc at all",
    b"/eco/p1/ppg\x00",  # cut short: no type tags
    _osc("/eco/p1/ppg")[:-1],  # a byte missing
    b"#bundle\x00" + b"\xff" * 12,  # a bundle with a broken size
    _osc("/eco/p0/ppg", 1.0),  # slots start at p1
    b"",
]


def test_an_osc_flood_with_garbage(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Ten times the normal message rate for 3 s, garbage in every tenth packet; a calm wearer alongside."""
    osc = OscSource(0, "127.0.0.1", wearers=["p1", "p2", "p3", "p4"])
    source = Counting(osc)
    session = _session(source, ["p1", "p2", "p3", "p4"], tmp_path / "rec")
    calm = SimulatedAudience(1, seed=5)  # p1's own sensor, at its normal rate
    stop = threading.Event()
    sent_valid = {"n": 0}

    def flood() -> None:  # p2..p4 at 1000 messages a second each (100 Hz is normal), one sample a message
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
            i = 0
            start = time.monotonic()
            while not stop.is_set() and time.monotonic() - start < 3.0:
                for w in (2, 3, 4):
                    tx.sendto(_osc(f"/eco/p{w}/ppg", _pulse(i / 1000.0)), ("127.0.0.1", osc.port))
                    sent_valid["n"] += 1
                if i % 10 == 0:
                    tx.sendto(GARBAGE[(i // 10) % len(GARBAGE)], ("127.0.0.1", osc.port))
                i += 1
                if i % 20 == 0:
                    time.sleep(max(0.0, start + i / 1000.0 - time.monotonic()))

    with caplog.at_level(logging.WARNING), session, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        calm.open()
        flooder = threading.Thread(target=flood, daemon=True)
        started = time.monotonic()
        calm_sent: list[float] = []
        while time.monotonic() - started < 9.0:
            for block in calm.read(0.02):
                if block.signal == "ppg":
                    tx.sendto(_osc("/eco/p1/ppg", *block.values.tolist()), ("127.0.0.1", osc.port))
                    calm_sent += block.values.tolist()
            if not flooder.is_alive() and time.monotonic() - started > 1.0 and sent_valid["n"] == 0:
                flooder.start()
            session.supervise(time.monotonic())
        stop.set()
        flooder.join(timeout=5.0)
        time.sleep(0.3)
        calm.close()
    assert osc.corrupt >= 20  # garbage counted, never raised
    assert not any(t.name == "reader-0" for t in threading.enumerate())  # its threads stopped cleanly
    assert session.stats.dropped_blocks == 0 and session.stats.source_errors == 0
    delivered = sum(len(v) for v in source.delivered.values())
    assert delivered >= 0.9 * (sent_valid["n"] + len(calm_sent))  # the program kept up (UDP may drop a little)
    rec = load_recording(tmp_path / "rec")
    assert len(rec.samples) == delivered  # nothing that arrived is missing from the recording
    assert source.delivered[("p1", "ppg")] == calm_sent  # the calm wearer lost nothing in the flood
    assert len(session.stats.beat_times_s.get("p1", [])) >= 3  # and still had beats found


def test_a_sensor_flatlining(tmp_path: Path) -> None:
    """p2's lead breaks at 6 s: it is reported flat and faded out; p1 plays on."""
    scenario = Scenario.model_validate({"events": [{"at_s": 6.0, "duration_s": 60.0, "wearer": "p2", "what": "flatline"}]})
    source = Counting(ScriptedAudience(SimulatedAudience(2, seed=4), scenario, seed=4))
    session = _session(source, ["p1", "p2"], tmp_path / "rec")
    with session:
        session.run(11.0)
        features = session.features
    flat = [f for f in session.faults if f.part.startswith("signal p2.") and "flat" in f.message]
    assert flat, [f.line() for f in session.faults]
    assert not any(f.part.startswith("signal p1.") for f in session.faults)
    assert features.get("p2.quality", 1.0) < 0.3 < features.get("p1.quality", 0.0)
    p1_beats = np.asarray(session.stats.beat_times_s.get("p1", []))
    assert p1_beats.size and p1_beats.max() > p1_beats.min() + 5.0  # p1's beats went on past p2's fault
    recorded = _recorded_values(tmp_path / "rec", "p2", "ppg")
    assert recorded == source.delivered[("p2", "ppg")] and len(set(recorded[-100:])) == 1  # the flat line, recorded
