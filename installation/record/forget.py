"""Taking wearers out of recordings (``ecosymphony forget RECORDING --wearer p3``).

A wearer's samples and events are removed from the files, which are rewritten
safely: each new file is written beside the old one (``NAME.tmp``), synced to the
disk, renamed over the old one, then the folder is synced; a crash leaves the old
file or the new one, never half of one, and running ``forget`` again finishes the
job. Everything else stays as it was, byte for byte, so that ``ecosymphony replay``
and ``ecosymphony report`` still work and give the same for the other wearers.

A recording folder (:mod:`installation.record.writer`)
    ``samples.csv``: the wearer's rows; ``events.csv``: their beats and SCRs, and the
    operator's actions about them (``operator.rebaseline``, ``operator.consent``,
    ``consent.device`` with their slot as the value); ``meta.json``: its counts, and
    a ``forgotten`` list (slot, when, how much) is added. A last line cut short by a
    crash is dropped when it is the wearer's or cannot be told.
An ``.xdf`` file (:mod:`installation.record.xdf_writer`)
    The wearer's streams (headers, samples, clock offsets, footers); their rows of the
    blocks stream; their markers in the events and annotations streams; the footers'
    counts.

In both, the slot stays in the list of wearers (a slot is not a person, and a replay
keeps the show's layout of voices), with nothing recorded of it. What was removed,
and when, is written to the recording's log: ``log.txt`` in a recording folder,
``NAME-log.txt`` beside ``NAME.xdf`` (:meth:`Recording.beside`). A report drawn
before (``report.png``, ``NAME-report.png``) showed the wearer: it is deleted.

A recording being written (a show records into it now) is refused.
"""

from __future__ import annotations

import csv
import json
import os
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from installation.record import xdf
from installation.record.consent import DEVICE_GRANT, OPERATOR_GRANT, is_slot
from installation.record.retention import is_our_recording
from installation.record.writer import FORMAT, being_written
from installation.record.xdf_writer import (ANNOTATIONS_SOURCE_ID, BLOCKS_SOURCE_ID, EVENTS_SOURCE_ID,
                                            write_xdf_file)

#: Operator actions whose value is a slot: removed with that wearer.
SLOT_VALUED_KINDS = ("operator.rebaseline", OPERATOR_GRANT, DEVICE_GRANT)
LOG_NAME = "log.txt"
REPORT_NAME = "report.png"


class ForgetError(ValueError):
    """A path that is not a recording, a wearer it does not have, or a recording being written."""


@dataclass(slots=True)
class Forgotten:
    """What was removed from one recording.

    Attributes
    ----------
    path : Path
        The recording (folder or ``.xdf`` file).
    wearers : list of str
        The slots removed.
    samples, events, blocks : int
        Samples, events (rows or markers) and blocks removed.
    files : list of str
        One line per file touched: its name and what was removed from it.
    """

    path: Path
    wearers: list[str]
    samples: int = 0
    events: int = 0
    blocks: int = 0
    files: list[str] = field(default_factory=list)


# ---- finding recordings ----------------------------------------------------------------------
def is_recording(path: Path) -> bool:
    """A recording folder (``meta.json`` of ours) or an ``.xdf`` file of ours, whatever its name."""
    if path.is_dir():
        try:
            meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            return False
        return isinstance(meta, dict) and meta.get("format") == FORMAT
    if path.is_file() and path.suffix.lower() == ".xdf":
        return is_our_recording(path) or _xdf_is_ours(path)
    return False


def _xdf_is_ours(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.read(65536)
    except OSError:
        return False
    return head.startswith(xdf.MAGIC) and b"<eco_symphony>" in head and FORMAT.encode() in head


def find_recordings(path: Path) -> list[Path]:
    """``path`` itself when it is a recording, else the recordings directly in it (folder), sorted.

    Raises
    ------
    ForgetError
        ``path`` does not exist, or is neither a recording nor a folder holding one.
    """
    if not path.exists():
        raise ForgetError(f"{path}: no such file or folder")
    if is_recording(path):
        return [path]
    if path.is_dir():
        found = sorted(p for p in path.iterdir() if is_recording(p))
        if found:
            return found
        raise ForgetError(f"{path}: not a recording, and holds none (a recording is a folder with meta.json, "
                          "samples.csv and events.csv, or an .xdf file, made by --record or [record])")
    raise ForgetError(f"{path}: not a recording (a recording is a folder with meta.json, samples.csv and "
                      "events.csv, or an .xdf file, made by --record or [record])")


def recording_wearers(path: Path) -> list[str]:
    """The slots a recording lists (``meta.json``'s ``wearers``, the XDF header's)."""
    if path.is_dir():
        meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
        return [str(w) for w in meta.get("wearers") or []]
    chunks, _ = _read_xdf(path)
    header = next((c for c in chunks if c.tag == xdf.TAG_FILE_HEADER), None)
    if header is None:
        raise ForgetError(f"{path}: an XDF file without a file header")
    root = _xml(path, header.content)
    return [e.text or "" for e in root.findall("eco_symphony/wearers/wearer")]


def check_wearers(wearers: Sequence[str]) -> list[str]:
    """The asked slots, checked to be slot ids (``p1``, ``p2``, ...), without repeats.

    Raises
    ------
    ForgetError
        One is not a slot id.
    """
    out: list[str] = []
    for w in wearers:
        if not is_slot(w):
            raise ForgetError(f"--wearer {w!r}: a wearer is named by slot (p1, p2, ...), as recordings name them")
        if w not in out:
            out.append(w)
    if not out:
        raise ForgetError("give at least one --wearer (p1, p2, ...)")
    return out


# ---- the command ------------------------------------------------------------------------------
def forget(path: Path, wearers: Sequence[str], progress: Callable[[str], None] = lambda _: None,
           now_s: float | None = None) -> list[Forgotten]:
    """Remove ``wearers`` from the recording at ``path``, or from every recording in the folder ``path``.

    Parameters
    ----------
    path : Path
        A recording folder, an ``.xdf`` recording, or a folder of recordings.
    wearers : sequence of str
        Slots (``p3``).
    progress : callable
        Told one line per file rewritten, and per recording left alone.
    now_s : float, optional
        The time written into the log (seconds since the epoch; default: now).

    Raises
    ------
    ForgetError
        Not a recording, a wearer that no recording at ``path`` has, or (a single
        recording) one being written.
    OSError
        A file could not be written (the old one is still whole).
    """
    slots = check_wearers(wearers)
    recordings = find_recordings(path)
    single = len(recordings) == 1 and recordings[0] == path
    plan: list[tuple[Path, list[str]]] = []
    for rec in recordings:
        try:
            listed = recording_wearers(rec)
        except (OSError, ValueError) as exc:
            if single:
                raise ForgetError(f"{rec}: cannot read: {exc}") from None
            progress(f"{rec}: skipped, cannot be read: {exc}")
            continue
        present = [w for w in slots if w in listed]
        missing = [w for w in slots if w not in listed]
        if single and missing:
            raise ForgetError(f"{rec}: no wearer {', '.join(missing)} in this recording (its wearers: "
                              f"{', '.join(listed) or 'none'})")
        if not present:
            progress(f"{rec}: no {', '.join(slots)} in it; left as it is")
            continue
        plan.append((rec, present))
    if not plan:
        raise ForgetError(f"{path}: no recording in it has wearer {', '.join(slots)}")
    done: list[Forgotten] = []
    busy: list[Path] = []
    for rec, present in plan:
        if being_written(rec / "samples.csv" if rec.is_dir() else rec):
            if single:
                raise ForgetError(f"{rec}: being written right now (a show is recording into it); "
                                  "forget the wearer once the show has stopped")
            progress(f"{rec}: skipped, being written right now (a show is recording into it)")
            busy.append(rec)
            continue
        done.append(forget_folder(rec, present, progress, now_s) if rec.is_dir()
                    else forget_xdf(rec, present, progress, now_s))
    if busy and not done:
        raise ForgetError(f"{path}: every recording with {', '.join(slots)} is being written right now")
    return done


# ---- a recording folder ------------------------------------------------------------------------
def forget_folder(folder: Path, wearers: Sequence[str], progress: Callable[[str], None] = lambda _: None,
                  now_s: float | None = None) -> Forgotten:
    """Remove ``wearers`` from a recording folder (see the module's text)."""
    gone = set(wearers)
    result = Forgotten(folder, list(wearers))
    removed_blocks: set[str] = set()

    def keep_sample(line: str) -> bool:
        fields = line.split(",", 3)
        if len(fields) >= 4 and fields[2] in gone:
            removed_blocks.add(fields[1])
            return False
        return True

    samples_path = folder / "samples.csv"
    result.samples, cut = _rewrite_lines(samples_path, keep_sample)
    result.blocks = len(removed_blocks)
    result.files.append(f"samples.csv: {result.samples} samples ({result.blocks} blocks) removed"
                        + (" (a last line cut short by a crash was dropped)" if cut else ""))
    progress(f"{samples_path}: {result.files[-1].partition(': ')[2]}")

    def keep_event(line: str) -> bool:
        rows = list(csv.reader([line]))
        if not rows or len(rows[0]) < 4:
            return True  # not a row of ours to judge: left as it was
        _, wearer, kind, value = rows[0][:4]
        return wearer not in gone and not (kind in SLOT_VALUED_KINDS and value in gone)

    events_path = folder / "events.csv"
    result.events, cut = _rewrite_lines(events_path, keep_event)
    result.files.append(f"events.csv: {result.events} events removed"
                        + (" (a last line cut short by a crash was dropped)" if cut else ""))
    progress(f"{events_path}: {result.files[-1].partition(': ')[2]}")

    meta_path = folder / "meta.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    counts = meta.get("counts")
    if isinstance(counts, dict):
        for key, less in (("samples", result.samples), ("events", result.events), ("blocks", result.blocks)):
            if isinstance(counts.get(key), int):
                counts[key] = max(0, counts[key] - less)
    meta.setdefault("forgotten", [])
    for w in wearers:
        meta["forgotten"].append({"wearer": w, "at": _stamp(now_s)})
    _replace(meta_path, [json.dumps(meta, indent=2) + "\n"])
    progress(f"{meta_path}: counts updated, forgotten: {', '.join(wearers)}")
    _finish(folder / REPORT_NAME, folder / LOG_NAME, result, progress, now_s)
    return result


def _rewrite_lines(path: Path, keep: Callable[[str], bool]) -> tuple[int, bool]:
    """Rewrite a CSV file with the header and the lines ``keep`` says; returns (lines removed, whether a
    cut last line was dropped). A last line without its line end (cut short by a crash: the reader skips
    it anyway) is dropped, whoever's it was: its wearer, or its numbers, cannot be trusted."""
    removed, cut = 0, False

    def lines() -> Iterable[str]:
        nonlocal removed, cut
        with open(path, encoding="utf-8", newline="") as src:
            header = src.readline()
            if not header.endswith("\n"):
                raise ForgetError(f"{path}: line 1: no header line")
            yield header
            for line in src:
                if not line.endswith("\n"):
                    cut = True
                elif keep(line):
                    yield line
                else:
                    removed += 1

    try:
        _replace(path, lines())
    except FileNotFoundError:
        raise ForgetError(f"{path}: missing (a recording folder has meta.json, samples.csv and events.csv)") from None
    return removed, cut


# ---- an XDF file --------------------------------------------------------------------------------
def forget_xdf(path: Path, wearers: Sequence[str], progress: Callable[[str], None] = lambda _: None,
               now_s: float | None = None) -> Forgotten:
    """Remove ``wearers`` from an ``.xdf`` recording (see the module's text)."""
    gone = set(wearers)
    result = Forgotten(path, list(wearers))
    chunks, cut = _read_xdf(path)
    infos: dict[int, xdf.StreamInfo] = {}
    for c in chunks:
        if c.tag == xdf.TAG_STREAM_HEADER and c.stream_id is not None:
            infos[c.stream_id] = xdf.parse_stream_info(c.content.decode("utf-8", errors="replace"))
    role = {info.source_id: sid for sid, info in infos.items()}
    events_id, blocks_id, notes_id = role.get(EVENTS_SOURCE_ID), role.get(BLOCKS_SOURCE_ID), role.get(ANNOTATIONS_SOURCE_ID)
    dropped = {sid for sid, info in infos.items()
               if sid not in (events_id, blocks_id, notes_id)
               and (str(info.desc.get("wearer", "")) in gone or info.name.partition(".")[0] in gone
                    or any(info.source_id.startswith(f"eco-symphony/{w}/") for w in gone))}
    kept_rows = {events_id: 0, blocks_id: 0, notes_id: 0}
    spans: dict[int | None, list[float]] = {events_id: [], blocks_id: [], notes_id: []}
    out: list[xdf.Chunk | bytes] = []
    streams_dropped: list[str] = []
    for c in chunks:
        sid = c.stream_id
        if sid in dropped:
            if c.tag == xdf.TAG_SAMPLES:
                result.samples += xdf.read_varlen(c.content, 0)[0]
            elif c.tag == xdf.TAG_STREAM_HEADER:
                streams_dropped.append(infos[sid].name)  # type: ignore[index]
            continue
        if c.tag == xdf.TAG_SAMPLES and sid == blocks_id:
            times, values = xdf.decode_samples(c.content, 2, "int32")
            rows = np.asarray(values)
            keep = ~np.isin(rows[:, 0], list(dropped)) if rows.size else np.zeros(0, dtype=bool)
            result.blocks += int(keep.size - keep.sum())
            if keep.any():
                out.append(xdf.samples_chunk(sid, times[keep], rows[keep], "int32"))
                kept_rows[sid] += int(keep.sum())
                spans[sid] += [float(times[keep][0]), float(times[keep][-1])]
            continue
        if c.tag == xdf.TAG_SAMPLES and sid in (events_id, notes_id):
            info = infos[sid]  # type: ignore[index]
            times, values = xdf.decode_samples(c.content, info.channel_count, "string")
            marks = [list(v) for v in values]  # type: ignore[union-attr]
            keep_list = [not _marker_is_about(m, gone) for m in marks]
            if sid == events_id:
                result.events += keep_list.count(False)
            keep = np.array(keep_list, dtype=bool)
            if keep.any():
                out.append(xdf.samples_chunk(sid, times[keep], [m for m, k in zip(marks, keep_list) if k], "string"))
                kept_rows[sid] += int(keep.sum())
                spans[sid] += [float(times[keep].min()), float(times[keep].max())]
            continue
        if c.tag == xdf.TAG_STREAM_FOOTER and sid in (events_id, blocks_id, notes_id):
            out.append(xdf.stream_footer_chunk(sid, _footer(path, c.content, kept_rows[sid], spans[sid],  # type: ignore[arg-type]
                                                            result if sid == events_id else None)))
            continue
        out.append(c)
    write_xdf_file(path, out)
    _sync_folder(path.parent)
    result.files.append(f"{path.name}: {len(streams_dropped)} streams ({', '.join(streams_dropped) or 'none'}), "
                        f"{result.samples} samples, {result.blocks} blocks, {result.events} events removed"
                        + (f" ({cut}: the cut end was dropped)" if cut else ""))
    progress(f"{path}: {result.files[-1].partition(': ')[2]}")
    _finish(path.with_name(f"{path.stem}-{REPORT_NAME}"), path.with_name(f"{path.stem}-{LOG_NAME}"),
            result, progress, now_s)
    return result


def _marker_is_about(marker: list[str], gone: set[str]) -> bool:
    """True for an events or annotations marker of a wearer in ``gone`` (``p3.heart.beat``), or an
    operator's action about one (``operator.rebaseline`` / ``p3``, or the annotation ``operator.rebaseline p3``)."""
    text = marker[0] if marker else ""
    if text.partition(".")[0] in gone:
        return True
    if len(marker) >= 2:
        return text in SLOT_VALUED_KINDS and marker[1] in gone
    kind, _, value = text.partition(" ")
    return kind in SLOT_VALUED_KINDS and value in gone


def _footer(path: Path, content: bytes, count: int, span: list[float], result: Forgotten | None) -> str:
    """A StreamFooter's XML with its sample count (and first / last time stamp, and for the events
    stream the recording's counts) brought up to date."""
    root = _xml(path, content)
    for tag, text in (("sample_count", str(count)),
                      ("first_timestamp", repr(min(span)) if span else ""),
                      ("last_timestamp", repr(max(span)) if span else "")):
        element = root.find(tag)
        if element is not None:
            element.text = text
    summary = root.find("eco_symphony")
    if result is not None and summary is not None:
        for tag, less in (("samples", result.samples), ("events", result.events), ("blocks", result.blocks)):
            element = summary.find(tag)
            if element is not None and (element.text or "").isdigit():
                element.text = str(max(0, int(element.text or 0) - less))
    return xdf.xml_text(root)


def _read_xdf(path: Path) -> tuple[list[xdf.Chunk], str | None]:
    try:
        return xdf.read_chunks(path.read_bytes())
    except xdf.XdfFormatError as exc:
        raise ForgetError(f"{path}: {exc}") from None


def _xml(path: Path, content: bytes) -> ET.Element:
    try:
        return ET.fromstring(content.decode("utf-8", errors="replace"))
    except ET.ParseError as exc:
        raise ForgetError(f"{path}: a header or footer is not XML: {exc}") from None


# ---- both ----------------------------------------------------------------------------------------
def _finish(report: Path, log_path: Path, result: Forgotten, progress: Callable[[str], None],
            now_s: float | None) -> None:
    """Delete a report that showed the wearer, then write what was removed into the recording's log."""
    if report.is_file():
        report.unlink()
        result.files.append(f"{report.name}: deleted (it showed {', '.join(result.wearers)}; "
                            "ecosymphony report draws it again)")
        progress(f"{report}: deleted (it showed {', '.join(result.wearers)})")
    old = log_path.read_text(encoding="utf-8") if log_path.is_file() else ""
    lines = [f"{_stamp(now_s)} forget {', '.join(result.wearers)}: {line}\n" for line in result.files]
    _replace(log_path, [old, *lines])
    progress(f"{log_path}: what was removed, and when")


def _stamp(now_s: float | None) -> str:
    """A wall-clock time as ISO 8601 with its UTC offset."""
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(time.time() if now_s is None else now_s))


def _replace(path: Path, parts: Iterable[str]) -> None:
    """Write ``parts`` into ``NAME.tmp`` beside ``path``, sync it, rename it over ``path``, sync the folder."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            for part in parts:
                f.write(part)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)
    _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
