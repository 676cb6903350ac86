"""Writing a whole-show recording as one XDF file (``[record] format = "xdf"``), incrementally.

The file ``<DIR>/<mode>-YYYYmmdd-HHMMSS.xdf`` holds, as XDF streams
(:mod:`installation.record.xdf` encodes the chunks):

stream 1, ``eco-symphony events`` (type ``Markers``, two string channels ``event`` and ``value``)
    Every event of ``events.csv``, time-stamped on the recording's clock: beats
    (``p1.heart.beat``, value: bpm) and SCRs (``p1.eda.scr``, value: amplitude), each at
    its peak; scene changes (``scene``) and the operator's actions (``operator.scene``,
    ``operator.panic``, ``operator.blackout``, ``operator.rebaseline``, ``operator.mark``).
stream 2, ``eco-symphony blocks`` (type ``eco-symphony.blocks``, int32 channels ``stream`` and ``samples``)
    One sample per block of samples as it reached the program, stamped with its
    arrival time: which stream it belongs to and how many samples it held. A replay
    rebuilds the exact blocks from it; other tools can ignore it.
stream 3, ``eco-symphony annotations`` (type ``Markers``, one string channel ``event``)
    The same events, one string each (``p1.heart.beat``, ``scene swarm``, ``operator.mark
    doors open``): tools that take only one-channel streams as markers (MNE's XDF readers)
    make annotations of these; a beat's or an SCR's value is left out so that they group.
streams 4, 5, ... one per wearer and signal (``p1.ppg``, ``p1.eda``, ``p1.acc_x``, ``p1.bpm``, ...)
    The raw samples with their own time stamps (the source's clock) as ``double64``;
    the header gives the type (``PPG``, ``ECG``, ``EDA``, ``HR``, ``IBI``, ``ACC``), the
    nominal rate, ``desc/channels/channel`` (label, unit, type) and ``desc/wearer``
    (the slot id, never a name) and ``desc/signal``. A wearer heard from a hub
    (``kind = "lsl"`` with ``hubs``) also has ``desc/hub`` (the hub's name) and
    ``desc/lsl``: the hub stream's ``source_id`` and ``hostname`` and LSL's
    ``clock_offset_s`` to the hub when the stream began; the footer lists every offset
    the conductor applied (``lsl_clock_offsets/offset/time,value``: when, on the
    recording's clock, and the offset, seconds).

ClockOffset chunks say, for each stream, how far its clock is from the recording's
(the session's monotonic clock, the one LSL's ``local_clock`` reads on Linux):
the smallest ``arrival - time of the block's last sample`` over each
:data:`OFFSET_PERIOD_S` (the offset plus the shortest transport delay, as beats are
dated), written at a stream's first block, then every period and at the end; the
events and blocks streams are on the recording's clock (offsets of 0 at the start
and the end). Samples that came through an LSL inlet already had LSL's own clock
correction applied there (``desc/lsl/clock_offset_s``, not a ClockOffset chunk: pyxdf
would add it a second time), so their offset is only the delay. pyxdf's
``load_xdf`` (``synchronize_clocks=True``, its default) applies them and puts
every stream on the markers' timeline.

The FileHeader carries the recording's meta-data (mode, start time, the show file's
name and where it was, wearer slots, sources) and the show file's text; the events
stream's footer says at the end whether the recording closed cleanly, its duration
and its counts.

A writer thread appends what the reader and core threads handed over every
:data:`~installation.record.writer.FLUSH_PERIOD_S`, as whole chunks in one write, then
``fsync``: a show killed at any moment leaves a file that pyxdf loads up to the last
chunk written (it has no footers then); a Boundary chunk every
:data:`BOUNDARY_PERIOD_S` lets readers find their way past damage.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from installation.record import xdf
from installation.record.writer import FLUSH_PERIOD_S, FORMAT, FORMAT_VERSION, Recorder, format_value, hold_lock
from installation.sensors.base import BlockOrigin, SampleBlock

OFFSET_PERIOD_S = 5.0  # a ClockOffset per stream this often (LabRecorder's interval)
BOUNDARY_PERIOD_S = 10.0  # a Boundary chunk this often (LabRecorder's interval)
EVENTS_STREAM_ID = 1
BLOCKS_STREAM_ID = 2
ANNOTATIONS_STREAM_ID = 3
FIRST_SIGNAL_STREAM_ID = 4
ANNOTATIONS_SOURCE_ID = "eco-symphony/annotations"
_OWN_STREAMS = (EVENTS_STREAM_ID, BLOCKS_STREAM_ID, ANNOTATIONS_STREAM_ID)
#: Events whose value is a measurement (left out of the one-channel annotations, so that they group by name).
MEASURED_EVENTS = ("heart.beat", "eda.scr")
EVENTS_SOURCE_ID = "eco-symphony/events"
BLOCKS_SOURCE_ID = "eco-symphony/blocks"
#: Our signal kinds -> XDF content type (the names LSL streams of them use; see ``LSL_TYPES``).
SIGNAL_TYPES = {"ppg": "PPG", "ecg": "ECG", "eda": "EDA", "bpm": "HR", "ibi": "IBI",
                "acc": "ACC", "acc_x": "ACC", "acc_y": "ACC", "acc_z": "ACC"}


def signal_stream_info(wearer: str, signal: str, unit: str, rate_hz: float, name: str,
                       origin: BlockOrigin | None = None) -> xdf.StreamInfo:
    """The header of one wearer's signal: type, channel label/unit/type, rate, ``desc/wearer`` and ``desc/signal``
    (and, for a wearer heard from a hub, ``desc/hub`` and ``desc/lsl``: :func:`origin_desc`)."""
    kind = SIGNAL_TYPES.get(signal, signal.upper())
    channel = xdf.Channel(signal.upper(), unit, kind)
    desc: dict[str, object] = {"wearer": wearer, "signal": signal}
    if origin is not None:
        desc.update(origin_desc(origin))
    return xdf.StreamInfo(name, kind, "double64", float(rate_hz), (channel,), f"eco-symphony/{wearer}/{signal}", desc)


def origin_desc(origin: BlockOrigin) -> dict[str, object]:
    """The ``desc`` items of a stream heard from a hub: ``hub``, and ``lsl`` (source id, host name, clock offset)."""
    return {"hub": origin.hub, "lsl": {"source_id": origin.source_id, "hostname": origin.hostname,
                                       "clock_offset_s": repr(float(origin.clock_offset_s))}}


def events_stream_info() -> xdf.StreamInfo:
    """The marker stream's header."""
    return xdf.StreamInfo("eco-symphony events", "Markers", "string", 0.0,
                          (xdf.Channel("event", "", "Marker"), xdf.Channel("value", "", "Marker")), EVENTS_SOURCE_ID,
                          {"about": "beats (p1.heart.beat, value bpm), SCRs (p1.eda.scr, value amplitude), scene "
                                    "changes (scene) and operator actions (operator.*)"})


def annotations_stream_info() -> xdf.StreamInfo:
    """The header of the one-channel marker stream (what tools that take only such streams as
    markers, as MNE's XDF readers do, turn into annotations)."""
    return xdf.StreamInfo("eco-symphony annotations", "Markers", "string", 0.0, (xdf.Channel("event", "", "Marker"),),
                          ANNOTATIONS_SOURCE_ID,
                          {"about": "the events again, one string each: p1.heart.beat, p1.eda.scr (their values are in "
                                    "the events stream), scene NAME, operator.mark LABEL, operator.panic 1, ..."})


def annotation(address: str, value: str) -> str:
    """An event as one annotation: the address, then the value unless it is a measurement (a beat's rate)."""
    kind = address.partition(".")[2]
    return address if kind in MEASURED_EVENTS or not value else f"{address} {value}"


def blocks_stream_info() -> xdf.StreamInfo:
    """The header of the stream of blocks (arrival time, stream id, sample count)."""
    return xdf.StreamInfo("eco-symphony blocks", "eco-symphony.blocks", "int32", 0.0,
                          (xdf.Channel("stream", "", "id"), xdf.Channel("samples", "", "count")), BLOCKS_SOURCE_ID,
                          {"about": "one sample per block of samples as it reached the program, at its arrival "
                                    "time: its stream id and its number of samples (replay rebuilds the blocks)"})


def file_header_xml(meta: dict[str, object], start_s: float, show_text: str) -> str:
    """The FileHeader: XDF's version and date, then ``eco_symphony`` (meta-data and the show file's text)."""
    items = {k: v for k, v in meta.items() if k not in ("complete", "duration_s", "counts", "failed",
                                                           "samples_columns", "events_columns")}
    items["start_s"] = repr(float(start_s))
    items["show_toml"] = show_text
    root = xdf.xml_element("info", {"version": "1.0", "datetime": meta.get("started_at", "")})
    root.append(xdf.xml_element("eco_symphony", items))
    return xdf.xml_text(root)


@dataclass(slots=True)
class _Stream:
    """What the writer keeps about one stream."""

    stream_id: int
    info: xdf.StreamInfo
    first_s: float = math.nan
    last_s: float = math.nan
    count: int = 0
    offsets: list[tuple[float, float]] = field(default_factory=list)  # (collection time, offset) written
    window_offset_s: float = math.inf  # the smallest arrival - last sample time since the last offset written
    window_start_s: float = math.nan  # arrival time that began the window
    lsl_offsets: list[tuple[float, float]] = field(default_factory=list)  # (arrival, LSL clock offset) of a hub's blocks


class XdfRecorder(Recorder):
    """Records a show into one XDF file (made at :meth:`start`); the same interface as :class:`Recorder`.

    Parameters
    ----------
    path : Path
        The ``.xdf`` file to write; must not exist yet (its folder is made).
    show_text, mode, show_path, flush_period_s
        As for :class:`Recorder`.
    offset_period_s : float
        Seconds between a stream's ClockOffset chunks.

    Attributes
    ----------
    path : Path
        The file (also as ``folder``, so that what reports where a recording went works for both kinds).
    """

    def __init__(self, path: Path, show_text: str, mode: str = "run", show_path: Path | None = None,
                 flush_period_s: float = FLUSH_PERIOD_S, offset_period_s: float = OFFSET_PERIOD_S) -> None:
        super().__init__(path, show_text, mode, show_path, flush_period_s)
        self.path = self.folder
        self.offset_period_s = offset_period_s
        self._fd: int | None = None
        self._streams: dict[tuple[str, str, str, float], _Stream] = {}
        self._names: set[str] = set()
        self._events_raw: list[tuple[float, str, str]] = []
        self._events_last_s = math.nan
        self._events_first_s = math.nan
        self._blocks_first_s = math.nan
        self._blocks_last_s = math.nan
        self._block_rows = 0  # blocks written (empty ones are not)
        self._next_boundary_s = 0.0
        self._hostname = ""  # LSL's field, left empty: a machine's name can be a person's ("alices-laptop")

    # ---- lifecycle -------------------------------------------------------------
    def start(self, start_s: float, wearers: Sequence[str], sources: Sequence[str]) -> None:
        """Make the file, write its header and the headers of the events and blocks streams, start the writer thread."""
        self._start_s = start_s
        self._meta = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "container": "xdf",
            "mode": self.mode,
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "show_file": self.show_path.name if self.show_path else "show.toml",
            "show_path": str(self.show_path) if self.show_path else "",
            "wearers": list(wearers),
            "sources": list(sources),
        }
        head = (xdf.MAGIC + xdf.file_header_chunk(file_header_xml(self._meta, start_s, self.show_text))
                + xdf.stream_header_chunk(EVENTS_STREAM_ID, events_stream_info().xml(start_s, self._hostname))
                + xdf.stream_header_chunk(BLOCKS_STREAM_ID, blocks_stream_info().xml(start_s, self._hostname))
                + xdf.stream_header_chunk(ANNOTATIONS_STREAM_ID, annotations_stream_info().xml(start_s, self._hostname))
                + b"".join(xdf.clock_offset_chunk(i, start_s, 0.0) for i in _OWN_STREAMS))
        try:
            self.folder.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.folder, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            hold_lock(self._fd)  # while it is written (see writer.being_written)
            self._write(head)
        except OSError as exc:
            self._fail(exc)
            return
        self._next_boundary_s = time.monotonic() + BOUNDARY_PERIOD_S
        self._run_writer()

    def stop(self, stop_s: float) -> None:
        """Write everything left, each stream's last clock offset and its footer, and close the file."""
        if not self._drain():
            return
        with self._io_lock:
            if self.failed is not None or self._fd is None:
                return
            tail = [xdf.clock_offset_chunk(i, stop_s, 0.0) for i in _OWN_STREAMS]
            for stream in self._streams.values():
                if math.isfinite(stream.window_offset_s):
                    tail.append(self._offset_chunk(stream))
                elif stream.offsets:
                    collection_s, offset_s = stream.offsets[-1]
                    tail.append(xdf.clock_offset_chunk(stream.stream_id, stop_s - offset_s, offset_s))
            summary = {"complete": "true", "duration_s": repr(round(stop_s - self._start_s, 6)),
                       "blocks": str(self._block_rows), "samples": str(self.samples_written),
                       "events": str(self.events_written), "dropped_samples": str(self.dropped_samples)}
            tail.append(xdf.stream_footer_chunk(EVENTS_STREAM_ID, _footer_xml(
                self._events_first_s, self._events_last_s, self.events_written, [(self._start_s, 0.0), (stop_s, 0.0)],
                {"eco_symphony": summary})))
            tail.append(xdf.stream_footer_chunk(BLOCKS_STREAM_ID, _footer_xml(
                self._blocks_first_s, self._blocks_last_s, self._block_rows, [(self._start_s, 0.0), (stop_s, 0.0)])))
            tail.append(xdf.stream_footer_chunk(ANNOTATIONS_STREAM_ID, _footer_xml(
                self._events_first_s, self._events_last_s, self.events_written, [(self._start_s, 0.0), (stop_s, 0.0)])))
            for stream in self._streams.values():
                tail.append(xdf.stream_footer_chunk(stream.stream_id, _footer_xml(
                    stream.first_s, stream.last_s, stream.count, stream.offsets, lsl_offsets=stream.lsl_offsets)))
            try:
                self._write(b"".join(tail))
            except OSError as exc:
                self._fail(exc)
                return
        self._close_files()

    # ---- from the session's threads --------------------------------------------
    def event(self, time_s: float, wearer: str, kind: str, value: object) -> None:
        """Record one event at ``time_s`` (seconds, session clock); any thread."""
        if not self.running:
            return
        address = f"{wearer}.{kind}" if wearer else kind
        with self._lock:
            self._events_raw.append((float(time_s), " ".join(address.split()), format_value(value)))

    # ---- the writer thread -----------------------------------------------------
    def _flush(self) -> None:
        with self._io_lock:
            if self.failed is not None or self._fd is None:
                return
            with self._lock:
                blocks, self._pending_blocks = self._pending_blocks, []
                events, self._events_raw = self._events_raw, []
                self._pending_samples = 0
            try:
                data, samples = self._encode(blocks, events)
                if os.fstat(self._fd).st_nlink == 0:
                    raise FileNotFoundError(2, "the file was removed", str(self.folder))
                self._write(data)
            except OSError as exc:
                self.dropped_samples += sum(b.values.size for _, b in blocks)
                self._fail(exc)
                return
            self.samples_written += samples
            self.events_written += len(events)

    def _encode(self, blocks: list[tuple[int, SampleBlock]], events: list[tuple[float, str, str]]) -> tuple[bytes, int]:
        """The chunks for what was handed over (new streams' headers first), and how many samples they hold."""
        out: list[bytes] = []
        live = [b for _, b in blocks if b.values.size]
        streams = [self._stream_for(b, out) for b in live]
        groups: dict[int, list[int]] = {}
        for k, stream in enumerate(streams):
            groups.setdefault(stream.stream_id, []).append(k)
        arrivals = np.fromiter((b.arrival_s for b in live), dtype=float, count=len(live))
        lasts = np.fromiter((b.times_s[-1] for b in live), dtype=float, count=len(live))
        sizes = np.fromiter((b.values.size for b in live), dtype=np.int64, count=len(live))
        offsets: list[bytes] = []
        samples = 0
        for stream_id, ks in groups.items():
            stream = streams[ks[0]]
            items = [live[k] for k in ks]
            times = np.concatenate([b.times_s for b in items]).astype(float, copy=False)
            values = np.concatenate([b.values for b in items]).astype(float, copy=False)
            out.append(xdf.samples_chunk(stream_id, times, values))
            if stream.count == 0:
                stream.first_s = float(times[0])
            stream.last_s = float(times[-1])
            stream.count += times.size
            samples += times.size
            # the clock offset: the smallest arrival - last sample's time; written at the stream's first
            # flush, then once a window of offset_period_s is full
            idx = np.asarray(ks)
            if not math.isfinite(stream.window_start_s):
                stream.window_start_s = float(arrivals[idx[0]])
            stream.window_offset_s = min(stream.window_offset_s, float(np.min(arrivals[idx] - lasts[idx])))
            if not stream.offsets or float(arrivals[idx[-1]]) - stream.window_start_s >= self.offset_period_s:
                offsets.append(self._offset_chunk(stream))
        self._block_rows += len(live)
        if live:
            ids = np.fromiter((s.stream_id for s in streams), dtype=np.int32, count=len(live))
            out.append(xdf.samples_chunk(BLOCKS_STREAM_ID, arrivals, np.column_stack([ids, sizes.astype(np.int32)]), "int32"))
            if not math.isfinite(self._blocks_first_s):
                self._blocks_first_s = float(arrivals[0])
            self._blocks_last_s = float(arrivals[-1])
        if events:  # in the order they were recorded, as events.csv has them (a beat is dated back to its peak)
            stamps_s = np.array([e[0] for e in events])
            out.append(xdf.samples_chunk(EVENTS_STREAM_ID, stamps_s, [[e[1], e[2]] for e in events], "string"))
            out.append(xdf.samples_chunk(ANNOTATIONS_STREAM_ID, stamps_s, [[annotation(e[1], e[2])] for e in events], "string"))
            stamps = [e[0] for e in events]
            self._events_first_s = min(self._events_first_s, min(stamps)) if math.isfinite(self._events_first_s) else min(stamps)
            self._events_last_s = max(self._events_last_s, max(stamps)) if math.isfinite(self._events_last_s) else max(stamps)
        out += offsets
        if time.monotonic() >= self._next_boundary_s:
            out.append(xdf.boundary_chunk())
            self._next_boundary_s = time.monotonic() + BOUNDARY_PERIOD_S
        return b"".join(out), samples

    def _stream_for(self, block: SampleBlock, out: list[bytes]) -> _Stream:
        key = (block.wearer, str(block.signal), block.unit, float(block.sampling_rate_hz))
        stream = self._streams.get(key)
        if stream is None:
            name = f"{block.wearer}.{block.signal}"
            n = 2
            while name in self._names:
                name, n = f"{block.wearer}.{block.signal}.{n}", n + 1
            self._names.add(name)
            info = signal_stream_info(block.wearer, str(block.signal), block.unit, float(block.sampling_rate_hz), name,
                                      block.origin)
            stream = _Stream(FIRST_SIGNAL_STREAM_ID + len(self._streams), info)
            self._streams[key] = stream
            out.append(xdf.stream_header_chunk(stream.stream_id, info.xml(float(block.arrival_s), self._hostname)))
        if block.origin is not None and (not stream.lsl_offsets or stream.lsl_offsets[-1][1] != block.origin.clock_offset_s):
            stream.lsl_offsets.append((float(block.arrival_s), float(block.origin.clock_offset_s)))
        return stream

    def _offset_chunk(self, stream: _Stream) -> bytes:
        """The ClockOffset of a stream's current window (then a new window begins)."""
        offset_s = stream.window_offset_s
        collection_s = stream.window_start_s - offset_s  # the window's start, on the stream's clock
        stream.offsets.append((collection_s, offset_s))
        stream.window_offset_s, stream.window_start_s = math.inf, math.nan
        return xdf.clock_offset_chunk(stream.stream_id, collection_s, offset_s)

    def _write(self, data: bytes) -> None:
        """Append ``data`` and sync it to the disk."""
        assert self._fd is not None
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        os.fsync(self._fd)

    def _close_files(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass  # what could be written was; the reason is already logged


def _footer_xml(first_s: float, last_s: float, count: int, offsets: list[tuple[float, float]],
                extra: dict[str, object] | None = None, lsl_offsets: list[tuple[float, float]] | None = None) -> str:
    """A StreamFooter's XML as LabRecorder writes it (first and last time stamp, sample count, offsets),
    then a hub stream's LSL clock offsets as elements (``lsl_clock_offsets/offset/time,value``)."""
    root = xdf.xml_element("info", {"first_timestamp": repr(first_s) if math.isfinite(first_s) else "",
                                    "last_timestamp": repr(last_s) if math.isfinite(last_s) else "",
                                    "sample_count": str(count)})
    clock = xdf.xml_element("clock_offsets", {})
    for collection_s, offset_s in offsets:
        clock.append(xdf.xml_element("offset", {"time": repr(collection_s), "value": repr(offset_s)}))
    root.append(clock)
    if lsl_offsets:
        lsl = xdf.xml_element("lsl_clock_offsets", {})
        for time_s, offset_s in lsl_offsets:
            lsl.append(xdf.xml_element("offset", {"time": repr(time_s), "value": repr(offset_s)}))
        root.append(lsl)
    if extra:
        for key, value in extra.items():
            root.append(xdf.xml_element(key, value))  # type: ignore[arg-type]
    return xdf.xml_text(root)


def write_xdf_file(path: Path, chunks: Sequence[xdf.Chunk | bytes]) -> None:
    """Write a whole XDF file from chunks (as :func:`installation.record.xdf.read_chunks` gives them,
    or encoded), safely: into a temporary file beside it, synced, then put in its place, so that a
    crash leaves either the old file or the new one. For tools that rewrite a recording.

    Raises
    ------
    OSError
        The file cannot be written.
    """
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(xdf.MAGIC)
        for c in chunks:
            f.write(c.encode() if isinstance(c, xdf.Chunk) else c)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
