"""The session's threads: real simulated audience, core thread, no sound or window."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import pytest

from installation.config import load_show
from installation.runtime.launch import prepare_show
from installation.sensors.simulated import SimulatedAudience
from installation.operator_commands import Rebaseline
from installation.pipeline.sinks import Firing, Sink
from installation.runtime.session import Session

from tests.helpers import DEFAULT_SHOW


def test_rebaseline_request_reaches_the_core_thread(caplog: pytest.LogCaptureFixture) -> None:
    prepared = prepare_show(load_show(DEFAULT_SHOW))
    session = Session(prepared.show, prepared.mapper, [SimulatedAudience(2, seed=3)], ["p1", "p2"], None, None)
    before = set(threading.enumerate())
    with caplog.at_level(logging.WARNING, logger="installation"):
        with session:
            time.sleep(1.5)
            session.command(Rebaseline("p2"))
            time.sleep(0.3)
            session.run(0.5)
    assert "re-baselining p2 from now" in caplog.text
    assert session.stats.blocks > 100
    assert set(threading.enumerate()) <= before


def test_a_failing_source_does_not_stop_the_show(caplog: pytest.LogCaptureFixture) -> None:
    class Flaky(SimulatedAudience):
        """A sensor link that fails every few reads, as an unplugged cable would."""

        calls = 0

        def read(self, timeout_s: float):  # type: ignore[override]
            self.calls += 1
            if self.calls % 5 == 0:
                raise OSError("device disconnected")
            return super().read(timeout_s)

    prepared = prepare_show(load_show(DEFAULT_SHOW))
    session = Session(prepared.show, prepared.mapper, [Flaky(1)], ["p1"], None, None)
    with caplog.at_level(logging.WARNING):
        with session:
            session.run(2.0)
    assert session.stats.source_errors > 3
    assert session.stats.blocks > 50
    assert "device disconnected" in caplog.text


def test_osc_out_parameters_reach_a_peer(tmp_path: Path) -> None:
    """A show can drive a lighting desk: osc.out./address goes out as OSC on loopback."""
    import socket

    from pythonosc.osc_message import OscMessage

    from installation.config import parse_show

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as desk:
        desk.bind(("127.0.0.1", 0))
        desk.settimeout(0.2)
        port = desk.getsockname()[1]
        text = DEFAULT_SHOW.read_text() + (
            f'\n[osc_out]\nport = {port}\nrate_hz = 20\n\n[[mappings]]\nfrom = "p*.eda.arousal"\nto = "osc.out./lights/p*"\n'
            '\n[[mappings]]\nfrom = "any.heart.beat"\nto = "osc.out./cue/beat"\n'
        )
        prepared = prepare_show(parse_show(text, "osc.toml", DEFAULT_SHOW))
        session = Session(prepared.show, prepared.mapper, [SimulatedAudience(2, seed=3)], ["p1", "p2"], None, None)
        seen: dict[str, list[float]] = {}
        with session:
            deadline = time.monotonic() + 6.0
            while time.monotonic() < deadline:
                try:
                    data, _ = desk.recvfrom(4096)
                except TimeoutError:
                    continue
                message = OscMessage(data)
                seen.setdefault(message.address, []).append(message.params[0])
    assert {"/lights/p1", "/lights/p2", "/cue/beat"} <= set(seen)
    assert all(0.0 <= v <= 1.0 for v in seen["/lights/p1"])
    assert len(seen["/lights/p1"]) <= 6.0 * 20 + 5  # no more than the rate asks


def test_the_sound_carries_on_and_the_visuals_come_back_when_the_renderer_dies(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import os
    import signal

    from installation.record.reader import load_recording
    from installation.record.writer import Recorder
    from installation.sound.engine import SoundEngine
    from installation.visuals.process import Renderer, RendererSettings

    prepared = prepare_show(load_show(DEFAULT_SHOW))
    wearers = ["p1", "p2"]
    s = prepared.show.sound
    sound = SoundEngine(prepared.patch_class(wearers, s.settings), "wav", sample_rate_hz=s.sample_rate_hz,
                        buffer_frames=s.buffer_frames, wav_path=tmp_path / "show.wav")
    renderer = Renderer(RendererSettings(wearers, (160, 90), headless=True))
    recorder = Recorder(tmp_path / "rec", DEFAULT_SHOW.read_text(), "run", DEFAULT_SHOW)
    session = Session(prepared.show, prepared.mapper, [SimulatedAudience(2, seed=3)], wearers, sound, renderer,
                      recorder=recorder)
    with caplog.at_level(logging.WARNING, logger="installation.runtime.session"):
        with session:
            first = renderer.wait_started()
            assert first is not None
            os.kill(first["pid"], signal.SIGKILL)  # the window's process dies mid-show
            before = sound.buffers_done
            started = time.monotonic()
            session.run(3.0)
            played_s = (sound.buffers_done - before) * s.buffer_frames / s.sample_rate_hz
            elapsed_s = time.monotonic() - started
            again = renderer.wait_started()
            assert again is not None and again["pid"] != first["pid"] and renderer.alive
    assert played_s > 0.9 * elapsed_s, (played_s, elapsed_s)  # the sound never stopped
    assert sound.errors == 0
    assert "visuals: process died" in caplog.text and "visuals: process restarted (restart 1)" in caplog.text
    assert [f.part for f in session.faults][:2] == ["visuals", "visuals"]  # kept, with their times, for the operator
    recorded = load_recording(tmp_path / "rec")
    assert len(recorded.samples) == session.stats.samples > 0  # the recording lost nothing while the window died
    assert recorded.meta["complete"] is True


def test_operator_status_names_every_wearer_and_source() -> None:
    prepared = prepare_show(load_show(DEFAULT_SHOW))
    session = Session(prepared.show, prepared.mapper, [SimulatedAudience(2, seed=3)], ["p1", "p2"], None, None)
    with session:
        time.sleep(2.0)
        deadline = time.monotonic() + 15.0
        while not session.stats.trigger_latency_s and time.monotonic() < deadline:
            time.sleep(0.1)  # until the first beats have fired their triggers
        status = session.operator_status()
    assert [w.wearer for w in status.wearers] == ["p1", "p2"]
    assert all(0.0 <= w.quality <= 1.0 and w.state for w in status.wearers)
    assert len(status.sources) == 1 and status.sources[0].ok
    assert session.stats.trigger_latency_s, "no trigger fired in 17 s"
    assert 0.0 <= status.loop_latency_ms < 500.0, status.loop_latency_ms  # known once beats fired, and sane


def test_the_sources_packet_counters_reach_the_sensor_watch() -> None:
    """A source that counts its packets (``packets``, ``lost``): the share lost each second goes to
    the sensor watch, for every wearer whose blocks the source read."""

    class Lossy(SimulatedAudience):
        packets = 0
        lost = 0

        def read(self, timeout_s: float):  # type: ignore[override]
            blocks = super().read(timeout_s)
            self.packets += 3 * len(blocks)
            self.lost += len(blocks)  # a quarter lost
            return blocks

    prepared = prepare_show(load_show(DEFAULT_SHOW))
    session = Session(prepared.show, prepared.mapper, [Lossy(2, seed=3)], ["p1", "p2"], None, None)
    watch = session.pipeline.sensor_watch
    assert watch is not None
    with session:
        deadline = time.monotonic() + 10.0
        while len(watch.loss_readings("p2")) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
    for wearer in ("p1", "p2"):
        readings = watch.loss_readings(wearer)
        assert len(readings) >= 2 and all(r == pytest.approx(0.25) for r in readings), readings


def test_a_beat_the_device_found_fires_from_its_reader_thread() -> None:
    """An ``ibi`` reading is an event already: it goes to its trigger without a hand-over to the core thread."""
    import socket

    from pythonosc.osc_message_builder import OscMessageBuilder

    from installation.config import parse_show
    from installation.sensors.osc_source import OscSource

    class Watching(Sink):
        """A tap: which thread each trigger fired on."""

        def __init__(self) -> None:
            self.fired_on: list[tuple[str, str]] = []

        def trigger(self, firing: Firing) -> None:
            self.fired_on.append((firing.address, threading.current_thread().name))

    text = '[[mappings]]\nfrom = "p*.heart.beat"\nto = "osc.out./cue/beat"\n'
    prepared = prepare_show(parse_show(DEFAULT_SHOW.read_text() + "\n" + text, "fast.toml", DEFAULT_SHOW))
    source = OscSource(0, "127.0.0.1", wearers=["p1", "p2"])
    session = Session(prepared.show, prepared.mapper, [source], ["p1", "p2"], None, None)
    watching = session.pipeline.add_tap(Watching())
    with session, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sensor:
        for i in range(6):
            message = OscMessageBuilder(f"/eco/p{i % 2 + 1}/ibi")
            message.add_arg(0.8)
            sensor.sendto(message.build().dgram, ("127.0.0.1", source.port))
            time.sleep(0.4)  # each wearer's beats 0.8 s apart, as their intervals say
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline and len(session.stats.trigger_latency_s) < 6:
            time.sleep(0.02)
    beats = [thread for address, thread in watching.fired_on if address == "osc.out./cue/beat"]
    assert len(beats) == 6
    assert set(beats) == {"reader-0"}


def test_the_visuals_and_the_recording_carry_on_and_the_sound_comes_back_when_its_process_dies(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import os
    import signal

    from installation.record.reader import load_recording
    from installation.record.writer import Recorder
    from installation.sound.process import SoundProcess, SoundSettings, segment_path
    from installation.sound.wire import expand_parameters
    from installation.visuals.process import Renderer, RendererSettings

    prepared = prepare_show(load_show(DEFAULT_SHOW))
    wearers = ["p1", "p2"]
    s = prepared.show.sound
    wav = tmp_path / "show.wav"
    sound = SoundProcess(
        SoundSettings(patch_path=str(prepared.show.patch_path()), wearers=wearers, patch_settings=dict(s.settings),
                      backend="wav", wav_path=str(wav), fade_in_s=0.1, fade_out_s=0.1),
        expand_parameters(prepared.patch_class.PARAMETERS, wearers), prepared.patch_class.TRIGGER_VOICES)
    renderer = Renderer(RendererSettings(wearers, (160, 90), headless=True))
    recorder = Recorder(tmp_path / "rec", DEFAULT_SHOW.read_text(), "run", DEFAULT_SHOW)
    session = Session(prepared.show, prepared.mapper, [SimulatedAudience(2, seed=3)], wearers, sound, renderer,
                      recorder=recorder)
    with caplog.at_level(logging.WARNING, logger="installation.runtime.session"):
        with session:
            first = renderer.wait_started()
            assert first is not None
            session.run(1.0)
            killed = sound.pid
            assert killed is not None
            os.kill(killed, signal.SIGKILL)  # the sound's process dies mid-show
            session.run(3.0)
            assert sound.restarts == 1 and sound.alive and sound.pid != killed
            assert renderer.alive and renderer.restarts == 0  # nothing else restarted
    assert "sound: sound process stopped (killed by SIGKILL); starting a new one" in caplog.text
    assert [f.part for f in session.faults] == ["sound"]
    assert not any(f.part.startswith("thread") for f in session.faults)
    recorded = load_recording(tmp_path / "rec")
    assert len(recorded.samples) == session.stats.samples > 0  # the recording lost nothing
    assert recorded.meta["complete"] is True
    assert Path(segment_path(str(wav), 1)).stat().st_size > 44_100  # the new process played, in its own file


def test_blocks_read_as_the_show_stops_are_analysed_as_well_as_recorded(tmp_path: Path) -> None:
    """A read that returns after the stop was asked for (the core thread may be gone by then):
    its blocks are recorded by the reader, so the stop analyses them too."""
    from installation.record.reader import load_recording
    from installation.record.writer import Recorder

    class LateAtStop(SimulatedAudience):
        """A read that is still waiting when the stop is asked for returns late, with samples."""

        stopping: threading.Event

        def read(self, timeout_s: float):  # type: ignore[override]
            if self.stopping.wait(timeout_s):
                time.sleep(0.1)  # the core thread sees the stop and leaves meanwhile
                return super().read(0.0) or super().read(0.05)
            return super().read(0.0)

    prepared = prepare_show(load_show(DEFAULT_SHOW))
    source = LateAtStop(1, seed=5)
    recorder = Recorder(tmp_path / "rec", DEFAULT_SHOW.read_text(), "run", DEFAULT_SHOW)
    session = Session(prepared.show, prepared.mapper, [source], ["p1"], None, None, recorder=recorder)
    source.stopping = session._stop
    with session:
        session.run(1.0)
        time.sleep(0.05)  # the simulated audience has samples waiting for the last read
    recorded = load_recording(tmp_path / "rec")
    assert len(recorded.samples) == session.stats.samples > 0
