"""Loading recordings: a cut last line is skipped, damage is refused with the file and line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from installation.record.reader import RecordingFormatError, load_recording

from tests.record.shared import Recorded


@pytest.mark.parametrize("name", ["samples.csv", "events.csv"])
def test_a_recording_cut_mid_line_still_loads(recorded: Recorded, tmp_path: Path, name: str) -> None:
    folder = recorded.copy_to(tmp_path)
    whole = load_recording(folder)
    path = folder / name
    data = path.read_bytes()
    path.write_bytes(data[: data.rstrip(b"\n").rfind(b"\n") + 6])  # five characters into the last line
    cut = load_recording(folder)
    table = "samples" if name == "samples.csv" else "events"
    assert len(getattr(cut, table)) == len(getattr(whole, table)) - 1
    assert any(f"{name}: line" in w and "cut short" in w for w in cut.warnings)


@pytest.mark.parametrize(
    ("name", "damage", "message"),
    [
        ("samples.csv", lambda lines: lines[:3] + ["0.1,x,p1,ppg,adc,100.0,0.0,1.0"] + lines[3:], "line 4: block is not a number: 'x'"),
        ("samples.csv", lambda lines: lines[:2] + ["0.1,3,p1,ppg"] + lines[2:], "line 3: 4 fields, expected 8"),
        ("samples.csv", lambda lines: ["when,what"] + lines[1:], "line 1: header should be"),
        ("events.csv", lambda lines: lines[:2] + ["soon,p1,heart.beat,70"] + lines[2:], "line 3: time_s is not a number: 'soon'"),
    ],
)
def test_a_damaged_file_is_refused_naming_file_and_line(recorded: Recorded, tmp_path: Path, name: str,
                                                        damage, message: str) -> None:  # type: ignore[no-untyped-def]
    folder = recorded.copy_to(tmp_path)
    path = folder / name
    path.write_text("\n".join(damage(path.read_text().splitlines())) + "\n")
    with pytest.raises(RecordingFormatError) as err:
        load_recording(folder)
    assert str(path) in str(err.value) and message in str(err.value)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: None, "not a recording (no meta.json"),
        (lambda d: (d / "meta.json").write_text("{not json"), "meta.json: cannot read"),
        (lambda d: (d / "meta.json").write_text(json.dumps({"format": "other"})), "not an eco-symphony recording"),
        (lambda d: (d / "meta.json").write_text(json.dumps({"format": "eco-symphony recording", "format_version": 99})),
         "format_version 99 is newer"),
    ],
)
def test_a_folder_that_is_not_a_recording(tmp_path: Path, make, message: str) -> None:  # type: ignore[no-untyped-def]
    make(tmp_path)
    with pytest.raises(RecordingFormatError) as err:
        load_recording(tmp_path)
    assert message in str(err.value) and str(tmp_path) in str(err.value)


def test_a_file_is_not_a_folder(tmp_path: Path) -> None:
    path = tmp_path / "show.csv"
    path.write_text("time_s,value\n")
    with pytest.raises(RecordingFormatError, match="not a folder"):
        load_recording(path)


def test_an_unclosed_recording_says_so(recorded: Recorded, tmp_path: Path) -> None:
    folder = recorded.copy_to(tmp_path)
    meta = json.loads((folder / "meta.json").read_text())
    meta.update(complete=False, duration_s=None, counts=None)
    (folder / "meta.json").write_text(json.dumps(meta))
    rec = load_recording(folder)
    assert any("not closed cleanly" in w for w in rec.warnings)
    assert rec.duration_s > 5.0  # from the last arrival
