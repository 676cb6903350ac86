"""XDF (Extensible Data Format, version 1.0) chunks: encoding and decoding, pure (bytes in, bytes out).

An XDF file is the magic ``XDF:`` followed by chunks. Each chunk is
``[NumLengthBytes][Length][Tag][Content]``: ``Length`` counts the tag's two bytes and the
content, and is written as a *variable-length integer* (one byte saying how many bytes
follow, 1, 4 or 8, then the number, little-endian). The tags:

====  ================  ==============================================================
tag   chunk             content
====  ================  ==============================================================
1     FileHeader        XML (``<info><version>1.0</version>...``)
2     StreamHeader      StreamId (uint32) + XML (the stream's LSL info: name, type, ...)
3     Samples           StreamId + NumSamples (varlen) + samples: each a TimeStampBytes
                        byte (0 or 8), the time stamp (float64, seconds) when 8, then
                        the values (numbers little-endian; strings each as varlen
                        length + UTF-8 bytes)
4     ClockOffset       StreamId + CollectionTime (float64, on the stream's clock) +
                        OffsetValue (float64: recording clock minus stream clock)
5     Boundary          a fixed 16-byte UUID (lets a reader find its way again after
                        a damaged chunk)
6     StreamFooter      StreamId + XML (first/last time stamp, sample count, offsets)
====  ================  ==============================================================

This module writes and reads those chunks and nothing else (no files, no threads):
:mod:`installation.record.xdf_writer` writes a show into a file with it, and
:func:`installation.record.reader.load_recording` reads one back. :func:`read_chunks` and
:func:`file_bytes` are the two ends a tool that rewrites a recording needs (read every
chunk, change some, write them back).

See the specification: https://github.com/sccn/xdf/wiki/Specifications
"""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np

MAGIC = b"XDF:"
TAG_FILE_HEADER = 1
TAG_STREAM_HEADER = 2
TAG_SAMPLES = 3
TAG_CLOCK_OFFSET = 4
TAG_BOUNDARY = 5
TAG_STREAM_FOOTER = 6
#: The Boundary chunk's content (from the specification).
BOUNDARY_UUID = bytes([0x43, 0xA5, 0x46, 0xDC, 0xCB, 0xF5, 0x41, 0x0F,
                       0xB3, 0x0E, 0xD5, 0x46, 0x73, 0x83, 0xCB, 0xE4])
#: XDF channel formats -> little-endian NumPy dtypes (``string`` is handled apart).
NUMERIC_FORMATS: dict[str, str] = {"float32": "<f4", "double64": "<f8", "int8": "<i1", "int16": "<i2",
                                   "int32": "<i4", "int64": "<i8"}
_STREAM_TAGS = (TAG_STREAM_HEADER, TAG_SAMPLES, TAG_CLOCK_OFFSET, TAG_STREAM_FOOTER)


class XdfFormatError(ValueError):
    """Bytes that are not XDF, or a chunk that cannot be decoded (says which and where)."""


# ---- variable-length integers and chunks -----------------------------------------------
def varlen(n: int) -> bytes:
    """``n`` as an XDF variable-length integer: the smallest of 1, 4 or 8 bytes, after a byte saying which."""
    if n < 0:
        raise ValueError(f"a variable-length integer cannot be negative: {n}")
    if n < 1 << 8:
        return bytes((1, n))
    if n < 1 << 32:
        return b"\x04" + struct.pack("<I", n)
    if n < 1 << 64:
        return b"\x08" + struct.pack("<Q", n)
    raise ValueError(f"a variable-length integer must fit in 64 bits: {n}")


def read_varlen(data: bytes | memoryview, pos: int) -> tuple[int, int]:
    """The variable-length integer at ``pos`` and the position after it.

    Raises
    ------
    XdfFormatError
        A width byte other than 1, 4 or 8, or the bytes end inside the number.
    """
    if pos >= len(data):
        raise XdfFormatError(f"byte {pos}: the data ends where a variable-length integer should start")
    width = data[pos]
    if width not in (1, 4, 8):
        raise XdfFormatError(f"byte {pos}: a variable-length integer's width must be 1, 4 or 8, found {width}")
    end = pos + 1 + width
    if end > len(data):
        raise XdfFormatError(f"byte {pos}: the data ends inside a variable-length integer")
    return int.from_bytes(bytes(data[pos + 1:end]), "little"), end


def chunk(tag: int, content: bytes, stream_id: int | None = None) -> bytes:
    """One chunk: length, tag, the stream id (tags 2, 3, 4 and 6) and the content."""
    head = struct.pack("<H", tag) + (b"" if stream_id is None else struct.pack("<I", stream_id))
    return varlen(len(head) + len(content)) + head + content


def file_header_chunk(xml: str) -> bytes:
    """The FileHeader chunk (tag 1)."""
    return chunk(TAG_FILE_HEADER, xml.encode("utf-8"))


def stream_header_chunk(stream_id: int, xml: str) -> bytes:
    """A StreamHeader chunk (tag 2)."""
    return chunk(TAG_STREAM_HEADER, xml.encode("utf-8"), stream_id)


def stream_footer_chunk(stream_id: int, xml: str) -> bytes:
    """A StreamFooter chunk (tag 6)."""
    return chunk(TAG_STREAM_FOOTER, xml.encode("utf-8"), stream_id)


def clock_offset_chunk(stream_id: int, collection_time_s: float, offset_s: float) -> bytes:
    """A ClockOffset chunk (tag 4): measured at ``collection_time_s`` (the stream's clock), ``offset_s``
    seconds to add to the stream's time stamps to put them on the recording's clock."""
    return chunk(TAG_CLOCK_OFFSET, struct.pack("<dd", collection_time_s, offset_s), stream_id)


def boundary_chunk() -> bytes:
    """A Boundary chunk (tag 5)."""
    return chunk(TAG_BOUNDARY, BOUNDARY_UUID)


def _sample_dtype(channel_format: str, channels: int) -> np.dtype:
    return np.dtype([("stamp_bytes", "u1"), ("stamp", "<f8"), ("values", NUMERIC_FORMATS[channel_format], (channels,))])


def samples_chunk(stream_id: int, times_s: np.ndarray, values: np.ndarray | Sequence[Sequence[str]],
                  channel_format: str = "double64") -> bytes:
    """A Samples chunk (tag 3), every sample with its 8-byte time stamp.

    Parameters
    ----------
    stream_id : int
        The stream the samples belong to.
    times_s : numpy.ndarray
        Time stamps in seconds, one per sample.
    values : numpy.ndarray or sequence of sequences of str
        ``(samples, channels)`` (a 1-D array is one channel); for ``string``
        streams, one sequence of strings per sample.
    channel_format : str
        An XDF channel format (``double64``, ``float32``, ``int32``, ..., ``string``).
    """
    times = np.asarray(times_s, dtype=float)
    n = times.size
    if channel_format == "string":
        rows = list(values)  # type: ignore[arg-type]
        if len(rows) != n:
            raise ValueError(f"{n} time stamps but {len(rows)} samples")
        parts = [struct.pack("<I", stream_id), varlen(n)]
        for t, row in zip(times.tolist(), rows):
            parts.append(b"\x08" + struct.pack("<d", t))
            for value in row:
                raw = str(value).encode("utf-8")
                parts.append(varlen(len(raw)) + raw)
        body = b"".join(parts)
        return varlen(2 + len(body)) + struct.pack("<H", TAG_SAMPLES) + body
    if channel_format not in NUMERIC_FORMATS:
        raise ValueError(f"unknown channel format {channel_format!r} (one of {', '.join([*NUMERIC_FORMATS, 'string'])})")
    array = np.asarray(values)
    if array.ndim == 1:
        array = array[:, None]
    if array.shape[0] != n:
        raise ValueError(f"{n} time stamps but {array.shape[0]} samples")
    packed = np.empty(n, dtype=_sample_dtype(channel_format, array.shape[1]))
    packed["stamp_bytes"] = 8
    packed["stamp"] = times
    packed["values"] = array
    body = struct.pack("<I", stream_id) + varlen(n) + packed.tobytes()
    return varlen(2 + len(body)) + struct.pack("<H", TAG_SAMPLES) + body


def file_bytes(header_xml: str, chunks: Iterable[bytes] = ()) -> bytes:
    """A whole file: the magic, the FileHeader, then ``chunks`` as they are (encoded chunks)."""
    return MAGIC + file_header_chunk(header_xml) + b"".join(chunks)


# ---- reading ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Chunk:
    """One chunk as read: its tag, its stream id (tags 2, 3, 4, 6; else None), its content after
    the stream id, and where it began in the file (byte offset)."""

    tag: int
    stream_id: int | None
    content: bytes
    offset: int

    def encode(self) -> bytes:
        """The chunk's bytes again (as :func:`chunk` writes them)."""
        return chunk(self.tag, self.content, self.stream_id)


def read_chunks(data: bytes) -> tuple[list[Chunk], str | None]:
    """Every whole chunk of an XDF file's bytes, and a note when its end was cut short.

    A file whose last chunk is incomplete (a show that crashed or lost power while
    writing it) gives the chunks before it and a note saying where it was cut.

    Raises
    ------
    XdfFormatError
        Not an XDF file (no magic), or a chunk whose length or tag makes no sense.
    """
    if data[:4] != MAGIC:
        raise XdfFormatError(f"not an XDF file: it starts with {bytes(data[:4])!r}, not {MAGIC!r}")
    view = memoryview(data)
    chunks: list[Chunk] = []
    pos = 4
    while pos < len(data):
        start = pos
        try:
            length, pos = read_varlen(view, pos)
        except XdfFormatError as exc:
            if pos + 9 > len(data):  # a length cut short at the very end
                return chunks, f"byte {start}: the last chunk was cut short (the file ends inside its length)"
            raise exc
        end = pos + length
        if end > len(data):
            return chunks, (f"byte {start}: the last chunk was cut short ({len(data) - pos} of its {length} bytes "
                            "were written)")
        if length < 2:
            raise XdfFormatError(f"byte {start}: a chunk of {length} bytes cannot hold its tag")
        tag = int.from_bytes(view[pos:pos + 2], "little")
        pos += 2
        stream_id = None
        if tag in _STREAM_TAGS:
            if end - pos < 4:
                raise XdfFormatError(f"byte {start}: chunk with tag {tag} too short for its stream id")
            stream_id = int.from_bytes(view[pos:pos + 4], "little")
            pos += 4
        elif tag not in (TAG_FILE_HEADER, TAG_BOUNDARY):
            raise XdfFormatError(f"byte {start}: unknown chunk tag {tag} (XDF 1.0 has tags 1 to 6)")
        chunks.append(Chunk(tag, stream_id, bytes(view[pos:end]), start))
        pos = end
    return chunks, None


def decode_samples(content: bytes, channel_count: int, channel_format: str,
                   last_stamp_s: float = 0.0, sample_interval_s: float = 0.0) -> tuple[np.ndarray, np.ndarray | list[list[str]]]:
    """The time stamps and values of a Samples chunk's content (after its stream id).

    A sample written without a time stamp gets the previous one plus ``sample_interval_s``
    (1 / nominal rate), as the specification says; ``last_stamp_s`` is the stream's last
    time stamp before this chunk.

    Returns
    -------
    times_s : numpy.ndarray
        One time stamp per sample (float64 seconds).
    values : numpy.ndarray or list of list of str
        ``(samples, channels)`` numbers, or per sample its strings.
    """
    n, pos = read_varlen(content, 0)
    if channel_format in NUMERIC_FORMATS:
        dtype = _sample_dtype(channel_format, channel_count)
        if len(content) - pos == n * dtype.itemsize:  # the fast path: every sample has its time stamp
            packed = np.frombuffer(content, dtype=dtype, count=n, offset=pos)
            if n == 0 or bool(np.all(packed["stamp_bytes"] == 8)):
                return packed["stamp"].astype(float), packed["values"].reshape(n, channel_count).copy()
    elif channel_format != "string":
        raise XdfFormatError(f"unknown channel format {channel_format!r}")
    times = np.empty(n)
    strings: list[list[str]] = []
    numbers: list[np.ndarray] = []
    item = np.dtype(NUMERIC_FORMATS.get(channel_format, "<f8"))
    last = last_stamp_s
    try:
        for k in range(n):
            width = content[pos]
            pos += 1
            if width == 8:
                last = struct.unpack_from("<d", content, pos)[0]
                pos += 8
            elif width == 0:
                last = last + sample_interval_s
            else:
                raise XdfFormatError(f"sample {k}: TimeStampBytes must be 0 or 8, found {width}")
            times[k] = last
            if channel_format == "string":
                row = []
                for _ in range(channel_count):
                    size, pos = read_varlen(content, pos)
                    row.append(content[pos:pos + size].decode("utf-8", errors="replace"))
                    pos += size
                strings.append(row)
            else:
                numbers.append(np.frombuffer(content, dtype=item, count=channel_count, offset=pos))
                pos += item.itemsize * channel_count
    except (IndexError, struct.error, ValueError) as exc:
        raise XdfFormatError(f"a Samples chunk ends inside its samples ({exc})") from None
    if channel_format == "string":
        return times, strings
    values = np.array(numbers).reshape(n, channel_count) if numbers else np.zeros((0, channel_count), dtype=item)
    return times, values


def decode_clock_offset(content: bytes) -> tuple[float, float]:
    """A ClockOffset chunk's (collection time, offset) in seconds."""
    if len(content) != 16:
        raise XdfFormatError(f"a ClockOffset chunk holds 16 bytes after its stream id, found {len(content)}")
    t, offset = struct.unpack("<dd", content)
    return float(t), float(offset)


# ---- stream headers -----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Channel:
    """One channel's description (the XDF meta-data convention: ``desc/channels/channel``)."""

    label: str
    unit: str = ""
    type: str = ""


@dataclass(frozen=True, slots=True)
class StreamInfo:
    """What a StreamHeader says (LSL's stream info).

    Attributes
    ----------
    name, type : str
        Stream name and content type (``PPG``, ``EDA``, ``Markers``, ...).
    channel_format : str
        ``double64``, ``float32``, ``int32``, ``string``, ...
    nominal_srate : float
        Nominal sampling rate in hertz (0: irregular).
    channels : tuple of Channel
        One per channel.
    source_id : str
        A stable id of the stream's origin.
    desc : dict
        More ``desc`` elements, name -> text (or name -> dict of the same, nested).
    """

    name: str
    type: str
    channel_format: str
    nominal_srate: float
    channels: tuple[Channel, ...]
    source_id: str = ""
    desc: dict[str, object] = field(default_factory=dict)

    @property
    def channel_count(self) -> int:
        return len(self.channels)

    def xml(self, created_at_s: float = 0.0, hostname: str = "") -> str:
        """The StreamHeader's XML (the fields LSL's ``StreamInfo.as_xml`` gives, then ``desc``)."""
        root = ET.Element("info")
        for tag, text in (("name", self.name), ("type", self.type), ("channel_count", str(self.channel_count)),
                          ("channel_format", self.channel_format), ("source_id", self.source_id),
                          ("nominal_srate", repr(float(self.nominal_srate))), ("version", "1.1"),
                          ("created_at", repr(float(created_at_s))), ("hostname", hostname)):
            ET.SubElement(root, tag).text = text
        desc = ET.SubElement(root, "desc")
        channels = ET.SubElement(desc, "channels")
        for ch in self.channels:
            c = ET.SubElement(channels, "channel")
            ET.SubElement(c, "label").text = ch.label
            ET.SubElement(c, "unit").text = ch.unit
            ET.SubElement(c, "type").text = ch.type
        _add(desc, self.desc)
        return xml_text(root)


def _add(parent: ET.Element, items: dict[str, object]) -> None:
    for key, value in items.items():
        if isinstance(value, dict):
            _add(ET.SubElement(parent, key), value)
        elif isinstance(value, (list, tuple)):
            holder = ET.SubElement(parent, key)
            for entry in value:
                ET.SubElement(holder, key.rstrip("s") or "item").text = _clean(str(entry))
        else:
            ET.SubElement(parent, key).text = _clean("" if value is None else str(value))


def _clean(text: str) -> str:
    """Text XML 1.0 can hold (control characters other than tab and line ends dropped)."""
    return "".join(c for c in text if c in "\t\n\r" or ord(c) >= 0x20)


def xml_text(root: ET.Element) -> str:
    """An element as an XML document's text (with the declaration LSL writes)."""
    return '<?xml version="1.0"?>' + ET.tostring(root, encoding="unicode")


def xml_element(tag: str, items: dict[str, object]) -> ET.Element:
    """An element ``tag`` holding ``items`` (name -> text, list of texts, or a dict of the same)."""
    root = ET.Element(tag)
    _add(root, items)
    return root


def parse_stream_info(xml: str) -> StreamInfo:
    """A StreamHeader's XML back into a :class:`StreamInfo` (``desc`` beyond the channels as nested dicts)."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise XdfFormatError(f"a stream header is not XML: {exc}") from None
    channels = []
    desc: dict[str, object] = {}
    d = root.find("desc")
    if d is not None:
        for ch in d.findall("channels/channel"):
            channels.append(Channel(ch.findtext("label") or "", ch.findtext("unit") or "", ch.findtext("type") or ""))
        desc = {k: v for k, v in _as_dict(d).items() if k != "channels"}
    count = int(root.findtext("channel_count") or 0)
    while len(channels) < count:
        channels.append(Channel(""))
    return StreamInfo(root.findtext("name") or "", root.findtext("type") or "", root.findtext("channel_format") or "float32",
                      float(root.findtext("nominal_srate") or 0.0), tuple(channels[:count] if count else channels),
                      root.findtext("source_id") or "", desc)


def _as_dict(element: ET.Element) -> dict[str, object]:
    out: dict[str, object] = {}
    for child in element:
        out[child.tag] = _as_dict(child) if len(child) else (child.text or "")
    return out
