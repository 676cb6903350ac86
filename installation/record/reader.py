"""Loading a recording folder (see :mod:`installation.record.writer` for the format) into numpy arrays.

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

from installation.record.writer import EVENT_COLUMNS, FORMAT, FORMAT_VERSION, SAMPLE_COLUMNS
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
        Where it is.
    meta : dict
        ``meta.json``.
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
    """Load a recording folder.

    Raises
    ------
    RecordingFormatError
        Not a recording folder, or a damaged file (naming the file and line).
    """
    root = Path(folder)
    if not root.is_dir():
        raise RecordingFormatError(f"{root}: not a folder (a recording is a folder made by --record or [record])")
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
