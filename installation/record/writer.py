"""Writing a whole-show recording to a folder, incrementally, from the session's threads.

A recording is a folder ``<DIR>/<mode>-YYYYmmdd-HHMMSS/`` holding:

``show.toml``
    The show file's text as it was when the show started.
``meta.json``
    ``format`` (``"eco-symphony recording"``), ``format_version``, ``mode``
    (``run``/``rehearse``), ``started_at`` (wall clock, ISO 8601 with its UTC
    offset), ``show_file`` (the show file's name) and ``show_path`` (where it was,
    so that its sound patch can be found again), ``wearers`` (slot ids), ``sources``
    (their names), the column names of both CSV files, and at close ``complete``,
    ``duration_s``, ``counts`` (blocks, samples, events, dropped samples) and
    ``failed`` (why writing stopped, or null). A show that crashed leaves
    ``complete: false``.
``samples.csv``
    One row per raw sample, columns :data:`SAMPLE_COLUMNS`: ``arrival_s`` (seconds
    since the recording began, on the session's monotonic clock, when the sample's
    block reached the program), ``block`` (the block's number, counting from 0 in
    the order blocks arrived: replay rebuilds the exact blocks from it),
    ``wearer`` (slot id, never a name), ``signal`` (``ppg``, ``ecg``, ``eda``,
    ``bpm``, ``ibi``), ``unit``, ``rate_hz`` (nominal sampling rate),
    ``time_s`` (the sample's own time, on the source's clock) and ``value``.
    Numbers are written exactly (shortest round-trip form).
``events.csv``
    Columns :data:`EVENT_COLUMNS` (``time_s,wearer,kind,value``): see
    :func:`event_fields`.

While a show writes it, the recorder holds an exclusive lock (``flock``) on
``samples.csv`` (an XDF recording: on its file), so that other tools can tell a
recording being written (:func:`being_written`); the lock goes when the show's
process does, however it ends.

Both CSV files only grow; a writer thread appends what the reader and core threads
handed over and flushes it to the disk (``flush`` + ``os.fsync``) every
:data:`FLUSH_PERIOD_S`, so a crash or power cut loses at most that much. Any
``OSError`` (disk full, file too large, folder removed) stops the recording with one
logged error naming the folder and the reason; the show goes on
(:attr:`Recorder.failed` says why).
"""

from __future__ import annotations

import csv
import fcntl
import io
import json
import logging
import math
import os
import threading
import time
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from installation.sensors.base import SampleBlock

log = logging.getLogger(__name__)

FORMAT = "eco-symphony recording"
FORMAT_VERSION = 1
#: Columns of ``samples.csv``.
SAMPLE_COLUMNS = ("arrival_s", "block", "wearer", "signal", "unit", "rate_hz", "time_s", "value")
#: Columns of ``events.csv`` (and of ``ecosymphony replay --events``).
EVENT_COLUMNS = ("time_s", "wearer", "kind", "value")
#: The core's events a recording keeps (with the wearer); the others are the scenes'
#: (``scene``) and the operator's (``operator.*``, re-applied on replay), with no wearer.
RECORDED_EVENTS = ("heart.beat", "eda.scr")
FLUSH_PERIOD_S = 0.5  # written and synced to the disk this often: a crash loses at most this
MAX_PENDING_SAMPLES = 5_000_000  # samples waiting for the disk before new ones are dropped (and counted)


class RecordSink(Protocol):
    """What the session hands its recording to (a :class:`Recorder`, or the replay's event log)."""

    def start(self, start_s: float, wearers: Sequence[str], sources: Sequence[str]) -> None:
        """Begin; ``start_s`` is the session clock's time (seconds) that becomes the recording's time 0."""
        ...

    def samples(self, blocks: Sequence[SampleBlock]) -> None:
        """Blocks just read by a reader thread (thread-safe, cheap)."""
        ...

    def event(self, time_s: float, wearer: str, kind: str, value: object) -> None:
        """One event at ``time_s`` seconds on the session's clock (thread-safe)."""
        ...

    def stop(self, stop_s: float) -> None:
        """Write what is left and close; ``stop_s``: the session clock's time in seconds."""
        ...


def hold_lock(fd: int) -> None:
    """Hold an exclusive advisory lock on an open file for as long as it stays open (a file
    system without locks: nothing is held, and :func:`being_written` cannot tell)."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        pass


def being_written(path: Path) -> bool:
    """True when a recorder (of this or another process) holds ``path`` locked: a show is recording into it."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)  # also lets go of the lock taken here
    return False


def _text(value: str) -> str:
    """A CSV-safe one-line text (commas and quotes are left to the csv module)."""
    return " ".join(str(value).split())


def format_value(value: object) -> str:
    """An event's value as written: numbers to 6 significant digits (NaN: empty), booleans 1/0, text on one line."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.6g}" if math.isfinite(value) else ""
    return _text("" if value is None else str(value))


def event_fields(time_s: float, wearer: str, kind: str, value: object) -> tuple[str, str, str, str]:
    """One ``events.csv`` row.

    ``time_s``: seconds since the recording began, to the microsecond (for a beat or
    an SCR: its peak, dated back from the arrival of the block that confirmed it);
    ``wearer``: the slot for ``heart.beat`` (value: heart rate, bpm) and ``eda.scr``
    (value: amplitude, in the EDA's unit), empty for ``scene`` (value: the scene now
    playing) and the operator's ``operator.scene`` (value: the scene name, or
    ``key N``), ``operator.panic`` (1 muted, 0 not, ``toggle``), ``operator.blackout``
    (1/0), ``operator.rebaseline`` (the slot, or ``all``) and ``operator.mark`` (its label).
    """
    return f"{time_s:.6f}", _text(wearer), _text(kind), format_value(value)


def csv_lines(rows: Sequence[Sequence[str]]) -> str:
    """Rows as CSV text (quoted where needed, ``\\n`` line ends)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerows(rows)
    return out.getvalue()


def _safe(text: str) -> str:
    return text.replace(",", "_").replace('"', "_").replace("\n", "_")


def sample_lines(seq: int, block: SampleBlock, start_s: float) -> str:
    """One block's rows of ``samples.csv`` (exact numbers)."""
    head = (f"{float(block.arrival_s - start_s)!r},{seq},{_safe(block.wearer)},{_safe(block.signal)},"
            f"{_safe(block.unit)},{float(block.sampling_rate_hz)!r},")
    times = map(repr, np.asarray(block.times_s, dtype=float).tolist())
    values = map(repr, np.asarray(block.values, dtype=float).tolist())
    return "".join(f"{head}{t},{v}\n" for t, v in zip(times, values))


class Recorder:
    """Records a show into ``folder`` (made at :meth:`start`).

    Parameters
    ----------
    folder : Path
        The recording's folder (see :func:`installation.folders.stamped_folder`); must not exist yet.
    show_text : str
        The show file's text, saved as ``show.toml``.
    mode : str
        ``"run"`` or ``"rehearse"`` (kept in ``meta.json``).
    show_path : Path, optional
        Where the show file was, so that a replay finds its sound patch.
    flush_period_s : float
        Seconds between writes to the disk (each flushed and synced).

    Attributes
    ----------
    failed : str or None
        Why the recording stopped early (a disk error), else None.
    dropped_samples : int
        Samples not recorded because the disk fell behind by more than
        :data:`MAX_PENDING_SAMPLES`, or that came after a failure.
    """

    def __init__(self, folder: Path, show_text: str, mode: str = "run", show_path: Path | None = None,
                 flush_period_s: float = FLUSH_PERIOD_S) -> None:
        self.folder = Path(folder)
        self.show_text = show_text
        self.mode = mode
        self.show_path = show_path
        self.flush_period_s = flush_period_s
        self.failed: str | None = None
        self.dropped_samples = 0
        self.blocks = 0  # blocks handed over
        self.samples_written = 0
        self.events_written = 0
        self._lock = threading.Lock()
        self._pending_blocks: list[tuple[int, SampleBlock]] = []
        self._pending_samples = 0
        self._pending_events: list[tuple[str, str, str, str]] = []
        self._start_s = 0.0
        self._meta: dict[str, object] = {}
        self._files: list[io.TextIOWrapper] = []
        self._running = False
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._io_lock = threading.Lock()  # one writer at a time (the thread, then stop())

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop` while nothing failed."""
        return self._running and self.failed is None

    # ---- lifecycle -------------------------------------------------------------
    def start(self, start_s: float, wearers: Sequence[str], sources: Sequence[str]) -> None:
        """Make the folder and its files, and start the writer thread (a failure is logged, not raised)."""
        self._start_s = start_s
        self._meta = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "mode": self.mode,
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "show_file": self.show_path.name if self.show_path else "show.toml",
            "show_path": str(self.show_path) if self.show_path else None,
            "wearers": list(wearers),
            "sources": list(sources),
            "samples_columns": list(SAMPLE_COLUMNS),
            "events_columns": list(EVENT_COLUMNS),
            "complete": False,
            "duration_s": None,
            "counts": None,
            "failed": None,
        }
        try:
            self.folder.mkdir(parents=True, exist_ok=False)
            (self.folder / "show.toml").write_text(self.show_text, encoding="utf-8")
            self._write_meta()
            for name, columns in (("samples.csv", SAMPLE_COLUMNS), ("events.csv", EVENT_COLUMNS)):
                f = open(self.folder / name, "w", encoding="utf-8", newline="")
                self._files.append(f)
                f.write(",".join(columns) + "\n")
            hold_lock(self._files[0].fileno())
            self._sync()
        except OSError as exc:
            self._fail(exc)
            return
        self._run_writer()

    def stop(self, stop_s: float) -> None:
        """Write everything left, close the files and mark the recording complete in ``meta.json``."""
        if not self._drain():
            return
        self._close_files()
        self._meta.update(
            complete=self.failed is None,
            duration_s=round(stop_s - self._start_s, 6),
            counts={"blocks": self.blocks, "samples": self.samples_written, "events": self.events_written,
                    "dropped_samples": self.dropped_samples},
            failed=self.failed,
        )
        try:
            self._write_meta()
        except OSError as exc:
            self._fail(exc)

    def _run_writer(self) -> None:
        """Start the writer thread (the files are open)."""
        self._running = True
        self._thread = threading.Thread(target=self._writer_loop, name="recorder", daemon=True)
        self._thread.start()

    def _drain(self) -> bool:
        """Stop the writer thread and write what it left; False (the files closed) when it was not running."""
        if not self._running:
            self._close_files()
            return False
        self._running = False
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10.0)
        self._flush()
        return True

    # ---- from the session's threads --------------------------------------------
    def samples(self, blocks: Sequence[SampleBlock]) -> None:
        """Hand over blocks just read (any thread; a copy of each, appended under a lock)."""
        if not blocks:
            return
        if not self.running:
            if self.failed is not None:
                with self._lock:
                    self.dropped_samples += sum(b.values.size for b in blocks)
            return
        with self._lock:
            for block in blocks:
                n = block.values.size
                if self._pending_samples + n > MAX_PENDING_SAMPLES:
                    self.dropped_samples += n
                    continue
                copy = SampleBlock(block.wearer, block.signal, np.array(block.times_s, dtype=float),
                                   np.array(block.values, dtype=float), block.unit, block.arrival_s,
                                   block.sampling_rate_hz, block.origin)
                self._pending_blocks.append((self.blocks, copy))
                self.blocks += 1
                self._pending_samples += n

    def event(self, time_s: float, wearer: str, kind: str, value: object) -> None:
        """Record one event at ``time_s`` (seconds, session clock); any thread."""
        if not self.running:
            return
        row = event_fields(time_s - self._start_s, wearer, kind, value)
        with self._lock:
            self._pending_events.append(row)

    # ---- the writer thread -----------------------------------------------------
    def _writer_loop(self) -> None:
        while self._running and self.failed is None:
            self._wake.wait(self.flush_period_s)
            if not self._running:
                break
            self._flush()

    def _flush(self) -> None:
        with self._io_lock:
            if self.failed is not None or not self._files:
                return
            with self._lock:
                blocks, self._pending_blocks = self._pending_blocks, []
                events, self._pending_events = self._pending_events, []
                self._pending_samples = 0
            try:
                if not self.folder.is_dir():
                    raise FileNotFoundError(2, "the folder was removed", str(self.folder))
                samples_file, events_file = self._files
                if blocks:
                    samples_file.write("".join(sample_lines(seq, b, self._start_s) for seq, b in blocks))
                if events:
                    events_file.write(csv_lines(events))
                self._sync()
            except OSError as exc:
                self.dropped_samples += sum(b.values.size for _, b in blocks)
                self._fail(exc)
                return
            self.samples_written += sum(b.values.size for _, b in blocks)
            self.events_written += len(events)

    def _sync(self) -> None:
        for f in self._files:
            f.flush()
            os.fsync(f.fileno())

    def _write_meta(self) -> None:
        tmp = self.folder / "meta.json.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(self._meta, f, indent=2)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.folder / "meta.json")

    def _fail(self, exc: OSError) -> None:
        if self.failed is not None:
            return
        reason = exc.strerror or str(exc)
        self.failed = reason
        log.error("recording stopped: cannot write to %s: %s; the show goes on", self.folder, reason)
        self._close_files()

    def _close_files(self) -> None:
        files, self._files = self._files, []
        for f in files:
            try:
                f.close()
            except OSError:
                pass  # the data that could be written was; the reason is already logged
