"""Consent before a wearer is recorded: the recording's gate (a table), real shows where the operator
(a command, and the console's keys in a pty) or a device (a consent reading over OSC) grants it."""

from __future__ import annotations

import fcntl
import os
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import numpy as np
import pytest

from installation.config import load_show, parse_show
from installation.operator_commands import Consent, Mark
from installation.record.consent import RecordingGate
from installation.record.reader import Recording, load_recording
from installation.record.writer import Recorder
from installation.record.xdf_writer import XdfRecorder
from installation.runtime.launch import LaunchOptions, make_recorder, prepare_show
from installation.runtime.session import Session
from installation.sensors.base import SampleBlock
from installation.sensors.osc_source import OscSource
from installation.sensors.simulated import SimulatedAudience

from tests.helpers import DEFAULT_SHOW, REPO, headless_env
from tests.runtime.test_console import Screen


def _block(wearer: str, signal: str = "ppg", value: float = 500.0, arrival_s: float = 0.5) -> SampleBlock:
    return SampleBlock(wearer, signal, np.array([arrival_s - 0.01, arrival_s]), np.array([value, value]), "adc",  # type: ignore[arg-type]
                       arrival_s, 100.0)


# ---- the gate, on a real recorder ---------------------------------------------------------
# Each step: ("samples", wearer, signal, value) or ("event", wearer, kind, value); what is written.
STEPS = [
    ("samples", "p1", "ppg", 500.0),
    ("event", "p1", "heart.beat", 70.0),
    ("samples", "p2", "consent", 0.0),  # a button read as "no": not a grant
    ("event", "", "operator.consent", "p2"),
    ("samples", "p2", "ppg", 510.0),
    ("event", "p2", "heart.beat", 71.0),
    ("samples", "p1", "consent", 1.0),
    ("samples", "p1", "ppg", 520.0),
    ("samples", "alice", "ppg", 530.0),
    ("event", "alice", "heart.beat", 72.0),
]


@pytest.mark.parametrize(("consent", "samples", "events", "withheld"), [
    ("none", [("p1", 500.0), ("p2", 0.0), ("p2", 510.0), ("p1", 1.0), ("p1", 520.0)],
     [("p1", "heart.beat"), ("", "operator.consent"), ("p2", "heart.beat")], 0),
    ("operator", [("p2", 510.0)], [("", "operator.consent"), ("p2", "heart.beat")], 2 + 1 + 2 + 2 + 2),
    ("device", [("p2", 510.0), ("p1", 1.0), ("p1", 520.0)],
     [("", "operator.consent"), ("p2", "heart.beat"), ("", "consent.device")], 2 + 1 + 2),
])
def test_the_gate_writes_only_what_may_be_written(tmp_path: Path, consent: str, samples: list[tuple[str, float]],
                                                   events: list[tuple[str, str]], withheld: int) -> None:
    gate = RecordingGate(Recorder(tmp_path / "rec", "", "run", None), consent)  # type: ignore[arg-type]
    gate.start(0.0, ["p1", "p2"], ["test"])
    for i, (what, wearer, kind, value) in enumerate(STEPS):
        at_s = 0.5 + i
        if what == "samples":
            gate.samples([_block(wearer, kind, float(value), at_s)])  # type: ignore[arg-type]
        else:
            gate.event(at_s, wearer, kind, value)
    gate.stop(20.0)
    rec = load_recording(tmp_path / "rec")
    got = sorted(set(zip(rec.samples.wearer.tolist(), rec.samples.value.tolist())), key=lambda s: rec.samples.value.tolist().index(s[1]))
    assert got == samples
    assert list(zip(rec.events.wearer.tolist(), rec.events.kind.tolist())) == events
    assert gate.withheld == withheld
    assert gate.refused == 3  # alice's two samples and her beat, whatever the consent
    assert "alice" not in (tmp_path / "rec" / "samples.csv").read_text() + (tmp_path / "rec" / "events.csv").read_text()
    if consent == "device":  # the grant is noted, with its slot, at the reading's arrival
        grant = rec.events.of_kind("consent.device")
        assert grant.value.tolist() == ["p1"] and grant.time_s.tolist() == [6.5]


# ---- a real show: the operator gives p2's consent, never p1's -------------------------------
def _check_only_after(rec: Recording, grant_kind: str) -> float:
    """p1 has nothing in the recording; p2 only from the grant on (which is noted). Returns the grant's time."""
    grants = rec.events.of_kind(grant_kind)
    assert grants.value.tolist() == ["p2"], rec.events.kind.tolist()
    grant_s = float(grants.time_s[0])
    s = rec.samples
    assert not (s.wearer == "p1").any() and "p1" not in rec.events.wearer.tolist()
    p2_arrivals = s.arrival_s[s.wearer == "p2"]
    assert p2_arrivals.size > 100 and p2_arrivals.min() >= grant_s - 0.001
    assert p2_arrivals.max() - grant_s > 2.0
    beats = rec.events.of_kind("heart.beat")
    assert beats.wearer.tolist() and set(beats.wearer.tolist()) == {"p2"}
    assert (beats.time_s >= grant_s - 2.0).all()  # a beat is dated back to its peak, at most a beat or so
    return grant_s


@pytest.mark.parametrize("fmt", ["csv", "xdf"])
def test_a_real_show_records_p2_only_after_the_operators_consent(tmp_path: Path, fmt: str) -> None:
    prepared = prepare_show(load_show(DEFAULT_SHOW))
    path = tmp_path / ("run-20261202-200000" + (".xdf" if fmt == "xdf" else ""))
    recorder = (XdfRecorder if fmt == "xdf" else Recorder)(path, "", "rehearse", DEFAULT_SHOW)
    gate = RecordingGate(recorder, "operator")
    session = Session(prepared.show, prepared.mapper, [SimulatedAudience(2, seed=4)], ["p1", "p2"], None, None,
                      recorder=gate)
    with session:
        session.run(5.0)  # a heart needs about 4 s to be learnt
        assert session.stats.beat_times_s.get("p1") and session.stats.beat_times_s.get("p2")  # both play live
        assert session.command(Consent("p9")) is False  # no such wearer: nothing noted
        assert session.command(Consent("p2")) is True
        session.command(Mark("after"))
        session.run(3.5)
    rec = load_recording(path)
    _check_only_after(rec, "operator.consent")
    assert rec.events.of_kind("operator.mark").value.tolist() == ["after"]  # the operator's actions are kept
    assert gate.withheld > 300  # p1's samples and p2's before the grant


def test_a_real_show_records_p2_only_after_their_devices_consent(tmp_path: Path) -> None:
    from pythonosc.udp_client import SimpleUDPClient

    prepared = prepare_show(load_show(DEFAULT_SHOW))
    buttons = OscSource(0, wearers=["p1", "p2"])
    gate = RecordingGate(Recorder(tmp_path / "rec", "", "rehearse", DEFAULT_SHOW), "device")
    session = Session(prepared.show, prepared.mapper, [SimulatedAudience(2, seed=4), buttons], ["p1", "p2"], None, None,
                      recorder=gate)
    with session:
        client = SimpleUDPClient("127.0.0.1", buttons.port)
        session.run(2.5)
        client.send_message("/eco/p1/consent", 0.0)  # p1 pressed "no"
        session.run(0.5)
        client.send_message("/eco/p2/consent", 1.0)
        session.run(3.5)
    rec = load_recording(tmp_path / "rec")
    _check_only_after(rec, "consent.device")
    s = rec.samples
    assert s.value[(s.wearer == "p2") & (s.signal == "consent")].tolist() == [1.0]  # the grant's own reading


def test_consent_in_the_show_file_reaches_the_recorder(tmp_path: Path) -> None:
    text = DEFAULT_SHOW.read_text().replace('format = "csv"', 'format = "csv"\nconsent = "device"\nkeep_days = 7')
    show = parse_show(text, "show.toml", DEFAULT_SHOW)
    assert show.record.consent == "device" and show.record.keep_days == 7
    gate = make_recorder(show, LaunchOptions(record_dir=tmp_path), "run")
    assert isinstance(gate, RecordingGate) and gate.consent == "device" and gate.folder.parent == tmp_path
    with pytest.raises(Exception, match=r"record.consent.*'none', 'operator' or 'device'"):
        parse_show(text.replace('consent = "device"', 'consent = "always"'), "show.toml", DEFAULT_SHOW)


# ---- the whole program: the operator's keys in a pty ------------------------------------------
def test_the_operators_keys_grant_consent_in_a_recorded_rehearsal(tmp_path: Path) -> None:
    show = tmp_path / "show.toml"
    show.write_text(DEFAULT_SHOW.read_text().replace('format = "csv"', 'format = "csv"\nconsent = "operator"'))
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    env = headless_env()
    env["TERM"] = "xterm-256color"
    proc = subprocess.Popen(
        [sys.executable, "-m", "installation", "rehearse", str(show), "--console", "--duration", "60",
         "--participants", "2", "--audio", "none", "--visuals", "none", "--record", str(tmp_path / "recordings"),
         "--runs-dir", str(tmp_path / "runs")],
        cwd=REPO, env=env, stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    screen = Screen(master)
    try:
        screen.wait_for(r"p2\s+(ok|noisy)\s+\d{2,3}", 90.0)  # p2 plays live before anyone agreed
        time.sleep(1.0)
        mark = len(screen.text)
        os.write(master, b"c")
        screen.wait_for(r"type the wearer's number", 10.0, since=mark)
        os.write(master, b"2")
        screen.wait_for(r"consent: p2 \(Enter to confirm\)", 10.0, since=mark)
        os.write(master, b"\r")
        screen.wait_for(r"consent: p2 agreed to be recorded", 10.0, since=mark)
        screen.pump(3.5)
        os.write(master, b"qq")
        deadline = time.monotonic() + 30.0
        while proc.poll() is None and time.monotonic() < deadline:
            screen.pump(0.2)
        assert proc.returncode == 0, screen.text[-3000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        os.close(master)
        os.close(slave)
    (folder,) = (tmp_path / "recordings").iterdir()
    rec = load_recording(folder)
    grant_s = _check_only_after(rec, "operator.consent")
    assert grant_s > 1.0
