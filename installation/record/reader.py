"""Loading a recording into numpy arrays: a folder (see :mod:`installation.record.writer` for the
format) or an ``.xdf`` file (see :mod:`installation.record.xdf_writer`), behind one interface.

A damaged file is refused with :class:`RecordingFormatError` naming the file and the
line; a last line cut short (a crash or power cut in the middle of a write: it has
no line end) is skipped with a warning.
"""

from __future__ import annotations

import csv
import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from installation.record import xdf
from installation.record.writer import EVENT_COLUMNS, FORMAT, FORMAT_VERSION, RECORDED_EVENTS, SAMPLE_COLUMNS
from installation.record.xdf_writer import ANNOTATIONS_SOURCE_ID, BLOCKS_SOURCE_ID, EVENTS_SOURCE_ID
from installation.sensors.base import SampleBlock

log = logging.getLogger(__name__)


class RecordingFormatError(ValueError):
    """A folder that is not a recording, or a recording file that is damaged (names the file and line)."""


@dataclass(frozen=True, slots=True)
class Samples:
    """The rows of ``samples.csv`` as columns (one entry per sample, in file order).

    Attributes
    ----------
    arrival_s : numpy.ndarray
        Seconds since the recording began when the sample's block arrived.
    block : numpy.ndarray
        Block numbers (int64).
    wearer, signal, unit : numpy.ndarray
        Slot ids, signal kinds and units (str).
    rate_hz : numpy.ndarray
        Nominal sampling rates in hertz.
    time_s : numpy.ndarray
        The samples' own times in seconds (source clock).
    value : numpy.ndarray
        Sample values in ``unit``.
    """

    arrival_s: np.ndarray
    block: np.ndarray
    wearer: np.ndarray
    signal: np.ndarray
    unit: np.ndarray
    rate_hz: np.ndarray
    time_s: np.ndarray
    value: np.ndarray

    def __len__(self) -> int:
        return int(self.value.size)


@dataclass(frozen=True, slots=True)
class EventRows:
    """The rows of ``events.csv`` as columns: ``time_s`` (float seconds), ``wearer``, ``kind``, ``value`` (str)."""

    time_s: np.ndarray
    wearer: np.ndarray
    kind: np.ndarray
    value: np.ndarray

    def __len__(self) -> int:
        return int(self.time_s.size)

    def of_kind(self, kind: str) -> "EventRows":
        """Only the rows of one kind."""
        keep = self.kind == kind
        return EventRows(self.time_s[keep], self.wearer[keep], self.kind[keep], self.value[keep])


@dataclass(frozen=True, slots=True)
class Recording:
    """A loaded recording.

    Attributes
    ----------
    folder : Path
        Where it is: the recording's folder, or its ``.xdf`` file.
    meta : dict
        ``meta.json`` (for an XDF file: the same keys, from its header and its events stream's footer).
    show_text : str
        The show file as used.
    samples : Samples
        Every raw sample.
    events : EventRows
        Every event.
    warnings : list of str
        What was skipped (a cut last line) or is doubtful (not closed cleanly).
    """

    folder: Path
    meta: dict[str, Any]
    show_text: str
    samples: Samples
    events: EventRows
    warnings: list[str] = field(default_factory=list)

    def beside(self, name: str) -> Path:
        """Where a file made from the recording goes: in its folder, or beside its ``.xdf`` file
        (``run-20261123-201500.xdf`` -> ``run-20261123-201500-<name>``)."""
        if self.folder.is_dir():
            return self.folder / name
        return self.folder.with_name(f"{self.folder.stem}-{name}")

    @property
    def wearers(self) -> list[str]:
        """Wearer slots: those in ``meta.json``, plus any that appear in the samples."""
        slots = list(self.meta.get("wearers") or [])
        for w in np.unique(self.samples.wearer).tolist():
            if w not in slots:
                slots.append(w)
        return slots

    @property
    def duration_s(self) -> float:
        """Seconds covered: the close time if it was closed, else the last sample's or event's arrival."""
        d = self.meta.get("duration_s")
        if isinstance(d, (int, float)) and math.isfinite(d):
            return float(d)
        ends = [float(self.samples.arrival_s.max()) if len(self.samples) else 0.0,
                float(self.events.time_s.max()) if len(self.events) else 0.0]
        return max(ends)

    def blocks(self) -> list[SampleBlock]:
        """The recorded blocks, rebuilt exactly, in the order they arrived."""
        s = self.samples
        if not len(s):
            return []
        order = np.argsort(s.block, kind="stable")
        block = s.block[order]
        starts = np.flatnonzero(np.r_[True, block[1:] != block[:-1]])
        ends = np.r_[starts[1:], block.size]
        out = []
        for lo, hi in zip(starts.tolist(), ends.tolist()):
            idx = order[lo:hi]
            i = int(idx[0])
            out.append(SampleBlock(str(s.wearer[i]), str(s.signal[i]), s.time_s[idx], s.value[idx],  # type: ignore[arg-type]
                                   str(s.unit[i]), float(s.arrival_s[i]), float(s.rate_hz[i])))
        return out


def _lines(path: Path, columns: tuple[str, ...], warnings: list[str]) -> list[str]:
    """The lines of a CSV file (a cut last line dropped, with a warning), its header checked."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RecordingFormatError(f"{path}: missing (a recording folder has show.toml, meta.json, "
                                   "samples.csv and events.csv)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordingFormatError(f"{path}: cannot read: {exc}") from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the file ends with a line end: nothing was cut
    elif lines:
        cut = lines.pop()
        note = f"{path}: line {len(lines) + 1} was cut short (the show stopped while writing it); skipped: {cut[:60]!r}"
        warnings.append(note)
        log.warning("%s", note)
    if not lines:
        raise RecordingFormatError(f"{path}: empty (no header line)")
    if lines[0].strip() != ",".join(columns):
        raise RecordingFormatError(f"{path}: line 1: header should be {','.join(columns)!r}, found {lines[0][:80]!r}")
    return lines


def _rows(path: Path, columns: tuple[str, ...], warnings: list[str], lines: list[str] | None = None) -> list[list[str]]:
    """The data rows of a CSV file, checked for the header and the number of fields."""
    lines = _lines(path, columns, warnings) if lines is None else lines
    rows = list(csv.reader(lines[1:]))
    for n, row in enumerate(rows, start=2):
        if len(row) != len(columns):
            raise RecordingFormatError(f"{path}: line {n}: {len(row)} fields, expected {len(columns)} "
                                       f"({','.join(columns)}): {lines[n - 1][:80]!r}")
    return rows


def _numbers(path: Path, rows: list[list[str]], column: int, name: str, dtype: type, blank_nan: bool = False) -> np.ndarray:
    """One numeric column; a bad cell is refused with its line."""
    cells = [r[column] for r in rows]
    try:
        if blank_nan:
            return np.array([float(c) if c else math.nan for c in cells], dtype=dtype)
        return np.array(cells, dtype=dtype)
    except ValueError:
        for n, c in enumerate(cells, start=2):
            try:
                dtype(c)
            except ValueError:
                raise RecordingFormatError(f"{path}: line {n}: {name} is not a number: {c!r}") from None
        raise


def _strings(rows: list[list[str]], column: int) -> np.ndarray:
    return np.array([r[column] for r in rows], dtype=str) if rows else np.array([], dtype=str)


def load_samples(path: Path, warnings: list[str] | None = None) -> Samples:
    """``samples.csv`` as columns."""
    warnings = [] if warnings is None else warnings
    lines = _lines(path, SAMPLE_COLUMNS, warnings)
    if len(lines) > 1:
        try:  # the fast path: numpy's own parser (no field of samples.csv is ever quoted)
            nums = np.loadtxt(lines[1:], delimiter=",", usecols=(0, 1, 5, 6, 7), dtype=float, ndmin=2, comments=None)
            text = np.loadtxt(lines[1:], delimiter=",", usecols=(2, 3, 4), dtype=str, ndmin=2, comments=None)
            if all(line.count(",") == len(SAMPLE_COLUMNS) - 1 for line in lines[1:]) and np.all(nums[:, 1] == np.round(nums[:, 1])):
                return Samples(nums[:, 0].copy(), nums[:, 1].astype(np.int64), text[:, 0].copy(), text[:, 1].copy(),
                               text[:, 2].copy(), nums[:, 2].copy(), nums[:, 3].copy(), nums[:, 4].copy())
        except ValueError:
            pass  # the slow path below names the line that is wrong
    rows = _rows(path, SAMPLE_COLUMNS, warnings, lines)
    col = {name: i for i, name in enumerate(SAMPLE_COLUMNS)}
    return Samples(
        arrival_s=_numbers(path, rows, col["arrival_s"], "arrival_s", float),
        block=_numbers(path, rows, col["block"], "block", int).astype(np.int64),
        wearer=_strings(rows, col["wearer"]),
        signal=_strings(rows, col["signal"]),
        unit=_strings(rows, col["unit"]),
        rate_hz=_numbers(path, rows, col["rate_hz"], "rate_hz", float),
        time_s=_numbers(path, rows, col["time_s"], "time_s", float),
        value=_numbers(path, rows, col["value"], "value", float),
    )


def load_events(path: Path, warnings: list[str] | None = None) -> EventRows:
    """``events.csv`` (or a replay's ``--events`` file) as columns."""
    warnings = [] if warnings is None else warnings
    rows = _rows(path, EVENT_COLUMNS, warnings)
    return EventRows(_numbers(path, rows, 0, "time_s", float), _strings(rows, 1), _strings(rows, 2), _strings(rows, 3))


def load_recording(folder: str | Path) -> Recording:
    """Load a recording: a folder, or an ``.xdf`` file (:func:`load_xdf_recording`).

    Raises
    ------
    RecordingFormatError
        Not a recording, or a damaged file (naming the file and line, or the byte).
    """
    root = Path(folder)
    if root.is_file() and root.suffix.lower() == ".xdf":
        return load_xdf_recording(root)
    if not root.is_dir():
        raise RecordingFormatError(f"{root}: not a folder (a recording is a folder or an .xdf file made by --record or [record])")
    meta_path = root / "meta.json"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RecordingFormatError(f"{root}: not a recording (no meta.json; a recording folder has show.toml, "
                                   "meta.json, samples.csv and events.csv)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RecordingFormatError(f"{meta_path}: cannot read: {exc}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise RecordingFormatError(f"{meta_path}: not an eco-symphony recording (format should be {FORMAT!r})")
    version = meta.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise RecordingFormatError(f"{meta_path}: format_version {version!r} is newer than this program reads "
                                   f"({FORMAT_VERSION}); update eco-symphony")
    try:
        show_text = (root / "show.toml").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordingFormatError(f"{root / 'show.toml'}: cannot read: {exc}") from None
    warnings: list[str] = []
    if not meta.get("complete"):
        reason = meta.get("failed")
        warnings.append(f"{root}: not closed cleanly" + (f" (writing stopped: {reason})" if reason else
                                                         " (the show crashed or is still running)"))
    samples = load_samples(root / "samples.csv", warnings)
    events = load_events(root / "events.csv", warnings)
    return Recording(root, meta, show_text, samples, events, warnings)


@dataclass(slots=True)
class XdfStream:
    """One stream of an XDF file as read: its id and header, every sample, its clock offsets and footer.

    Attributes
    ----------
    times_s : numpy.ndarray
        Time stamps as written (the stream's own clock: no offset applied).
    values : numpy.ndarray or list of list of str
        ``(samples, channels)`` numbers, or per sample its strings.
    chunk_sizes : list of int
        Samples in each of its Samples chunks, in file order.
    offsets : list of (float, float)
        ClockOffset chunks: (collection time on the stream's clock, offset to the recording's clock), seconds.
    footer : str or None
        The StreamFooter's XML (None: the file ends before it: not closed cleanly).
    """

    stream_id: int
    info: xdf.StreamInfo
    header_xml: str
    times_s: np.ndarray
    values: np.ndarray | list[list[str]]
    chunk_sizes: list[int]
    offsets: list[tuple[float, float]]
    footer: str | None


@dataclass(slots=True)
class XdfContent:
    """An XDF file as read: its header's XML, its streams (by id, in order of appearance) and a note when cut short."""

    header_xml: str
    streams: dict[int, XdfStream]
    cut: str | None


def read_xdf(path: Path) -> XdfContent:
    """Every chunk of an XDF file, gathered per stream (time stamps as written, no offsets applied).

    Raises
    ------
    RecordingFormatError
        Not an XDF file, or a chunk that cannot be decoded (naming the file and the byte).
    """
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise RecordingFormatError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        chunks, cut = xdf.read_chunks(data)
    except xdf.XdfFormatError as exc:
        raise RecordingFormatError(f"{path}: {exc}") from None
    header = ""
    streams: dict[int, XdfStream] = {}
    parts: dict[int, tuple[list[np.ndarray], list[object]]] = {}
    for c in chunks:
        try:
            if c.tag == xdf.TAG_FILE_HEADER:
                header = c.content.decode("utf-8", errors="replace")
            elif c.tag == xdf.TAG_STREAM_HEADER and c.stream_id is not None:
                text = c.content.decode("utf-8", errors="replace")
                streams[c.stream_id] = XdfStream(c.stream_id, xdf.parse_stream_info(text), text, np.empty(0), [], [], [], None)
                parts[c.stream_id] = ([], [])
            elif c.stream_id is not None and c.stream_id not in streams:
                raise xdf.XdfFormatError(f"stream {c.stream_id} has no header before its data")
            elif c.tag == xdf.TAG_SAMPLES:
                s = streams[c.stream_id]  # type: ignore[index]
                times_list, values_list = parts[s.stream_id]
                last = float(times_list[-1][-1]) if times_list and len(times_list[-1]) else 0.0
                interval = 1.0 / s.info.nominal_srate if s.info.nominal_srate > 0 else 0.0
                t, v = xdf.decode_samples(c.content, s.info.channel_count, s.info.channel_format, last, interval)
                times_list.append(t)
                values_list.append(v)
                s.chunk_sizes.append(int(t.size))
            elif c.tag == xdf.TAG_CLOCK_OFFSET:
                streams[c.stream_id].offsets.append(xdf.decode_clock_offset(c.content))  # type: ignore[index]
            elif c.tag == xdf.TAG_STREAM_FOOTER:
                streams[c.stream_id].footer = c.content.decode("utf-8", errors="replace")  # type: ignore[index]
        except xdf.XdfFormatError as exc:
            raise RecordingFormatError(f"{path}: byte {c.offset}: {exc}") from None
    for sid, s in streams.items():
        times_list, values_list = parts[sid]
        s.times_s = np.concatenate(times_list) if times_list else np.empty(0)
        if s.info.channel_format == "string":
            s.values = [row for chunk_rows in values_list for row in chunk_rows]  # type: ignore[union-attr]
        else:
            s.values = (np.concatenate(values_list) if values_list  # type: ignore[arg-type]
                        else np.zeros((0, s.info.channel_count)))
    return XdfContent(header, streams, cut)


def _xdf_meta(path: Path, header_xml: str) -> tuple[dict[str, Any], str, float]:
    """The recording's meta-data, show file text and start time from the FileHeader."""
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(header_xml)
    except ET.ParseError as exc:
        raise RecordingFormatError(f"{path}: the file header is not XML: {exc}") from None
    ours = root.find("eco_symphony")
    if ours is None:
        raise RecordingFormatError(f"{path}: an XDF file, but not an eco-symphony recording (its header has no "
                                   "eco_symphony element); open it with pyxdf")
    meta: dict[str, Any] = {child.tag: child.text or "" for child in ours if len(child) == 0}
    meta["wearers"] = [e.text or "" for e in ours.findall("wearers/wearer")]
    meta["sources"] = [e.text or "" for e in ours.findall("sources/source")]
    if meta.get("format") != FORMAT:
        raise RecordingFormatError(f"{path}: not an eco-symphony recording (format should be {FORMAT!r})")
    try:
        meta["format_version"] = int(meta.get("format_version", ""))
        start_s = float(meta.pop("start_s"))
    except (KeyError, ValueError):
        raise RecordingFormatError(f"{path}: the file header's format_version or start_s is not a number") from None
    if meta["format_version"] > FORMAT_VERSION:
        raise RecordingFormatError(f"{path}: format_version {meta['format_version']} is newer than this program reads "
                                   f"({FORMAT_VERSION}); update eco-symphony")
    show_text = meta.pop("show_toml", "")
    meta["show_path"] = meta.get("show_path") or None
    meta.update(complete=False, duration_s=None, counts=None, failed=None)
    return meta, show_text, start_s


def load_xdf_recording(path: str | Path) -> Recording:
    """Load a recording written as XDF (``[record] format = "xdf"``): the same samples, blocks
    and events as the folder of the same show would give.

    A file cut short (the show crashed) loads up to its last whole chunk, with a warning.

    Raises
    ------
    RecordingFormatError
        Not an XDF file, not one of ours, or a damaged chunk.
    """
    import xml.etree.ElementTree as ET

    root = Path(path)
    content = read_xdf(root)
    meta, show_text, start_s = _xdf_meta(root, content.header_xml)
    warnings: list[str] = []
    if content.cut:
        warnings.append(f"{root}: {content.cut}; skipped")
        log.warning("%s", warnings[-1])
    by_source = {s.info.source_id: s for s in content.streams.values()}
    events_stream, blocks_stream = by_source.get(EVENTS_SOURCE_ID), by_source.get(BLOCKS_SOURCE_ID)
    if events_stream is not None and events_stream.footer:
        summary = ET.fromstring(events_stream.footer).find("eco_symphony")
        if summary is not None:
            meta["complete"] = summary.findtext("complete") == "true"
            meta["duration_s"] = float(summary.findtext("duration_s") or "nan")
            meta["counts"] = {k: int(summary.findtext(k) or 0) for k in ("blocks", "samples", "events", "dropped_samples")}
    if not meta["complete"]:
        warnings.append(f"{root}: not closed cleanly (the show crashed or is still running)")
    # the samples, in the order their blocks arrived
    signals = [s for s in content.streams.values() if s.info.source_id not in (EVENTS_SOURCE_ID, BLOCKS_SOURCE_ID,
                                                                               ANNOTATIONS_SOURCE_ID)]
    if blocks_stream is not None and len(blocks_stream.times_s):
        block_ids = np.asarray(blocks_stream.values, dtype=np.int64)
        arrivals, sids, counts = blocks_stream.times_s, block_ids[:, 0], block_ids[:, 1]
    else:  # no blocks stream: each Samples chunk is a block, arriving with its last sample
        rows = []
        for s in signals:
            ends = np.cumsum(s.chunk_sizes)
            rows += [(float(s.times_s[e - 1]), s.stream_id, c) for e, c in zip(ends.tolist(), s.chunk_sizes) if c]
        rows.sort()
        arrivals = np.array([r[0] for r in rows])
        sids = np.array([r[1] for r in rows], dtype=np.int64)
        counts = np.array([r[2] for r in rows], dtype=np.int64)
    known = {s.stream_id: s for s in signals}
    # a file cut between a stream's samples and its blocks: keep the blocks whose samples are all there
    used = {sid: 0 for sid in known}
    keep = np.zeros(sids.size, dtype=bool)
    for k, (sid, n) in enumerate(zip(sids.tolist(), counts.tolist())):
        if sid in known and used[sid] + n <= known[sid].times_s.size:
            used[sid] += n
            keep[k] = True
    arrivals, sids, counts = arrivals[keep], sids[keep], counts[keep]
    order = [s.stream_id for s in signals]
    base = dict(zip(order, np.r_[0, np.cumsum([s.times_s.size for s in signals])[:-1]].astype(np.int64).tolist()))
    all_times = np.concatenate([s.times_s for s in signals]) if signals else np.empty(0)
    all_values = np.concatenate([np.asarray(s.values, dtype=float)[:, 0] for s in signals]) if signals else np.empty(0)
    within_stream = np.zeros(sids.size, dtype=np.int64)
    seen: dict[int, int] = {}
    for k, (sid, n) in enumerate(zip(sids.tolist(), counts.tolist())):
        within_stream[k] = seen.get(sid, 0)
        seen[sid] = within_stream[k] + n
    total = int(counts.sum())
    block_of = np.repeat(np.arange(sids.size), counts)
    within_block = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    index = np.array([base[s] for s in sids.tolist()], dtype=np.int64)[block_of] + within_stream[block_of] + within_block
    info = {s.stream_id: s.info for s in signals}
    col = {sid: (str(i.desc.get("wearer", i.name.partition(".")[0])), str(i.desc.get("signal", i.type.lower())),
                 i.channels[0].unit if i.channels else "", float(i.nominal_srate)) for sid, i in info.items()}
    lookup = np.array([col[s] for s in sids.tolist()], dtype=object).reshape(-1, 4) if sids.size else np.empty((0, 4), dtype=object)
    samples = Samples(
        arrival_s=(arrivals - start_s)[block_of],
        block=block_of.astype(np.int64),
        wearer=lookup[block_of, 0].astype(str) if total else np.array([], dtype=str),
        signal=lookup[block_of, 1].astype(str) if total else np.array([], dtype=str),
        unit=lookup[block_of, 2].astype(str) if total else np.array([], dtype=str),
        rate_hz=lookup[block_of, 3].astype(float) if total else np.array([], dtype=float),
        time_s=all_times[index] if total else np.array([], dtype=float),
        value=all_values[index] if total else np.array([], dtype=float),
    )
    # the events
    times, wearers, kinds, values = [], [], [], []
    if events_stream is not None:
        for t, row in zip(events_stream.times_s.tolist(), events_stream.values):  # type: ignore[arg-type]
            address, value = (list(row) + ["", ""])[:2]
            head, _, rest = address.partition(".")
            wearer, kind = (head, rest) if rest in RECORDED_EVENTS and head else ("", address)
            times.append(float(f"{t - start_s:.6f}"))
            wearers.append(wearer)
            kinds.append(kind)
            values.append(value)
    events = EventRows(np.array(times, dtype=float), np.array(wearers, dtype=str), np.array(kinds, dtype=str),
                       np.array(values, dtype=str))
    return Recording(root, meta, show_text, samples, events, warnings)
