"""Replaying a recording: deterministic, the live beats again, the operator's actions re-applied."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from installation.record.reader import load_events, load_recording
from installation.commands.replay import recorded_show, replay

from tests.record.shared import Recorded


def test_two_replays_are_identical_byte_for_byte(recorded: Recorded) -> None:
    rec = load_recording(recorded.folder)
    first, second = replay(rec), replay(rec)
    assert first.events.csv_text() == second.events.csv_text()
    assert first.params_csv_text() == second.params_csv_text()
    params = first.params_csv_text().splitlines()
    assert params[0] == "time_s,kind,parameter,value" and len(params) > 500
    assert any(",trigger,visual.p1.pulse," in line for line in params)  # beats reached their triggers


def test_replay_finds_the_live_beats(recorded: Recorded) -> None:
    rec = load_recording(recorded.folder)
    result = replay(rec)
    live = rec.events.of_kind("heart.beat")
    back = [r for r in result.events.rows if r[2] == "heart.beat"]
    for wearer in ("p1", "p2"):
        live_s = live.time_s[live.wearer == wearer]
        back_s = np.array([float(r[0]) for r in back if r[1] == wearer])
        assert live_s.size >= 3 and abs(live_s.size - back_s.size) <= 1, wearer
        matched = min(live_s.size, back_s.size)
        assert np.max(np.abs(live_s[:matched] - back_s[:matched])) < 0.005, wearer
    assert result.samples == len(rec.samples)


def test_operator_actions_and_scenes_come_back_at_their_times(recorded: Recorded) -> None:
    rec = load_recording(recorded.folder)
    rows = replay(rec).events.rows
    live = [(f"{t:.6f}", w, k, v) for t, w, k, v in zip(rec.events.time_s, rec.events.wearer, rec.events.kind,
                                                         rec.events.value) if k.startswith("operator.")]
    assert [r for r in rows if r[2].startswith("operator.")] == live
    scenes = [(float(r[0]), r[3]) for r in rows if r[2] == "scene"]
    chosen_s = next(float(t) for t, _, k, v in live if k == "operator.scene")
    assert scenes and scenes[0][1] == "swarm" and 0.0 <= scenes[0][0] - chosen_s < 0.05


def test_the_events_file_reads_back(recorded: Recorded, tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text(replay(load_recording(recorded.folder)).events.csv_text())
    events = load_events(path)
    assert len(events.of_kind("heart.beat")) >= 6 and set(events.kind.tolist()) >= {"heart.beat", "scene", "operator.mark"}


@pytest.mark.parametrize("speed", [4.0])
def test_speed_paces_against_the_wall_clock(recorded: Recorded, speed: float) -> None:
    rec = load_recording(recorded.folder)
    started = time.perf_counter()
    paced = replay(rec, speed=speed)
    took_s = time.perf_counter() - started
    assert took_s >= 0.9 * rec.duration_s / speed  # never early (a loaded machine may make it late)
    assert paced.events.csv_text() == replay(rec).events.csv_text()  # pacing changes nothing else


def test_the_recorded_show_finds_its_patch_when_the_show_file_moved(recorded: Recorded, tmp_path: Path) -> None:
    import json

    folder = recorded.copy_to(tmp_path)
    meta = json.loads((folder / "meta.json").read_text())
    meta["show_path"] = str(tmp_path / "gone" / "gathering.toml")
    (folder / "meta.json").write_text(json.dumps(meta))
    show = recorded_show(load_recording(folder))
    assert show.resolve(show.sound.patch).is_file()
