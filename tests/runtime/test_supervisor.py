"""The session's supervisor: a part that fails is restarted or set aside, the rest of the show goes on,
and every fault is kept with its time."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from installation.config import load_show
from installation.runtime.launch import prepare_show
from installation.sensors.simulated import SimulatedAudience
from installation.operator_commands import Panic
from installation.runtime.session import Session
from installation.status import Fault
from installation.sound.engine import SoundEngine
from installation.visuals.process import Renderer, RendererSettings

from tests.helpers import DEFAULT_SHOW


def _session(sources: list, wearers: list[str], **kwargs) -> Session:  # type: ignore[type-arg]
    prepared = prepare_show(load_show(DEFAULT_SHOW))
    return Session(prepared.show, prepared.mapper, sources, wearers, kwargs.get("sound"), kwargs.get("renderer"))


class Dying(SimulatedAudience):
    """A source whose reader thread is killed once by an error no ``except Exception`` catches."""

    died = False

    def read(self, timeout_s: float):  # type: ignore[override]
        if not self.died and self.elapsed_s() > 0.5:
            self.died = True
            raise SystemExit("reader killed")
        return super().read(timeout_s)


class Stuck(SimulatedAudience):
    """A link that fails until it is closed and opened again (as a wedged USB adapter does)."""

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.opens = 0
        self.wedged = False

    def open(self) -> None:
        super().open()
        self.opens += 1
        self.wedged = self.opens == 1  # wedged until the first reopen

    def read(self, timeout_s: float):  # type: ignore[override]
        if self.wedged and self.elapsed_s() > 0.3:
            raise OSError("device not responding")
        return super().read(timeout_s)


def test_a_reader_thread_that_dies_is_restarted() -> None:
    source = Dying(1, seed=2)
    session = _session([source], ["p1"])
    with session:
        session.run(2.5)
        blocks_before_end = session.stats.blocks
    assert source.died
    assert any(f.part == "thread reader-0" and "restarted" in f.message for f in session.faults)
    assert any(f.part == "thread reader-0" and "reader killed" in f.message for f in session.faults)
    assert blocks_before_end > 100  # it kept reading after the restart


def test_a_source_that_keeps_failing_is_opened_again() -> None:
    source = Stuck(1, seed=2)
    session = _session([source], ["p1"])
    with session:
        session.run(4.0)
    assert source.opens >= 2
    assert any("opened again" in f.message for f in session.faults)
    assert session.stats.blocks > 50


def test_a_failing_core_pass_is_logged_and_the_show_goes_on() -> None:
    from installation.pipeline.sinks import Sink

    class Buggy(Sink):
        """A sink whose first three feature ticks fail."""

        bugs = 3

        def features(self, now_s: float, values: object) -> None:
            if self.bugs:
                self.bugs -= 1
                raise ZeroDivisionError("a bug in a mapping")

    prepared = prepare_show(load_show(DEFAULT_SHOW))
    session = Session(prepared.show, prepared.mapper, [SimulatedAudience(1, seed=2)], ["p1"], None, None)
    session.pipeline.add_tap(Buggy())
    with session:
        session.run(5.0)
    core_faults = [f for f in session.faults if f.part == "core"]
    assert len(core_faults) == 3 and "a bug in a mapping" in core_faults[0].message
    assert session.stats.beat_times_s.get("p1")  # beats kept coming


def test_sound_that_cannot_start_leaves_the_visuals_running(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JACK_DEFAULT_SERVER", f"eco-no-such-server-{time.monotonic_ns()}")
    monkeypatch.setenv("JACK_NO_START_SERVER", "1")
    prepared = prepare_show(load_show(DEFAULT_SHOW))
    wearers = ["p1", "p2"]
    sound = SoundEngine(prepared.patch_class(wearers, prepared.show.sound.settings), "jack")
    renderer = Renderer(RendererSettings(wearers, (160, 90), headless=True, frames_dir=tmp_path, frame_every_s=0.2))
    session = Session(prepared.show, prepared.mapper, [SimulatedAudience(2, seed=3)], wearers, sound, renderer)
    with session:
        assert renderer.wait_started() is not None
        session.run(2.0)
        assert session.command(Panic()) is False  # the operator's keys still work: nothing to mute
    assert session.sound is None and session.sound_failed is not None and "JACK" in session.sound_failed
    assert any(f.part == "sound" and "without sound" in f.message for f in session.faults)
    assert len(list(tmp_path.glob("frame_*.png"))) >= 3  # the visuals carried on
    assert session.stats.blocks > 100  # and so did the core


@pytest.mark.parametrize(
    ("wall_time_s", "part", "message", "tail"),
    [
        (0.25, "sound", "could not start", ".250 sound: could not start"),
        (12.999, "source osc:12345", "read failed: x", ".999 source osc:12345: read failed: x"),
    ],
)
def test_fault_lines_carry_their_time(wall_time_s: float, part: str, message: str, tail: str) -> None:
    line = Fault(wall_time_s, part, message).line()
    assert line.endswith(tail) and line[2] == ":" and line[5] == ":"
