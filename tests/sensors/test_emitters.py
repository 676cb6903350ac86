"""Simulated wearers on real transports, scenarios and faults."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path


import pytest

import numpy as np

from installation.clock import FakeClock
from installation.config import ConfigError
from installation.dsp.core import SignalCore
from installation.sensors.parsers import Native, PulseSensorVisualizer
from installation.sensors.osc_source import OscSource
from installation.sensors.serial_source import SerialSource
from installation.sensors.simulated import SimulatedAudience
from installation.sensors.emitters import OscEmitter, SerialPtyEmitter, Simulation
from installation.sensors.scripted import Scenario, ScenarioEvent, ScriptedAudience, load_scenario

from tests.helpers import REPO


def run_for(sim: Simulation, source, seconds: float) -> list:
    blocks, deadline = [], time.monotonic() + seconds
    sim.scripted.audience.open()
    with source:
        while time.monotonic() < deadline:
            sim.step(0.01)
            blocks += source.read(0.01)
    return blocks


@pytest.mark.parametrize("fmt", ["native", "emotibit", "openbci"])
def test_osc_formats_reach_the_osc_source(fmt: str) -> None:
    source = OscSource(0, wearers=["p1", "p2"])
    source.open()
    port = source.port
    source.close()
    source = OscSource(port, wearers=["p1", "p2"])
    emitter = OscEmitter("127.0.0.1", port, fmt)  # type: ignore[arg-type]
    blocks = run_for(Simulation(ScriptedAudience(SimulatedAudience(2, 5), Scenario()), emitter), source, 3.0)
    emitter.close()
    signals = {(b.wearer, b.signal) for b in blocks}
    if fmt == "openbci":
        assert ("p1", "ibi") in signals and ("p1", "bpm") in signals
    else:
        assert {("p1", "ppg"), ("p2", "ppg"), ("p1", "eda"), ("p2", "eda")} <= signals
        assert source.corrupt == 0


@pytest.mark.parametrize(("fmt", "parser", "signal"), [("native", Native(), "eda"), ("pulsesensor", PulseSensorVisualizer(), "ibi")])
def test_serial_pty_formats_reach_the_serial_source(fmt: str, parser, signal: str) -> None:
    emitter = SerialPtyEmitter(fmt)  # type: ignore[arg-type]
    source = SerialSource(emitter.path, 115200, parser, ["p1", "p2"])
    blocks = run_for(Simulation(ScriptedAudience(SimulatedAudience(2, 5), Scenario()), emitter), source, 3.0)
    emitter.close()
    assert {b.wearer for b in blocks if b.signal == signal} == {"p1", "p2"}
    assert source.corrupt == 0 and source.lost == 0


def test_simulate_command_makes_a_pty_that_listen_can_read() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "installation", "simulate", "--serial-pty", "--format", "pulsesensor",
                             "--participants", "1", "--duration", "6"], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        path = proc.stdout.readline().strip() if proc.stdout else ""
        assert path.startswith("/dev/")
        source = SerialSource(path, 115200, PulseSensorVisualizer(), ["p1"])
        blocks, deadline = [], time.monotonic() + 4.0
        with source:
            while time.monotonic() < deadline:
                blocks += source.read(0.05)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert sum(b.values.size for b in blocks if b.signal == "ppg") > 200
    assert any(b.signal == "ibi" for b in blocks)


def core_after(scenario: Scenario, seconds: float) -> tuple[SignalCore, FakeClock]:
    clock = FakeClock()
    scripted = ScriptedAudience(SimulatedAudience(2, seed=7, clock=clock), scenario)
    core = SignalCore()
    scripted.audience.open()
    while clock.now_s() < seconds:
        for block in scripted.read(0.05):
            core.process(block)
    return core, clock


@pytest.mark.parametrize(
    ("what", "state"),
    [("lift_off", "no_contact"), ("saturate", "saturated"), ("dropout", "dropout"), ("motion", "noisy")],
)
def test_faults_show_in_the_core(what: str, state: str) -> None:
    scenario = Scenario(events=[ScenarioEvent(at_s=15.0, duration_s=30.0, wearer="p2", what=what)])  # type: ignore[arg-type]
    core, clock = core_after(scenario, 25.0)
    features = core.features(clock.now_s())
    assert core.states()["p2.heart"] == state
    assert core.states()["p1.heart"] == "ok"
    assert features["p1.heart.quality"] > 0.8 and features["p2.heart.quality"] < 0.5


def test_startle_raises_heart_rate_and_skin_conductance() -> None:
    calm_core, clock = core_after(Scenario(), 27.0)
    startled, clock2 = core_after(Scenario(events=[ScenarioEvent(at_s=20.0, duration_s=15.0, what="startle")]), 27.0)
    before, after = calm_core.features(clock.now_s()), startled.features(clock2.now_s())
    assert after["p1.heart.bpm"] > before["p1.heart.bpm"] + 5
    assert after["p1.eda.scl"] > before["p1.eda.scl"]


def test_scenario_file_errors_name_the_key(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text('[[events]]\nat_s = 5\nwhat = "sneeze"\n')
    with pytest.raises(ConfigError, match=r"events\[0\]\.what"):
        load_scenario(path)
    path.write_text('[[events]]\nat_s = 5\nwhat = "startle"\nwearer = "bob"\n')
    with pytest.raises(ConfigError, match=r"events\[0\]\.wearer"):
        load_scenario(path)
    path.write_text('title = "doors open"\n[[events]]\nat_s = 5\nwhat = "startle"\n[[events]]\nat_s = 9\nwhat = "lift_off"\nwearer = "p2"\n')
    assert [e.what for e in load_scenario(path).events] == ["startle", "lift_off"]


def test_simulated_ecg_is_read_by_the_ecg_detector() -> None:
    clock = FakeClock()
    audience = SimulatedAudience(2, seed=3, clock=clock, heart="ecg")
    core = SignalCore()
    events = []
    with audience:
        while clock.now_s() < 30.0:
            for block in audience.read(0.05):
                assert block.signal in ("ecg", "eda")
                events += core.process(block)
    truth = audience.wearers[0].true_beats_s(30.0)
    found = np.array([e.time_s for e in events if e.address == "p1.heart.beat"])
    from installation.dsp.scoring import match_events

    m = match_events(found, truth, 0.02, start_s=3.0, end_s=29.0)
    assert m.sensitivity >= 0.99 and m.ppv >= 0.99, m


@pytest.mark.parametrize("fmt", ["native", "openbci"])
def test_ecg_over_osc(fmt: str) -> None:
    probe = OscSource(0)
    probe.open()
    port = probe.port
    probe.close()
    source = OscSource(port, wearers=["p1", "p2"])
    emitter = OscEmitter("127.0.0.1", port, fmt)  # type: ignore[arg-type]
    blocks = run_for(Simulation(ScriptedAudience(SimulatedAudience(2, 5, heart="ecg"), Scenario()), emitter), source, 2.0)
    emitter.close()
    assert {b.wearer for b in blocks if b.signal == "ecg"} == {"p1", "p2"}
