"""``ecosymphony forget``: a wearer's data out of a recording folder, an XDF file and a folder of
recordings; their bytes gone from the disk, the replay of the others unchanged, the log saying so."""

from __future__ import annotations

import json
import shutil
import struct
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pytest

from installation.config import load_show
from installation.operator_commands import Mark, Rebaseline, SelectScene
from installation.record.forget import ForgetError, forget
from installation.record.reader import load_recording, read_xdf
from installation.record.writer import Recorder
from installation.record.xdf_writer import XdfRecorder
from installation.runtime.launch import prepare_show
from installation.runtime.session import Session
from installation.sensors.base import SampleBlock
from installation.sensors.simulated import SimulatedAudience
from installation.commands.replay import replay

from tests.helpers import ecosymphony
from tests.record.shared import SHOW, Both

RECORD_S = 8.0
WEARERS = ["p1", "p2", "p3"]



@dataclass
class Made:
    folder: Path  # the CSV recording
    xdf_file: Path  # the same show as XDF


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Made:
    """Three simulated wearers recorded for RECORD_S seconds through the real session threads,
    in both formats at once; the operator re-baselines p3 and p1, marks, chooses a scene."""
    root = tmp_path_factory.mktemp("forget")
    prepared = prepare_show(load_show(SHOW))
    text = SHOW.read_text(encoding="utf-8")
    folder, path = root / "rehearse-20261101-200000", root / "rehearse-20261101-200000.xdf"
    tee = Both(Recorder(folder, text, "rehearse", SHOW), XdfRecorder(path, text, "rehearse", SHOW))
    session = Session(prepared.show, prepared.mapper, [SimulatedAudience(3, seed=11)], WEARERS, None, None,
                      recorder=tee)  # type: ignore[arg-type]
    with session:
        started = time.monotonic()
        session.run(2.5)
        session.command(Rebaseline("p3"))
        session.command(Mark("doors open"))
        session.command(SelectScene(key="2"))
        session.run(1.0)
        session.command(Rebaseline("p1"))
        session.run(max(0.5, RECORD_S - (time.monotonic() - started)))
    return Made(folder, path)


def _copy(src: Path, where: Path) -> Path:
    target = where / src.name
    (shutil.copytree if src.is_dir() else shutil.copy2)(src, target)
    return target


def _files(recording: Path) -> list[Path]:
    """Every file of a recording on the disk (the folder's, or the .xdf file and what is beside it)."""
    if recording.is_dir():
        return sorted(recording.iterdir())
    return sorted(recording.parent.glob(recording.stem + "*"))


def _raw_patterns(recording: Path, wearer: str) -> list[bytes]:
    """Distinctive bytes of a wearer's samples as they are on the disk: a few of their skin-conductance
    values (long decimals) as the CSV writes them (the exact repr), and as XDF's little-endian doubles."""
    rec = load_recording(recording)
    mine = rec.samples.value[(rec.samples.wearer == wearer) & (rec.samples.signal == "eda")]
    long = [float(v) for v in mine if len(repr(float(v))) >= 14]
    assert len(long) > 20
    picks = [long[5], long[len(long) // 2], long[-3]]
    return [repr(v).encode() for v in picks] + [struct.pack("<d", v) for v in picks]


def _replayed_events(recording: Path, wearers: Sequence[str]) -> list[tuple[str, str, str, str]]:
    rows = replay(load_recording(recording)).events.rows
    return [r for r in rows if r[1] in wearers]


def _replayed_triggers(recording: Path, wearers: Sequence[str]) -> list[tuple[str, str, str, str]]:
    """The parameter stream's triggers of the wearers' own pulses (``sound.p1.pulse``, from their beats alone:
    the show's group features, ``group.eda.arousal``, change with who is left)."""
    rows = replay(load_recording(recording)).params
    return [r for r in rows if r[1] == "trigger" and r[2].startswith("sound.") and r[2].split(".")[1] in wearers]


# ---- what goes, what stays --------------------------------------------------------------
@pytest.mark.parametrize(("fmt", "gone"), [
    ("csv", ["p3"]),
    ("xdf", ["p3"]),
    ("csv", ["p1", "p3"]),
    ("xdf", ["p2", "p1"]),
])
def test_the_wearers_bytes_are_gone_and_the_others_replay_the_same(made: Made, tmp_path: Path, fmt: str,
                                                                    gone: list[str]) -> None:
    recording = _copy(made.folder if fmt == "csv" else made.xdf_file, tmp_path)
    kept = [w for w in WEARERS if w not in gone]
    gone_set = set(gone)
    before = load_recording(recording)
    patterns = {w: _raw_patterns(recording, w) for w in gone}
    assert all(any(p in b"".join(f.read_bytes() for f in _files(recording)) for p in pats) for pats in patterns.values())
    events_before = _replayed_events(recording, kept)
    triggers_before = _replayed_triggers(recording, kept)
    lines: list[str] = []
    done = forget(recording, gone, progress=lines.append, now_s=time.mktime((2026, 12, 1, 12, 0, 0, 0, 0, -1)))
    assert [d.path for d in done] == [recording]
    assert done[0].samples == int(np.isin(before.samples.wearer, gone).sum())
    # the wearer's sample bytes are nowhere on the disk, in no file of the recording
    on_disk = b"".join(f.read_bytes() for f in _files(recording))
    for w in gone:
        assert not any(p in on_disk for p in patterns[w]), w
    assert not list(tmp_path.rglob("*.tmp"))
    after = load_recording(recording)
    assert not np.isin(after.samples.wearer, gone).any()
    assert not np.isin(after.events.wearer, gone).any()
    assert not [v for k, v in zip(after.events.kind, after.events.value) if k == "operator.rebaseline" and v in gone]
    # everything else is as it was
    keep = ~np.isin(before.samples.wearer, gone)
    assert np.array_equal(after.samples.value, before.samples.value[keep])
    assert np.array_equal(after.samples.arrival_s, before.samples.arrival_s[keep])
    assert after.wearers == before.wearers  # the slots stay, with nothing recorded of them
    assert _replayed_events(recording, kept) == events_before and events_before
    assert _replayed_triggers(recording, kept) == triggers_before and triggers_before
    if fmt == "csv":
        for name in ("samples.csv", "events.csv"):
            text = (recording / name).read_text()
            assert not any(f",{w}," in text for w in gone)
        meta = json.loads((recording / "meta.json").read_text())
        assert [f["wearer"] for f in meta["forgotten"]] == gone
        assert meta["counts"]["samples"] == len(after.samples)
        log_file = recording / "log.txt"
    else:
        content = read_xdf(recording)
        assert content.cut is None
        for stream in content.streams.values():  # no stream of theirs, no marker naming them
            assert stream.info.desc.get("wearer") not in gone and stream.info.name.partition(".")[0] not in gone
            assert not gone_set & {str(s) for s in stream.info.source_id.split("/")}
            if stream.info.channel_format == "string":
                for row in stream.values:
                    words = " ".join(row).replace(".", " ").split()
                    assert not gone_set & set(words), row
        assert after.meta["counts"]["samples"] == len(after.samples)
        assert after.meta["complete"]
        log_file = recording.with_name(recording.stem + "-log.txt")
    log_text = log_file.read_text()
    assert log_text.startswith("2026-12-01T12:00:00") and f"forget {', '.join(gone)}" in log_text
    assert f"{done[0].samples} samples" in log_text
    assert any(str(log_file) in line for line in lines)


def test_pyxdf_still_loads_what_is_left(made: Made, tmp_path: Path) -> None:
    pyxdf = pytest.importorskip("pyxdf", reason="pyxdf is not installed: pip install pyxdf (the test extras)")
    recording = _copy(made.xdf_file, tmp_path)
    forget(recording, ["p2"])
    streams, _ = pyxdf.load_xdf(str(recording))
    names = sorted(s["info"]["name"][0] for s in streams)
    assert not [n for n in names if n.startswith("p2.")] and [n for n in names if n.startswith("p1.")]
    events = next(s for s in streams if s["info"]["name"][0] == "eco-symphony events")
    assert not [m for m in events["time_series"] if m[0].startswith("p2.")]


def test_a_report_drawn_before_goes_and_forgetting_again_removes_nothing(made: Made, tmp_path: Path) -> None:
    recording = _copy(made.folder, tmp_path)
    (recording / "report.png").write_bytes(b"\x89PNG p3's heart rate")
    first = forget(recording, ["p3"])
    assert not (recording / "report.png").exists()
    again = forget(recording, ["p3"])
    assert first[0].samples > 0 and again[0].samples == 0 and again[0].events == 0
    assert (recording / "log.txt").read_text().count("forget p3: samples.csv") == 2


# ---- a folder of recordings, through the command --------------------------------------
def test_a_folder_of_recordings_through_the_command(made: Made, tmp_path: Path) -> None:
    shows = tmp_path / "recordings"
    shows.mkdir()
    csv_rec, xdf_rec = _copy(made.folder, shows), _copy(made.xdf_file, shows)
    (shows / "notes.txt").write_text("p3 sat by the door\n")  # not a recording: untouched
    other = shows / "run-20261102-190000"  # a recording without p3
    shutil.copytree(made.folder, other)
    meta = json.loads((other / "meta.json").read_text())
    meta["wearers"] = ["p1", "p2"]
    (other / "meta.json").write_text(json.dumps(meta))
    untouched = (other / "samples.csv").read_bytes()
    done = ecosymphony("forget", str(shows), "--wearer", "p3", "--wearer", "p3")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert f"{csv_rec / 'samples.csv'}: " in out and f"{csv_rec / 'events.csv'}: " in out
    assert f"{xdf_rec}: " in out and "streams (p3." in out
    assert f"{other}: no p3 in it; left as it is" in out
    assert "Forgot p3 in 2 recording(s)" in out
    assert (shows / "notes.txt").read_text() == "p3 sat by the door\n"
    assert (other / "samples.csv").read_bytes() == untouched
    for rec in (csv_rec, xdf_rec):
        assert "p3" not in load_recording(rec).samples.wearer.tolist()
    report = ecosymphony("report", str(xdf_rec))
    assert report.returncode == 0, report.stderr
    assert xdf_rec.with_name(xdf_rec.stem + "-report.png").stat().st_size > 10_000


# ---- what is refused ------------------------------------------------------------------
@pytest.mark.parametrize(("case", "wearers", "message"), [
    ("csv", ["p9"], r"no wearer p9 in this recording \(its wearers: p1, p2, p3\)"),
    ("xdf", ["p4", "p1"], r"no wearer p4 in this recording"),
    ("csv", ["alice"], r"--wearer 'alice': a wearer is named by slot"),
    ("empty folder", ["p1"], r"not a recording, and holds none"),
    ("text file", ["p1"], r"not a recording \(a recording is a folder"),
    ("missing", ["p1"], r"no such file or folder"),
    ("folder without p9", ["p9"], r"no recording in it has wearer p9"),
])
def test_what_is_refused(made: Made, tmp_path: Path, case: str, wearers: list[str], message: str) -> None:
    path = {"csv": lambda: _copy(made.folder, tmp_path), "xdf": lambda: _copy(made.xdf_file, tmp_path),
            "empty folder": lambda: tmp_path,
            "text file": lambda: (tmp_path / "show.txt", (tmp_path / "show.txt").write_text("p1"))[0],
            "missing": lambda: tmp_path / "nowhere",
            "folder without p9": lambda: (_copy(made.folder, tmp_path), tmp_path)[1]}[case]()
    before = {f: f.read_bytes() for f in tmp_path.rglob("*") if f.is_file()}
    with pytest.raises(ForgetError, match=message):
        forget(path, wearers)
    assert {f: f.read_bytes() for f in tmp_path.rglob("*") if f.is_file()} == before


@pytest.mark.parametrize("fmt", ["csv", "xdf"])
def test_a_recording_being_written_is_refused(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / ("run-20261201-200000" + (".xdf" if fmt == "xdf" else ""))
    recorder = (XdfRecorder if fmt == "xdf" else Recorder)(path, "", "run", None)
    recorder.start(0.0, ["p1", "p2"], ["test"])
    try:
        recorder.samples([SampleBlock("p1", "ppg", np.arange(5.0), np.ones(5), "adc", 0.1, 100.0)])
        with pytest.raises(ForgetError, match="being written right now"):
            forget(path, ["p1"])
        lines: list[str] = []
        with pytest.raises(ForgetError, match="every recording with p1 is being written"):
            forget(tmp_path, ["p1"], progress=lines.append)
        assert lines == [f"{path}: skipped, being written right now (a show is recording into it)"]
    finally:
        recorder.stop(1.0)
    assert forget(path, ["p1"])[0].samples == 5  # once the show has stopped


def test_the_command_says_what_was_wrong(tmp_path: Path) -> None:
    done = ecosymphony("forget", str(tmp_path), "--wearer", "p1")
    assert done.returncode == 2
    assert "not a recording, and holds none" in done.stderr
