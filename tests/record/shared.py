"""What the recording tests share: the show, a counting audience, and how the shared recording is made."""

from __future__ import annotations

import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from installation.config import load_show
from installation.runtime.launch import prepare_show
from installation.record.writer import Recorder
from installation.sensors.base import SampleBlock
from installation.sensors.simulated import SimulatedAudience
from installation.operator_commands import Blackout, Mark, Panic, Rebaseline, SelectScene
from installation.runtime.session import Session

from tests.helpers import REPO

SHOW = REPO / "patches" / "gathering.toml"  # it has scenes, chosen by key and by a rule
RECORD_S = 9.0


class Both:
    """Hands a session's recording to two recorders at once (the same show in both formats)."""

    def __init__(self, *recorders: Recorder) -> None:
        self.recorders = recorders

    def start(self, start_s: float, wearers: Sequence[str], sources: Sequence[str]) -> None:
        for r in self.recorders:
            r.start(start_s, wearers, sources)

    def samples(self, blocks: Sequence[SampleBlock]) -> None:
        for r in self.recorders:
            r.samples(blocks)

    def event(self, time_s: float, wearer: str, kind: str, value: object) -> None:
        for r in self.recorders:
            r.event(time_s, wearer, kind, value)

    def stop(self, stop_s: float) -> None:
        for r in self.recorders:
            r.stop(stop_s)


class CountingAudience(SimulatedAudience):
    """A simulated audience that keeps a copy of every block it delivered."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.delivered: list[SampleBlock] = []
        self._lock = threading.Lock()

    def read(self, timeout_s: float) -> list[SampleBlock]:
        blocks = super().read(timeout_s)
        with self._lock:
            self.delivered += blocks
        return blocks


@dataclass
class Recorded:
    """What the shared recording produced."""

    folder: Path
    source: CountingAudience
    session: Session
    recorder: Recorder

    def copy_to(self, where: Path) -> Path:
        """A copy of the recording folder (for tests that damage it)."""
        target = where / self.folder.name
        shutil.copytree(self.folder, target)
        return target


def record_show(root: Path) -> Recorded:
    """Two simulated wearers for ``RECORD_S`` seconds through the real reader and core threads,
    with an operator who marks, chooses a scene, re-baselines one wearer, panics and blacks out."""
    prepared = prepare_show(load_show(SHOW))
    source = CountingAudience(2, seed=5)
    folder = root / "rehearse-test"
    recorder = Recorder(folder, SHOW.read_text(encoding="utf-8"), "rehearse", SHOW)
    session = Session(prepared.show, prepared.mapper, [source], ["p1", "p2"], None, None, recorder=recorder)
    with session:
        started = time.monotonic()
        time.sleep(3.0)
        session.command(Mark("doors open, \"first\" group"))
        session.command(SelectScene(key="2"))
        time.sleep(1.0)
        session.command(Rebaseline("p1"))
        session.command(Panic(True))
        session.command(Blackout(True))
        time.sleep(1.0)
        session.command(Panic(False))
        session.command(Blackout(False))
        session.command(Mark())
        session.run(max(0.5, RECORD_S - (time.monotonic() - started)))
    assert recorder.failed is None
    return Recorded(folder, source, session, recorder)
