"""Editing the show file while a session plays: applied within half a second,
a broken save keeps the previous mappings, nothing escapes the threads."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

from installation.config import load_show
from installation.runtime.launch import ShowWatcher, prepare_show
from installation.sensors.simulated import SimulatedAudience
from installation.runtime.session import Session

from tests.helpers import DEFAULT_SHOW, REPO


def hues(session: Session) -> list[float]:
    return [v for k, v in session.pipeline.visuals.snapshot.values.items() if k.endswith(".hue")]


def test_saving_the_show_changes_the_mapping_while_it_plays(tmp_path: Path) -> None:
    show_path = tmp_path / "live.toml"
    shutil.copy(DEFAULT_SHOW, show_path)
    shutil.copy(REPO / "patches" / "eco_symphony.py", tmp_path / "eco_symphony.py")
    prepared = prepare_show(load_show(show_path))
    notes: list[str] = []
    watcher = ShowWatcher(prepared, notes.append)
    session = Session(prepared.show, prepared.mapper, [SimulatedAudience(2, seed=2)], ["p1", "p2"], None, None)
    errors: list[BaseException] = []
    previous_hook = threading.excepthook
    threading.excepthook = lambda args: errors.append(args.exc_value)  # type: ignore[assignment]
    stop = threading.Event()
    runner = threading.Thread(target=session.run, args=(None, stop.is_set, watcher))
    with session:
        runner.start()
        try:
            time.sleep(1.5)
            assert hues(session) and all(0.47 <= h <= 0.96 for h in hues(session))
            text = show_path.read_text().replace("out_range = [0.48, 0.95]", "out_range = [0.0, 0.01]")
            show_path.write_text(text)
            saved = time.monotonic()
            while not all(h <= 0.01 for h in hues(session)) and time.monotonic() - saved < 3.0:
                time.sleep(0.01)
            applied_s = time.monotonic() - saved
            assert all(h <= 0.01 for h in hues(session)), hues(session)
            assert applied_s < 0.5 + 0.25, applied_s  # the watcher looks four times a second
            show_path.write_text(text.replace('to = "visual.p*.hue"', 'to = "visual.p*.hew"'))  # a typo
            time.sleep(1.0)
            assert all(h <= 0.01 for h in hues(session))  # still the last good mappings
        finally:
            stop.set()
            runner.join(timeout=5)
            threading.excepthook = previous_hook
    assert any("reloaded" in n for n in notes)
    assert any("not applied" in n and "did you mean 'visual.p*.hue'" in n for n in notes)
    assert not errors
