"""Recordings as CSV (``time_s,value`` with a header, optionally gzip-compressed):
strict loading with errors that name the line, and replay through the live core."""

from __future__ import annotations

import gzip
import io
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from installation.dsp.core import CoreSettings, SignalCore
from installation.dsp.events import Event
from installation.sensors.base import SampleBlock, SignalKind


class RecordingError(ValueError):
    """A recording file is missing or malformed; the message names the file and line."""


def load_recording(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read ``time_s,value`` rows; return (times in seconds, values).

    Raises
    ------
    RecordingError
        Missing file, wrong header, a non-numeric or NaN field, or time going backwards,
        naming the line (1-based, the header is line 1).
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RecordingError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if path.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except OSError as exc:
            raise RecordingError(f"{path}: not a gzip file: {exc}") from None
    try:
        text = io.StringIO(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise RecordingError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    header = text.readline().strip().replace(" ", "")
    if header != "time_s,value":
        raise RecordingError(f"{path}: line 1: expected the header 'time_s,value', found {header[:60]!r}")
    times: list[float] = []
    values: list[float] = []
    for number, line in enumerate(text, start=2):
        line = line.strip()
        if not line:
            continue
        parts = line.split(",")
        if len(parts) != 2:
            raise RecordingError(f"{path}: line {number}: expected 2 fields (time_s,value), found {len(parts)}: {line[:60]!r}")
        try:
            t, v = float(parts[0]), float(parts[1])
        except ValueError:
            raise RecordingError(f"{path}: line {number}: not a number: {line[:60]!r}") from None
        if not (math.isfinite(t) and math.isfinite(v)):
            raise RecordingError(f"{path}: line {number}: NaN or infinite value: {line[:60]!r}")
        if times and t < times[-1]:
            raise RecordingError(f"{path}: line {number}: time goes backwards ({t} after {times[-1]})")
        times.append(t)
        values.append(v)
    if len(times) < 2:
        raise RecordingError(f"{path}: needs at least 2 samples, found {len(times)}")
    if times[-1] <= times[0]:
        raise RecordingError(f"{path}: all samples have the same time")
    return np.asarray(times), np.asarray(values)


def nominal_rate_hz(times_s: np.ndarray) -> float:
    """Mean sampling rate in hertz (robust to repeated timestamps from coarse clocks)."""
    return (times_s.size - 1) / float(times_s[-1] - times_s[0])


@dataclass(slots=True)
class Analysis:
    """What the live core made of a recording."""

    events: list[Event] = field(default_factory=list)
    samples: int = 0
    processing_s: float = 0.0
    sampling_rate_hz: float = 0.0


def analyze_recording(
    times_s: np.ndarray,
    values: np.ndarray,
    signal: SignalKind,
    block_s: float = 0.02,
    unit: str = "",
    settings: CoreSettings | None = None,
) -> Analysis:
    """Feed a recording through :class:`SignalCore` in live-sized blocks.

    Blocks hold ``block_s`` seconds of samples; each is stamped as arriving at
    its last sample's time, so ``reported_s`` is in recording time.
    """
    rate_hz = nominal_rate_hz(times_s)
    core = SignalCore(settings)
    step = max(1, int(round(block_s * rate_hz)))
    out = Analysis(sampling_rate_hz=rate_hz, samples=int(times_s.size))
    started = time.perf_counter()
    for i in range(0, times_s.size, step):
        t, v = times_s[i : i + step], values[i : i + step]
        block = SampleBlock("p1", signal, t, v, unit, float(t[-1]), rate_hz)
        out.events.extend(core.process(block))
    out.processing_s = time.perf_counter() - started
    return out
