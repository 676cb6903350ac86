"""Recording a show: the files, every sample, the events, a failing disk, a flood, and the default (off)."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from installation.config import parse_show
from installation.runtime.launch import LaunchOptions, make_recorder, perform
from installation.record.reader import load_recording
from installation.record.writer import EVENT_COLUMNS, SAMPLE_COLUMNS, Recorder
from installation.sensors.base import SampleBlock

from tests.helpers import DEFAULT_SHOW, REPO
from tests.record.shared import SHOW, Recorded


def test_the_files_exist_and_parse(recorded: Recorded) -> None:
    folder = recorded.folder
    assert sorted(p.name for p in folder.iterdir()) == ["events.csv", "meta.json", "samples.csv", "show.toml"]
    assert (folder / "show.toml").read_text(encoding="utf-8") == SHOW.read_text(encoding="utf-8")
    assert (folder / "samples.csv").read_text().splitlines()[0] == ",".join(SAMPLE_COLUMNS)
    assert (folder / "events.csv").read_text().splitlines()[0] == "time_s,wearer,kind,value"
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["complete"] is True and meta["failed"] is None
    assert meta["wearers"] == ["p1", "p2"] and meta["mode"] == "rehearse"
    rec = load_recording(folder)
    assert rec.warnings == []
    assert meta["counts"]["samples"] == len(rec.samples) and meta["counts"]["events"] == len(rec.events)
    assert meta["counts"]["dropped_samples"] == 0
    assert 8.0 < rec.duration_s < 12.0
    # numpy reads it too (the README promises it)
    table = np.genfromtxt(folder / "samples.csv", delimiter=",", names=True, dtype=None, encoding="utf-8")
    assert table.size == len(rec.samples) and set(table.dtype.names or ()) == set(SAMPLE_COLUMNS)


def test_every_sample_the_source_delivered_is_recorded(recorded: Recorded) -> None:
    rec = load_recording(recorded.folder)
    delivered = recorded.source.delivered
    assert sum(b.values.size for b in delivered) == len(rec.samples)
    blocks = rec.blocks()
    assert len(blocks) == len(delivered)
    for signal in ("ppg", "eda"):
        for wearer in ("p1", "p2"):
            ours = [b for b in delivered if (b.wearer, b.signal) == (wearer, signal)]
            back = [b for b in blocks if (b.wearer, b.signal) == (wearer, signal)]
            assert np.array_equal(np.concatenate([b.values for b in ours]), np.concatenate([b.values for b in back]))
            assert np.array_equal(np.concatenate([b.times_s for b in ours]), np.concatenate([b.times_s for b in back]))
            assert [b.values.size for b in ours] == [b.values.size for b in back]  # the exact blocks
    arrivals = np.array([b.arrival_s for b in blocks])
    assert np.all(arrivals >= 0.0) and arrivals.max() < rec.duration_s


def test_events_hold_beats_and_the_operators_actions(recorded: Recorded) -> None:
    ev = load_recording(recorded.folder).events
    beats = ev.of_kind("heart.beat")
    live = recorded.session.stats.beat_times_s
    assert len(beats) >= 8 and len(beats) == sum(len(v) for v in live.values())
    assert set(beats.wearer.tolist()) == {"p1", "p2"}
    assert np.all(np.diff(ev.time_s[ev.kind == "heart.beat"][beats.wearer == "p1"]) > 0.3)
    operator = [(k, v) for k, v in zip(ev.kind.tolist(), ev.value.tolist()) if k.startswith("operator.")]
    assert operator == [("operator.mark", 'doors open, "first" group'), ("operator.scene", "key 2"),
                        ("operator.rebaseline", "p1"), ("operator.panic", "1"), ("operator.blackout", "1"),
                        ("operator.panic", "0"), ("operator.blackout", "0"), ("operator.mark", "")]
    assert ("scene", "swarm") in zip(ev.kind.tolist(), ev.value.tolist())
    assert all(w == "" for w, k in zip(ev.wearer.tolist(), ev.kind.tolist()) if not k.startswith(("heart.", "eda.")))
    assert np.all(np.diff(ev.time_s[np.char.startswith(ev.kind, "operator.")]) >= 0)


FILL_DISK = textwrap.dedent("""
    import logging, resource, signal, sys, time
    from pathlib import Path
    from installation.config import load_show
    from installation.runtime.launch import prepare_show
    from installation.record.writer import Recorder
    from installation.sensors.simulated import SimulatedAudience
    from installation.runtime.session import Session

    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    show_path, folder = Path(sys.argv[1]), Path(sys.argv[2])
    prepared = prepare_show(load_show(show_path))
    session = Session(prepared.show, prepared.mapper, [SimulatedAudience(2, seed=2)], ["p1", "p2"], None, None,
                      recorder=Recorder(folder, show_path.read_text(), "run", show_path, flush_period_s=0.1))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)       # writes past the limit fail with EFBIG ...
    resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))  # ... once a file reaches 20 kB
    with session:
        deadline = time.monotonic() + 20.0
        while session.recorder.failed is None and time.monotonic() < deadline:
            time.sleep(0.05)
        blocks_at_failure = session.stats.blocks
        time.sleep(1.0)
        print("failed:", session.recorder.failed, flush=True)
        print("blocks after:", session.stats.blocks - blocks_at_failure, flush=True)
""")


def test_a_full_disk_stops_the_recording_not_the_show(tmp_path: Path) -> None:
    folder = tmp_path / "rec"
    done = subprocess.run([sys.executable, "-c", FILL_DISK, str(DEFAULT_SHOW), str(folder)],
                          capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert "failed: File too large" in done.stdout
    after = int(done.stdout.split("blocks after:")[1].split()[0])
    assert after > 20  # the core kept analysing for the second after the failure
    assert done.stderr.count("recording stopped") == 1
    assert f"cannot write to {folder}: File too large; the show goes on" in done.stderr.replace("\n", " ")
    rec = load_recording(folder)  # what was written before is there and reads back
    assert len(rec.samples) > 100 and any("not closed cleanly" in w for w in rec.warnings)


def test_a_removed_folder_stops_the_recording_not_the_show(recorded: Recorded, tmp_path: Path,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    from installation.sensors.simulated import SimulatedAudience
    from installation.runtime.session import Session
    from installation.config import load_show
    from installation.runtime.launch import prepare_show
    from installation.operator_commands import Mark

    prepared = prepare_show(load_show(SHOW))
    folder = tmp_path / "rec"
    recorder = Recorder(folder, "", "run", None, flush_period_s=0.1)
    session = Session(prepared.show, prepared.mapper, [SimulatedAudience(1, seed=1)], ["p1"], None, None,
                      recorder=recorder)
    with caplog.at_level(logging.WARNING):
        with session:
            time.sleep(0.5)
            shutil.rmtree(folder)
            time.sleep(0.5)
            blocks = session.stats.blocks
            session.command(Mark("after"))  # no error: the recording has stopped
            time.sleep(0.5)
            assert session.stats.blocks > blocks
    assert recorder.failed == "the folder was removed"
    assert caplog.text.count("recording stopped") == 1 and str(folder) in caplog.text
    assert recorder.dropped_samples > 0


def test_a_flood_is_recorded_without_dropping(tmp_path: Path) -> None:
    """16 wearers x (100 Hz PPG + 32 Hz EDA) x 10, in 20 ms blocks from four reader threads, for 3 s."""
    recorder = Recorder(tmp_path / "flood", "", "run", None)
    recorder.start(0.0, [f"p{i}" for i in range(1, 17)], ["flood"])
    seconds, block_s = 3.0, 0.02
    per_thread = 4

    sent = [0] * 4

    def reader(k: int) -> None:
        rng = np.random.default_rng(k)
        for step in range(int(seconds / block_s)):
            t0 = step * block_s
            blocks = []
            for w in range(k * per_thread, (k + 1) * per_thread):
                for signal, rate in (("ppg", 1000.0), ("eda", 320.0)):
                    n = int(rate * block_s)
                    times = t0 + np.arange(n) / rate
                    blocks.append(SampleBlock(f"p{w + 1}", signal, times, rng.normal(500.0, 50.0, n), "adc", t0, rate))
            recorder.samples(blocks)
            sent[k] += sum(b.values.size for b in blocks)

    started = time.perf_counter()
    threads = [threading.Thread(target=reader, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60.0)
    recorder.stop(seconds)
    elapsed_s = time.perf_counter() - started
    expected = sum(sent)
    assert expected == 16 * (20 + 6) * 150
    assert recorder.failed is None and recorder.dropped_samples == 0
    assert recorder.samples_written == expected
    assert sum(1 for _ in open(tmp_path / "flood" / "samples.csv")) == expected + 1
    assert elapsed_s < 3 * seconds, f"{expected} samples ({seconds:g} s of the flood) took {elapsed_s:.1f} s to write"


@pytest.mark.parametrize(
    ("show_extra", "record_dir", "expected_root"),
    [
        ("", None, None),  # the default: off, nothing on disk
        ("[record]\nenabled = false\n", None, None),
        ("", "given", "given"),  # --record DIR turns it on
        ("[record]\nenabled = true\n", None, "recordings"),
        ("[record]\nenabled = true\ndir = \"shows\"\n", None, "shows"),
        ("[record]\nenabled = true\ndir = \"shows\"\n", "given", "given"),  # --record wins
    ],
)
def test_recording_is_off_unless_asked(show_extra: str, record_dir: str | None, expected_root: str | None) -> None:
    show = parse_show(show_extra + '[[mappings]]\nfrom = "p*.heart.beat"\nto = "visual.p*.pulse"\n')
    recorder = make_recorder(show, LaunchOptions(record_dir=Path(record_dir) if record_dir else None), "rehearse")
    if expected_root is None:
        assert recorder is None
    else:
        assert recorder is not None and recorder.folder.parent == Path(expected_root)
        assert recorder.folder.name.startswith("rehearse-") and not recorder.folder.exists()


def test_a_rehearsal_without_record_writes_no_recording(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    show = parse_show(DEFAULT_SHOW.read_text(), "default.toml", DEFAULT_SHOW)
    summary = perform(show, LaunchOptions(duration_s=1.5, participants=1, audio="none", visuals="none",
                                          runs_dir=tmp_path / "runs", live_edit=False), rehearsal=True, notify=lambda _: None)
    assert summary.recording is None
    assert list(tmp_path.iterdir()) == []  # no recordings/ folder, no run folder
    assert EVENT_COLUMNS == ("time_s", "wearer", "kind", "value")


@pytest.mark.parametrize("arrival_s", [12.5, np.float64(12.5), np.float32(12.5)])
def test_a_numpy_arrival_time_is_written_as_a_plain_number(arrival_s: float) -> None:
    """A source may stamp arrival with a NumPy scalar: its row must still read back."""
    from installation.record.writer import sample_lines
    from installation.sensors.base import SampleBlock

    block = SampleBlock("p1", "ppg", np.array([1.0, 1.01]), np.array([3.0, 4.0]), "adc", arrival_s, 100.0)
    first = sample_lines(0, block, 2.5).splitlines()[0].split(",")
    assert float(first[0]) == pytest.approx(10.0) and first[0] == "10.0"
