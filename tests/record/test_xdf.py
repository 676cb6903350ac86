"""Recording as XDF: the chunks byte for byte, a rehearsal recorded as XDF beside its CSV folder and
loaded by pyxdf (the reference loader) and by our reader, a show killed while recording, replay and report."""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from installation.config import load_show, parse_show
from installation.operator_commands import Blackout, Mark, Panic, Rebaseline, SelectScene
from installation.record import xdf
from installation.record.reader import RecordingFormatError, load_recording, read_xdf
from installation.record.writer import Recorder
from installation.record.xdf_writer import XdfRecorder, annotation, write_xdf_file
from installation.runtime.launch import LaunchOptions, make_recorder, prepare_show
from installation.runtime.session import Session
from installation.sensors.base import BlockOrigin, SampleBlock, SourceBase

from tests.helpers import DEFAULT_SHOW, REPO
from tests.record.shared import SHOW, Both, CountingAudience

pyxdf = pytest.importorskip("pyxdf", reason="pyxdf is not installed: pip install pyxdf (the test extras)")

HEADER = '<?xml version="1.0"?><info><version>1.0</version></info>'


# ---- the chunks, byte for byte --------------------------------------------------------------
@pytest.mark.parametrize(("n", "encoded"), [
    (0, b"\x01\x00"),
    (1, b"\x01\x01"),
    (255, b"\x01\xff"),
    (256, b"\x04\x00\x01\x00\x00"),
    (2**32 - 1, b"\x04\xff\xff\xff\xff"),
    (2**32, b"\x08\x00\x00\x00\x00\x01\x00\x00\x00"),
    (2**64 - 1, b"\x08" + b"\xff" * 8),
])
def test_variable_length_integers(n: int, encoded: bytes) -> None:
    assert xdf.varlen(n) == encoded
    assert xdf.read_varlen(b"\xaa" + encoded + b"\xbb", 1) == (n, 1 + len(encoded))


@pytest.mark.parametrize(("data", "message"), [
    (b"\x02\x00\x00", "width must be 1, 4 or 8"),
    (b"\x04\x00\x01", "ends inside"),
    (b"", "ends where"),
])
def test_bad_variable_length_integers_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(xdf.XdfFormatError, match=message):
        xdf.read_varlen(data, 0)


@pytest.mark.parametrize("n", [-1, 2**64])
def test_numbers_that_do_not_fit_are_refused(n: int) -> None:
    with pytest.raises(ValueError):
        xdf.varlen(n)


@pytest.mark.parametrize(("encoded", "expected"), [
    (xdf.file_header_chunk("<a/>"), b"\x01\x06" + b"\x01\x00" + b"<a/>"),
    (xdf.stream_header_chunk(7, "<b/>"), b"\x01\x0a" + b"\x02\x00" + b"\x07\x00\x00\x00" + b"<b/>"),
    (xdf.stream_footer_chunk(7, "<c/>"), b"\x01\x0a" + b"\x06\x00" + b"\x07\x00\x00\x00" + b"<c/>"),
    (xdf.clock_offset_chunk(3, 1.5, -0.25), b"\x01\x16" + b"\x04\x00" + b"\x03\x00\x00\x00" + struct.pack("<dd", 1.5, -0.25)),
    (xdf.boundary_chunk(), b"\x01\x12" + b"\x05\x00" + bytes.fromhex("43A546DCCBF5410FB30ED5467383CBE4")),
    (xdf.samples_chunk(2, np.array([1.0, 1.01]), np.array([5.0, -6.5])),
     b"\x01\x2a" + b"\x03\x00" + b"\x02\x00\x00\x00" + b"\x01\x02"
     + b"\x08" + struct.pack("<dd", 1.0, 5.0) + b"\x08" + struct.pack("<dd", 1.01, -6.5)),
    (xdf.samples_chunk(1, np.array([2.0]), np.array([[1, -2]], dtype=np.int32), "int32"),
     b"\x01\x19" + b"\x03\x00" + b"\x01\x00\x00\x00" + b"\x01\x01" + b"\x08" + struct.pack("<dii", 2.0, 1, -2)),
    (xdf.samples_chunk(1, np.array([3.0]), [["p1.heart.beat", "72"]], "string"),
     b"\x01\x24" + b"\x03\x00" + b"\x01\x00\x00\x00" + b"\x01\x01" + b"\x08" + struct.pack("<d", 3.0)
     + b"\x01\x0d" + b"p1.heart.beat" + b"\x01\x02" + b"72"),
])
def test_chunks_are_encoded_as_the_specification_says(encoded: bytes, expected: bytes) -> None:
    assert encoded == expected


def test_a_chunk_longer_than_255_bytes_has_a_four_byte_length() -> None:
    encoded = xdf.samples_chunk(1, np.arange(20.0), np.arange(20.0))
    assert encoded[0] == 4 and struct.unpack("<I", encoded[1:5])[0] == len(encoded) - 5


@pytest.mark.parametrize(("channel_format", "values"), [
    ("double64", np.array([[1.5], [2.5], [np.pi]])),
    ("float32", np.array([[1.5, -1.0], [2.5, 0.0], [3.25, 7.0]], dtype=np.float32)),
    ("int16", np.array([[1, 2, 3], [-4, 5, 6], [7, 8, -9]], dtype=np.int16)),
    ("int64", np.array([[2**40], [-(2**40)], [0]], dtype=np.int64)),
])
def test_samples_decode_to_what_was_encoded(channel_format: str, values: np.ndarray) -> None:
    times = np.array([10.0, 10.5, 11.0])
    encoded = xdf.samples_chunk(4, times, values, channel_format)
    chunks, cut = xdf.read_chunks(xdf.MAGIC + encoded)
    assert cut is None and [(c.tag, c.stream_id) for c in chunks] == [(3, 4)]
    t, v = xdf.decode_samples(chunks[0].content, values.shape[1], channel_format)
    assert np.array_equal(t, times) and np.array_equal(v, values)
    assert chunks[0].encode() == encoded


def test_samples_without_a_time_stamp_follow_the_previous_by_the_nominal_interval() -> None:
    content = (xdf.varlen(3) + b"\x08" + struct.pack("<df", 4.0, 1.0) + b"\x00" + struct.pack("<f", 2.0)
               + b"\x00" + struct.pack("<f", 3.0))
    t, v = xdf.decode_samples(content, 1, "float32", last_stamp_s=0.0, sample_interval_s=0.01)
    assert np.allclose(t, [4.0, 4.01, 4.02]) and np.array_equal(v[:, 0], [1.0, 2.0, 3.0])
    t, _ = xdf.decode_samples(xdf.varlen(1) + b"\x00" + struct.pack("<f", 9.0), 1, "float32", 7.0, 0.5)
    assert t.tolist() == [7.5]


def _small_file() -> bytes:
    info = xdf.StreamInfo("p1.ppg", "PPG", "double64", 100.0, (xdf.Channel("PPG", "adc", "PPG"),), "src", {"wearer": "p1"})
    markers = xdf.StreamInfo("events", "Markers", "string", 0.0, (xdf.Channel("event"), xdf.Channel("value")))
    t = np.arange(30) / 100.0
    return xdf.file_bytes(HEADER, [
        xdf.stream_header_chunk(1, info.xml()), xdf.stream_header_chunk(2, markers.xml()),
        xdf.clock_offset_chunk(1, 0.0, 100.0), xdf.samples_chunk(1, t[:10], np.sin(t[:10])),
        xdf.samples_chunk(2, np.array([0.05]), [["p1.heart.beat", "72.5"]], "string"), xdf.boundary_chunk(),
        xdf.samples_chunk(1, t[10:], np.sin(t[10:])), xdf.clock_offset_chunk(1, 0.3, 100.0),
        xdf.stream_footer_chunk(1, '<?xml version="1.0"?><info><sample_count>30</sample_count></info>'),
    ])


def test_a_file_made_of_these_chunks_loads_in_pyxdf(tmp_path: Path) -> None:
    path = tmp_path / "small.xdf"
    path.write_bytes(_small_file())
    streams, header = pyxdf.load_xdf(str(path), dejitter_timestamps=False)
    ppg, markers = streams
    assert header["info"]["version"] == ["1.0"]
    assert ppg["info"]["name"] == ["p1.ppg"] and ppg["info"]["desc"][0]["wearer"] == ["p1"]
    assert ppg["info"]["desc"][0]["channels"][0]["channel"][0]["unit"] == ["adc"]
    assert np.allclose(ppg["time_stamps"], np.arange(30) / 100.0 + 100.0)  # the offset applied
    assert np.array_equal(ppg["time_series"][:, 0], np.sin(np.arange(30) / 100.0))
    assert markers["time_series"] == [["p1.heart.beat", "72.5"]]
    assert ppg["footer"]["info"]["sample_count"] == ["30"]


def test_every_cut_of_a_file_reads_up_to_its_last_whole_chunk() -> None:
    data = _small_file()
    whole, cut = xdf.read_chunks(data)
    assert cut is None and [c.tag for c in whole] == [1, 2, 2, 4, 3, 3, 5, 3, 4, 6]
    ends = [c.offset for c in whole[1:]] + [len(data)]
    for size in range(4, len(data)):
        chunks, cut = xdf.read_chunks(data[:size])
        complete = sum(1 for end in ends if end <= size)
        assert len(chunks) == complete, size
        assert (cut is None) == (size in ends or size == 4), size


@pytest.mark.parametrize(("data", "message"), [
    (b"XDF?" + xdf.file_header_chunk("<a/>"), "not an XDF file"),
    (xdf.MAGIC + xdf.chunk(9, b"??"), "unknown chunk tag 9"),
    (xdf.MAGIC + b"\x01\x01\x01", "cannot hold its tag"),
])
def test_what_is_not_xdf_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(xdf.XdfFormatError, match=message):
        xdf.read_chunks(data)


@pytest.mark.parametrize(("address", "value", "expected"), [
    ("p1.heart.beat", "72.5", "p1.heart.beat"),  # a measurement: left out, so that beats group
    ("p12.eda.scr", "0.31", "p12.eda.scr"),
    ("scene", "swarm", "scene swarm"),
    ("operator.mark", "doors open", "operator.mark doors open"),
    ("operator.mark", "", "operator.mark"),
    ("operator.panic", "1", "operator.panic 1"),
])
def test_one_channel_annotations(address: str, value: str, expected: str) -> None:
    assert annotation(address, value) == expected


def test_stream_info_reads_back() -> None:
    info = xdf.StreamInfo("p2.eda", "EDA", "double64", 25.0, (xdf.Channel("EDA", "uS", "EDA"),), "eco/p2/eda",
                          {"wearer": "p2", "signal": "eda", "hub": {"name": "hub-a"}})
    assert xdf.parse_stream_info(info.xml(12.0, "host")) == info


# ---- a rehearsal recorded as XDF and as CSV at once ------------------------------------------

class DeviceReadings(SourceBase):
    """p1's wristband: a heart rate (bpm) and an interval (s) every 0.5 s, stamped on the session's clock."""

    name = "wristband"

    def __init__(self) -> None:
        self.delivered: list[SampleBlock] = []
        self._next_s = 0.0

    def open(self) -> None:
        self._next_s = time.monotonic() + 0.5

    def close(self) -> None:
        pass

    def read(self, timeout_s: float) -> list[SampleBlock]:
        now = time.monotonic()
        if now < self._next_s:
            time.sleep(min(timeout_s, self._next_s - now))
            return []
        self._next_s += 0.5
        t = np.array([now])
        k = len(self.delivered) // 2
        blocks = [SampleBlock("p1", "bpm", t, np.array([70.0 + k % 5]), "bpm", now, 2.0),
                  SampleBlock("p1", "ibi", t, np.array([60.0 / (70.0 + k % 5)]), "s", now, 2.0)]
        self.delivered += blocks
        return blocks


@dataclass
class Recorded:
    xdf_path: Path
    csv_folder: Path
    audience: CountingAudience
    band: DeviceReadings
    session: Session


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    """Two simulated wearers (PPG, EDA, a wrist accelerometer) and p1's device readings for 8 s,
    through the real reader and core threads, with an operator who marks, chooses a scene, re-baselines,
    panics and blacks out; recorded as XDF and as a CSV folder at once."""
    root = tmp_path_factory.mktemp("xdf")
    prepared = prepare_show(load_show(SHOW))
    audience = CountingAudience(2, seed=5, acc_rate_hz=25.0)
    band = DeviceReadings()
    text = SHOW.read_text(encoding="utf-8")
    as_xdf = XdfRecorder(root / "rehearse.xdf", text, "rehearse", SHOW, flush_period_s=0.2, offset_period_s=2.0)
    as_csv = Recorder(root / "rehearse-csv", text, "rehearse", SHOW)
    session = Session(prepared.show, prepared.mapper, [audience, band], ["p1", "p2"], None, None,
                      recorder=Both(as_xdf, as_csv))  # type: ignore[arg-type]
    with session:
        started = time.monotonic()
        time.sleep(2.5)
        session.command(Mark("doors open"))
        session.command(SelectScene(key="2"))
        time.sleep(1.0)
        session.command(Rebaseline("p1"))
        session.command(Panic(True))
        session.command(Blackout(True))
        time.sleep(0.5)
        session.command(Panic(False))
        session.command(Blackout(False))
        session.run(max(0.5, 8.0 - (time.monotonic() - started)))
    assert as_xdf.failed is None and as_csv.failed is None
    return Recorded(root / "rehearse.xdf", root / "rehearse-csv", audience, band, session)


def _delivered(rec: Recorded) -> list[SampleBlock]:
    return [b for b in rec.audience.delivered + rec.band.delivered if b.values.size]


def _desc(stream: dict, key: str) -> str:
    return stream["info"]["desc"][0][key][0]


def test_pyxdf_loads_every_stream_with_its_labels_units_and_wearer(recorded: Recorded) -> None:
    streams, header = pyxdf.load_xdf(str(recorded.xdf_path), synchronize_clocks=False, dejitter_timestamps=False)
    by_name = {s["info"]["name"][0]: s for s in streams}
    expected = {f"{w}.{s}" for w in ("p1", "p2") for s in ("ppg", "eda", "acc_x", "acc_y", "acc_z")} | {"p1.bpm", "p1.ibi"}
    assert set(by_name) == expected | {"eco-symphony events", "eco-symphony blocks", "eco-symphony annotations"}
    types = {"ppg": ("PPG", "adc"), "eda": ("EDA", "uS"), "acc_x": ("ACC", "g"), "bpm": ("HR", "bpm"), "ibi": ("IBI", "s")}
    delivered = _delivered(recorded)
    for name in expected:
        stream = by_name[name]
        wearer, signal_kind = name.split(".")
        kind, unit = types.get(signal_kind, ("ACC", "g"))
        channel = stream["info"]["desc"][0]["channels"][0]["channel"][0]
        assert (stream["info"]["type"][0], channel["unit"][0], channel["label"][0]) == (kind, unit, signal_kind.upper()), name
        assert _desc(stream, "wearer") == wearer and stream["info"]["channel_format"] == ["double64"]
        ours = [b for b in delivered if (b.wearer, b.signal) == (wearer, signal_kind)]
        assert float(stream["info"]["nominal_srate"][0]) == ours[0].sampling_rate_hz
        assert len(stream["time_stamps"]) == sum(b.values.size for b in ours) > 0, name  # every sample
        assert np.array_equal(stream["time_stamps"], np.concatenate([b.times_s for b in ours])), name
        assert np.array_equal(stream["time_series"][:, 0], np.concatenate([b.values for b in ours])), name
        assert np.all(np.diff(stream["time_stamps"]) > 0), name
        assert stream["footer"]["info"]["sample_count"] == [str(len(stream["time_stamps"]))]
    eco = header["info"]["eco_symphony"][0]
    assert eco["mode"] == ["rehearse"] and eco["wearers"][0]["wearer"] == ["p1", "p2"]
    assert eco["show_toml"][0] == SHOW.read_text(encoding="utf-8")


def test_the_marker_stream_holds_the_beats_and_the_operators_actions(recorded: Recorded) -> None:
    streams, _ = pyxdf.load_xdf(str(recorded.xdf_path), select_streams=[{"type": "Markers"}])
    markers, annotations = sorted(streams, key=lambda s: s["info"]["stream_id"])
    rows = markers["time_series"]
    assert markers["info"]["name"] == ["eco-symphony events"] and annotations["info"]["channel_count"] == ["1"]
    assert [r[0] for r in annotations["time_series"]] == [annotation(*r) for r in rows]
    assert np.array_equal(annotations["time_stamps"], markers["time_stamps"])
    live = recorded.session.stats.beat_times_s
    beats = [r for r in rows if r[0].endswith(".heart.beat")]
    assert len(beats) >= 8 and len(beats) == sum(len(v) for v in live.values())
    assert {r[0] for r in beats} == {"p1.heart.beat", "p2.heart.beat"}
    bpm = [float(r[1]) for r in beats if r[1]]  # the first two beats of a wearer have no rate yet: empty, as in events.csv
    assert len(bpm) >= len(beats) - 4 and all(40 < b < 200 for b in bpm)
    operator = [tuple(r) for r in rows if r[0].startswith("operator.")]
    assert operator == [("operator.mark", "doors open"), ("operator.scene", "key 2"), ("operator.rebaseline", "p1"),
                        ("operator.panic", "1"), ("operator.blackout", "1"), ("operator.panic", "0"),
                        ("operator.blackout", "0")]
    assert ["scene", "swarm"] in rows
    events = load_recording(recorded.csv_folder).events  # the same events as events.csv, at its times
    start_s = float(pyxdf.load_xdf(str(recorded.xdf_path), synchronize_clocks=False)[1]["info"]["eco_symphony"][0]["start_s"][0])
    assert np.allclose(np.asarray(markers["time_stamps"]) - start_s, events.time_s, atol=1e-6)


def test_clock_offsets_put_every_stream_on_the_markers_timeline(recorded: Recorded) -> None:
    """A simulated audience's clock starts at 0 when it opens; its offsets move its samples onto the
    session's clock, where the markers are: each beat marker lies on its PPG pulse, within a block."""
    raw, _ = pyxdf.load_xdf(str(recorded.xdf_path), synchronize_clocks=False, dejitter_timestamps=False)
    synced, _ = pyxdf.load_xdf(str(recorded.xdf_path))  # pyxdf's defaults: clock sync and dejitter
    raw_by, synced_by = ({s["info"]["name"][0]: s for s in ss} for ss in (raw, synced))
    blocks = raw_by["eco-symphony blocks"]
    for name in ("p1.ppg", "p2.eda", "p1.acc_z", "p1.bpm"):
        offsets = np.array(raw_by[name]["clock_values"])
        assert offsets.size >= 3, name  # the first block, every 2 s, the end
        assert np.ptp(offsets) < 0.05, name  # one clock
        last_arrival = blocks["time_stamps"][np.flatnonzero(blocks["time_series"][:, 0] == raw_by[name]["info"]["stream_id"])[-1]]
        assert -0.02 <= last_arrival - synced_by[name]["time_stamps"][-1] < 0.1, name
    assert abs(float(np.median(raw_by["p1.bpm"]["clock_values"]))) < 0.05  # stamped on the session's clock already
    markers = synced_by["eco-symphony events"]
    ppg = synced_by["p1.ppg"]
    beats = [t for t, r in zip(markers["time_stamps"], markers["time_series"]) if r[0] == "p1.heart.beat"]
    misses = []
    for t in beats:
        near = (ppg["time_stamps"] > t - 0.3) & (ppg["time_stamps"] < t + 0.3)
        misses.append(abs(ppg["time_stamps"][near][np.argmax(ppg["time_series"][near, 0])] - t))
    assert len(misses) >= 4 and float(np.median(misses)) < 0.05, misses


def test_it_opens_in_mne_with_the_events_as_annotations(recorded: Recorded) -> None:
    """MNE-Python, through mne-xdf's ``read_raw_xdf`` (what MNELAB uses too): a wearer's PPG as a
    channel at its rate, the events as annotations at their times."""
    mne_xdf = pytest.importorskip("mne_xdf", reason="mne-xdf is not installed: pip install mne-xdf (the test extras)")
    streams, _ = pyxdf.load_xdf(str(recorded.xdf_path))
    ids = {s["info"]["name"][0]: s["info"]["stream_id"] for s in streams}
    raw = mne_xdf.read_raw_xdf(str(recorded.xdf_path), stream_ids=[ids["p1.ppg"]])
    ppg = next(s for s in streams if s["info"]["name"][0] == "p1.ppg")
    assert raw.ch_names == ["PPG"] and abs(raw.info["sfreq"] - 100.0) < 0.1
    assert np.array_equal(raw.get_data()[0], ppg["time_series"][:, 0])
    names = list(raw.annotations.description)
    assert names.count("p1.heart.beat") >= 4 and "scene swarm" in names and "operator.mark doors open" in names
    beat_s = raw.annotations.onset[names.index("p1.heart.beat")] + ppg["time_stamps"][0]
    markers = next(s for s in streams if s["info"]["name"][0] == "eco-symphony events")
    assert min(abs(t - beat_s) for t, r in zip(markers["time_stamps"], markers["time_series"]) if r[0] == "p1.heart.beat") < 1e-6


def test_our_reader_gives_what_the_csv_folder_gives(recorded: Recorded) -> None:
    a, b = load_recording(recorded.csv_folder), load_recording(recorded.xdf_path)
    assert b.warnings == [] and b.meta["complete"] is True and b.meta["counts"]["dropped_samples"] == 0
    assert b.meta["counts"]["samples"] == len(b.samples) == len(a.samples)
    for name in ("arrival_s", "wearer", "signal", "unit", "rate_hz", "time_s", "value"):
        assert np.array_equal(getattr(a.samples, name), getattr(b.samples, name)), name
    assert [(x.wearer, x.signal, x.values.size, x.arrival_s) for x in a.blocks()] == \
        [(x.wearer, x.signal, x.values.size, x.arrival_s) for x in b.blocks()]
    for name in ("time_s", "wearer", "kind", "value"):
        assert np.array_equal(getattr(a.events, name), getattr(b.events, name)), name
    assert b.show_text == a.show_text and b.wearers == a.wearers and b.meta["show_path"] == a.meta["show_path"]
    assert abs(b.duration_s - a.duration_s) < 0.01


def test_replaying_the_xdf_gives_the_beats_of_replaying_the_csv(recorded: Recorded) -> None:
    from installation.commands.replay import replay

    a, b = replay(load_recording(recorded.csv_folder)), replay(load_recording(recorded.xdf_path))
    beats = [r for r in b.events.rows if r[2] == "heart.beat"]
    assert len(beats) >= 8
    assert b.events.csv_text() == a.events.csv_text()  # beats, SCRs, scenes, operator actions, to the microsecond
    assert b.params_csv_text() == a.params_csv_text()


def test_report_and_replay_commands_take_the_xdf_file(recorded: Recorded, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from installation.cli import main

    path = tmp_path / "show.xdf"
    path.write_bytes(recorded.xdf_path.read_bytes())
    assert main(["report", str(path)]) == 0
    assert (tmp_path / "show-report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["replay", str(path), "--events", str(tmp_path / "events.csv")]) == 0
    assert (tmp_path / "events.csv").read_text().count("heart.beat") >= 8
    assert "show-report.png" in capsys.readouterr().out.replace("\n", "")


@pytest.mark.parametrize(("fmt", "suffix", "kind"), [("csv", "", Recorder), ("xdf", ".xdf", XdfRecorder)])
def test_the_show_file_chooses_the_format(fmt: str, suffix: str, kind: type) -> None:
    show = parse_show(f'[record]\nenabled = true\nformat = "{fmt}"\n[[mappings]]\nfrom = "p*.heart.beat"\nto = "visual.p*.pulse"\n')
    recorder = make_recorder(show, LaunchOptions(), "run")
    assert recorder is not None and type(recorder.recorder) is kind  # behind the gate (slot ids, consent)
    assert recorder.folder.suffix == suffix and recorder.folder.name.startswith("run-")


def test_a_format_we_do_not_write_is_refused() -> None:
    with pytest.raises(Exception, match=r"record\.format"):
        parse_show('[record]\nformat = "hdf5"\n')


def test_a_file_that_is_not_ours_is_refused_clearly(tmp_path: Path) -> None:
    other = tmp_path / "labrecorder.xdf"
    other.write_bytes(_small_file())
    with pytest.raises(RecordingFormatError, match="not an eco-symphony recording"):
        load_recording(other)
    (tmp_path / "junk.xdf").write_bytes(b"hello")
    with pytest.raises(RecordingFormatError, match="not an XDF file"):
        load_recording(tmp_path / "junk.xdf")


def test_every_chunk_reads_back_and_writes_back_the_same_file(recorded: Recorded, tmp_path: Path) -> None:
    """What a tool that rewrites a recording needs: all chunks, and the file again from them."""
    data = recorded.xdf_path.read_bytes()
    chunks, cut = xdf.read_chunks(data)
    assert cut is None and chunks[0].tag == xdf.TAG_FILE_HEADER
    assert xdf.MAGIC + b"".join(c.encode() for c in chunks) == data
    assert {1, 2, 3, 4, 6} <= {c.tag for c in chunks}
    content = read_xdf(recorded.xdf_path)
    assert all(s.footer is not None for s in content.streams.values())


def test_a_rewritten_file_without_one_wearer_loads(recorded: Recorded, tmp_path: Path) -> None:
    """Chunks read, some left out, the file written back: what forgetting a wearer will do."""
    chunks, _ = xdf.read_chunks(recorded.xdf_path.read_bytes())
    content = read_xdf(recorded.xdf_path)
    p2 = {sid for sid, s in content.streams.items() if s.info.desc.get("wearer") == "p2"}
    assert len(p2) == 5
    out = tmp_path / "without-p2.xdf"
    write_xdf_file(out, [c for c in chunks if c.stream_id not in p2])
    streams, _ = pyxdf.load_xdf(str(out))
    names = {s["info"]["name"][0] for s in streams}
    assert "p1.ppg" in names and not any(n.startswith("p2.") for n in names)
    assert not (tmp_path / "without-p2.xdf.tmp").exists()


@pytest.mark.parametrize("offsets_s", [(0.0,), (-1000.0, -1000.0, -999.9995), (0.25, -0.25)])
def test_a_wearer_heard_from_a_hub_carries_the_hub_its_stream_and_the_clock_offsets_applied(
        tmp_path: Path, offsets_s: tuple[float, ...]) -> None:
    path = tmp_path / "hub.xdf"
    recorder = XdfRecorder(path, "", "run", None, flush_period_s=0.05)
    recorder.start(0.0, ["p1", "p2"], ["lsl hubs hall-a"])
    for k, offset_s in enumerate(offsets_s):
        times = np.array([k, k + 0.01])
        origin = BlockOrigin("hall-a", "ecosymphony:hall-a:p3:ppg", "hub-a", offset_s)
        recorder.samples([SampleBlock("p1", "ppg", times, np.array([1.0, 2.0]), "adc", k + 0.02, 100.0, origin),
                          SampleBlock("p2", "ppg", times, np.array([1.0, 2.0]), "adc", k + 0.02, 100.0)])
    recorder.stop(len(offsets_s) + 1.0)
    streams, _ = pyxdf.load_xdf(str(path), synchronize_clocks=False, dejitter_timestamps=False)
    by_name = {s["info"]["name"][0]: s for s in streams}
    hubbed, local = by_name["p1.ppg"], by_name["p2.ppg"]
    assert (_desc(hubbed, "wearer"), _desc(hubbed, "hub")) == ("p1", "hall-a")
    lsl = hubbed["info"]["desc"][0]["lsl"][0]
    assert (lsl["source_id"], lsl["hostname"]) == (["ecosymphony:hall-a:p3:ppg"], ["hub-a"])
    assert float(lsl["clock_offset_s"][0]) == offsets_s[0]
    applied = [(float(o["time"][0]), float(o["value"][0]))
               for o in hubbed["footer"]["info"]["lsl_clock_offsets"][0]["offset"]]
    changes = [(k + 0.02, o) for k, o in enumerate(offsets_s) if k == 0 or o != offsets_s[k - 1]]
    assert applied == changes
    assert "hub" not in local["info"]["desc"][0] and "lsl_clock_offsets" not in local["footer"]["info"]
    assert len(hubbed["time_stamps"]) == 2 * len(offsets_s)


def test_a_removed_file_stops_the_recording_not_the_show(tmp_path: Path) -> None:
    path = tmp_path / "gone.xdf"
    recorder = XdfRecorder(path, "", "run", None, flush_period_s=0.05)
    recorder.start(0.0, ["p1"], ["test"])
    block = SampleBlock("p1", "ppg", np.array([0.0, 0.01]), np.array([1.0, 2.0]), "adc", 0.02, 100.0)
    recorder.samples([block])
    deadline = time.monotonic() + 5.0
    while recorder.samples_written < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    path.unlink()
    recorder.samples([block])
    while recorder.failed is None and time.monotonic() < deadline:
        time.sleep(0.01)
    recorder.stop(1.0)  # no error
    assert recorder.failed == "the file was removed" and recorder.dropped_samples == 2


def test_a_rehearsal_records_as_xdf_when_the_show_file_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from installation.runtime.launch import perform

    monkeypatch.chdir(tmp_path)
    text = DEFAULT_SHOW.read_text().replace('format = "csv"', 'format = "xdf"')
    assert 'format = "xdf"' in text
    (tmp_path / "show.toml").write_text(text)
    show = load_show(tmp_path / "show.toml")
    summary = perform(show, LaunchOptions(duration_s=2.5, participants=1, audio="none", visuals="none", runs_dir=tmp_path / "runs",
                                          record_dir=tmp_path / "recs", live_edit=False), rehearsal=True, notify=lambda _: None)
    (path,) = list((tmp_path / "recs").iterdir())
    assert path.suffix == ".xdf" and path.name.startswith("rehearse-") and summary.recording == path
    rec = load_recording(path)
    assert rec.meta["complete"] is True and rec.meta["mode"] == "rehearse" and len(rec.samples) > 100
    assert rec.show_text == text


# ---- a show killed while it records ----------------------------------------------------------
KILLED = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from installation.config import load_show
    from installation.runtime.launch import prepare_show
    from installation.record.xdf_writer import XdfRecorder, annotation, write_xdf_file
    from installation.sensors.simulated import SimulatedAudience
    from installation.runtime.session import Session
    from installation.operator_commands import Mark

    show_path, path = Path(sys.argv[1]), Path(sys.argv[2])
    prepared = prepare_show(load_show(show_path))
    recorder = XdfRecorder(path, show_path.read_text(), "run", show_path, flush_period_s=0.1)
    session = Session(prepared.show, prepared.mapper, [SimulatedAudience(2, seed=3, acc_rate_hz=25.0)], ["p1", "p2"],
                      None, None, recorder=recorder)
    session.start()
    time.sleep(1.5)
    session.command(Mark("before the crash"))
    print("recording", flush=True)
    session.run(60.0)
""")


def test_a_show_killed_while_recording_leaves_a_file_pyxdf_loads(tmp_path: Path) -> None:
    path = tmp_path / "killed.xdf"
    proc = subprocess.Popen([sys.executable, "-c", KILLED, str(DEFAULT_SHOW), str(path)], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(1)]
        while lines[-1] and lines[-1].strip() != "recording" and len(lines) < 50:
            lines.append(proc.stdout.readline())
        assert lines[-1].strip() == "recording", "".join(lines)
        time.sleep(1.33)  # in the middle of the writer's rhythm
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    streams, _ = pyxdf.load_xdf(str(path))
    by_name = {s["info"]["name"][0]: s for s in streams}
    assert {"p1.ppg", "p2.eda", "p2.acc_z", "eco-symphony events"} <= set(by_name)
    assert all("footer" not in s for s in streams)  # it never closed
    assert len(by_name["p1.ppg"]["time_stamps"]) > 150  # about 2.5 s of 100 Hz
    assert ["operator.mark", "before the crash"] in by_name["eco-symphony events"]["time_series"]
    rec = load_recording(path)
    assert any("not closed cleanly" in w for w in rec.warnings)
    assert len(rec.samples) == sum(len(s["time_stamps"]) for n, s in by_name.items() if n.startswith("p"))
    # a power cut in the middle of a write: the file cut anywhere in its second half still loads
    data = path.read_bytes()
    # pyxdf itself cannot read a file cut between a chunk's length and the end of its tag (it
    # unpacks the tag without looking): there only our own reader is asked
    headers = [(c.offset, xdf.read_varlen(data, c.offset)[1] + 2) for c in xdf.read_chunks(data)[0]]
    for k, size in enumerate(np.linspace(len(data) // 2, len(data) - 1, 7).astype(int).tolist()):
        cut = tmp_path / f"cut-{k}.xdf"
        cut.write_bytes(data[:size])
        if not any(start < size < end for start, end in headers):
            streams, _ = pyxdf.load_xdf(str(cut), verbose=False)
            assert len({s["info"]["name"][0] for s in streams}) >= 10
        rec = load_recording(cut)
        assert 0 < len(rec.samples) <= size
