"""``[record] keep_days``: recordings older than that are deleted at the next start, and nothing
else is: real folders and files named and aged here, and a real rehearsal's start."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import numpy as np
import pytest

from installation.config import parse_show
from installation.record.retention import delete_expired, expired_recordings, started_s
from installation.record.writer import FORMAT, Recorder
from installation.record.xdf_writer import XdfRecorder
from installation.runtime.launch import LaunchOptions, perform
from installation.sensors.base import SampleBlock

from tests.helpers import DEFAULT_SHOW

NOW_S = time.mktime((2026, 12, 2, 12, 0, 0, 0, 0, -1))


def _stamp(days_ago: float) -> str:
    return time.strftime("%Y%m%d-%H%M%S", time.localtime(NOW_S - days_ago * 86400.0))


def _recording(root: Path, name: str, fmt: str = "csv") -> Path:
    """A real (tiny) recording written by the recorder, under ``name``."""
    path = root / name
    recorder = (XdfRecorder if fmt == "xdf" else Recorder)(path, "[show]\n", "run", None)
    recorder.start(0.0, ["p1"], ["test"])
    recorder.samples([SampleBlock("p1", "ppg", np.arange(3.0), np.ones(3), "adc", 0.1, 100.0)])
    recorder.stop(1.0)
    return path


# What is in the recordings' folder: (name, what it is, days old) -> deleted with keep_days = 30?
ENTRIES = [
    ("run-{}", "csv", 31.0, True),
    ("rehearse-{}-2", "csv", 45.0, True),
    ("run-{}.xdf", "xdf", 40.0, True),
    ("run-{}", "csv", 29.0, False),  # young enough
    ("run-{}.xdf", "xdf", 1.0, False),
    ("premiere-night", "csv", 90.0, False),  # renamed: kept on purpose
    ("run-{}", "folder", 60.0, False),  # named like ours, but no meta.json of ours
    ("run-{}", "other meta", 60.0, False),  # a meta.json that is not a recording's
    ("run-{}.xdf", "not xdf", 60.0, False),  # named like ours, not our XDF
    ("notes-{}.txt", "text", 60.0, False),
]


def _make(root: Path, pattern: str, kind: str, days: float, i: int) -> Path:
    name = pattern.format(_stamp(days + i / 86400.0))  # a second apart: every name differs
    if kind in ("csv", "xdf"):
        path = _recording(root, name, kind)
    elif kind == "folder":
        path = root / name
        path.mkdir()
        (path / "samples.csv").write_text("mine\n")
    elif kind == "other meta":
        path = root / name
        path.mkdir()
        (path / "meta.json").write_text(json.dumps({"format": "something else"}))
    else:
        path = root / name
        path.write_text("XDF: no, just text" if kind == "not xdf" else "a note")
    old = NOW_S - days * 86400.0
    os.utime(path, (old, old))
    return path


def test_only_old_recordings_of_ours_go(tmp_path: Path) -> None:
    made = [(_make(tmp_path, p, k, d, i), gone) for i, (p, k, d, gone) in enumerate(ENTRIES)]
    xdf_old = next(p for p, gone in made if gone and p.suffix == ".xdf")
    beside = [xdf_old.with_name(f"{xdf_old.stem}-report.png"), xdf_old.with_name(f"{xdf_old.stem}-log.txt")]
    for f in beside:
        f.write_text("drawn from it")
    unrelated = tmp_path / f"{xdf_old.stem}-mine.txt"  # beside it, but not a file we make
    unrelated.write_text("keep")
    lines: list[str] = []
    deleted = delete_expired(tmp_path, 30, lines.append, now_s=NOW_S)
    assert sorted(deleted) == sorted(p for p, gone in made if gone)
    for path, gone in made:
        assert path.exists() != gone, path
    assert not any(f.exists() for f in beside) and unrelated.exists()
    assert len(lines) == 3 and all(re.match(r"Deleted recording .*: \d+ days old, past \[record\] keep_days = 30\.", line)
                                   for line in lines)


@pytest.mark.parametrize(("keep_days", "left"), [(0, 3), (1, 1), (10, 2), (100, 3)])
def test_keep_days_zero_keeps_everything(tmp_path: Path, keep_days: int, left: int) -> None:
    for i, days in enumerate((0.5, 5.0, 50.0)):
        _make(tmp_path, "run-{}", "csv", days, i)
    delete_expired(tmp_path, keep_days, lambda _: None, now_s=NOW_S)
    assert len(list(tmp_path.iterdir())) == left


def test_files_someone_put_in_a_recording_are_kept(tmp_path: Path) -> None:
    path = _make(tmp_path, "run-{}", "csv", 40.0, 0)
    (path / "my notes.txt").write_text("keep")
    lines: list[str] = []
    delete_expired(tmp_path, 30, lines.append, now_s=NOW_S)
    assert sorted(p.name for p in path.iterdir()) == ["my notes.txt"]
    assert "holds files that are not the recording's: my notes.txt" in lines[-1]


@pytest.mark.parametrize("fmt", ["csv", "xdf"])
def test_a_recording_being_written_is_not_deleted(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / (f"run-{_stamp(40.0)}" + (".xdf" if fmt == "xdf" else ""))
    recorder = (XdfRecorder if fmt == "xdf" else Recorder)(path, "", "run", None)
    recorder.start(0.0, ["p1"], ["test"])
    try:
        lines: list[str] = []
        assert delete_expired(tmp_path, 30, lines.append, now_s=NOW_S) == []
        assert path.exists() and "being written right now" in lines[0]
    finally:
        recorder.stop(1.0)
    assert delete_expired(tmp_path, 30, lambda _: None, now_s=NOW_S) == [path]


@pytest.mark.parametrize(("name", "began"), [
    ("run-20261101-203000", (2026, 11, 1, 20, 30, 0)),
    ("rehearse-20260105-080910-3.xdf", (2026, 1, 5, 8, 9, 10)),
    ("run-20261301-203000", None),  # month 13
    ("run-2026110-203000", None),
    ("show-20261101-203000", None),
])
def test_a_recordings_age_comes_from_its_name(name: str, began: tuple[int, ...] | None) -> None:
    expected = None if began is None else time.mktime((*began, 0, 0, -1))
    assert started_s(name) == expected


def test_every_start_deletes_old_recordings_even_without_recording(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "recordings"  # the default [record] dir
    root.mkdir()
    old = _make(root, "run-{}", "csv", 400.0, 0)
    young = _make(root, "run-{}", "csv", 0.0, 1)
    assert [e.path for e in expired_recordings(root, 30)] == [old]
    show = parse_show(DEFAULT_SHOW.read_text(), "default.toml", DEFAULT_SHOW)
    assert not show.record.enabled and show.record.keep_days == 30
    lines: list[str] = []
    summary = perform(show, LaunchOptions(duration_s=1.0, participants=1, audio="none", visuals="none",
                                          runs_dir=tmp_path / "runs", live_edit=False), rehearsal=True,
                      notify=lines.append)
    assert summary.recording is None
    assert not old.exists() and young.exists()
    assert any(re.match(rf"Deleted recording recordings/{old.name}: 4\d\d days old", line) for line in lines), lines
    meta = json.loads((young / "meta.json").read_text())
    assert meta["format"] == FORMAT

