"""The PNG report of a recording, and the commands as a user runs them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from installation.record.reader import load_recording
from installation.commands.report import write_report
from tests.helpers import ecosymphony
from tests.record.shared import Recorded


def test_the_report_is_a_real_picture(recorded: Recorded, tmp_path: Path) -> None:
    import matplotlib.image

    out = tmp_path / "deep" / "report.png"
    summary = write_report(load_recording(recorded.folder), out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = matplotlib.image.imread(out)
    height, width = pixels.shape[:2]
    assert width >= 1000 and height >= 6 * 150  # two panels per wearer, synchrony, quality
    colours = np.unique((pixels[..., :3] * 255).astype(np.uint8).reshape(-1, 3), axis=0)
    assert len(colours) > 50  # lines, text and markers, not a blank page
    assert summary.wearers == ["p1", "p2"] and summary.scenes >= 1 and sum(summary.beats.values()) >= 6


def test_record_replay_report_on_the_command_line(tmp_path: Path) -> None:
    rehearsal = ecosymphony("rehearse", "--duration", "5", "--participants", "2", "--audio", "none", "--visuals", "none",
                            "--record", str(tmp_path / "recs"), "--runs-dir", str(tmp_path / "runs"))
    assert rehearsal.returncode == 0, rehearsal.stderr
    (folder,) = list((tmp_path / "recs").iterdir())
    assert folder.name.startswith("rehearse-") and f"recording: {folder}" in rehearsal.stdout.replace("\n", "")
    assert "Recording every sample" in rehearsal.stdout
    for name in ("a", "b"):
        done = ecosymphony("replay", str(folder), "--events", str(tmp_path / f"{name}.csv"),
                           "--params", str(tmp_path / f"{name}-params.csv"))
        assert done.returncode == 0, done.stderr
        assert "Replayed" in done.stdout
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert (tmp_path / "a-params.csv").read_bytes() == (tmp_path / "b-params.csv").read_bytes()
    assert (tmp_path / "a.csv").read_text().startswith("time_s,wearer,kind,value\n")
    report = ecosymphony("report", str(folder), "--out", str(tmp_path / "report.png"))
    assert report.returncode == 0, report.stderr
    assert (tmp_path / "report.png").stat().st_size > 20_000


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("report", "{tmp}"), "not a recording (no meta.json"),
        (("replay", "{tmp}/nope"), "not a folder"),
        (("replay", "{rec}", "--speed", "2", "--audio", "file"), "sound and visuals play in real time only"),
    ],
)
def test_command_errors(recorded: Recorded, tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    done = ecosymphony(*[a.format(tmp=tmp_path, rec=recorded.folder) for a in args])
    assert done.returncode == 2 and message in done.stderr.replace("\n", " ")
