"""Recordings as CSV (``time_s,value`` with a header, optionally gzip-compressed):
strict loading with errors that name the line, and replay through the live core."""

from __future__ import annotations

import gzip
import io
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from installation.dsp.core import CoreSettings, SignalCore, compile_kernels
from installation.dsp.events import Event
from installation.sensors.base import SampleBlock, SignalKind
from installation.sensors.sample_clock import ClockMode, SampleClock, stamp_problem


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
    clock: str = "as recorded"


def recording_clock(times_s: np.ndarray, rate_hz: float, mode: ClockMode = "auto") -> tuple[np.ndarray, str]:
    """The sample times to analyse a recording with, and how they were made.

    Stamps that are equal within packets, coarse or arrival-based
    (:func:`~installation.sensors.sample_clock.stamp_problem`) are replaced by
    the clock a live source would rebuild from them (a running fit of the sample
    count against the stamps, :class:`~installation.sensors.sample_clock.SampleClock`),
    sample by sample in order, as if they arrived; good stamps are kept.

    Parameters
    ----------
    times_s : numpy.ndarray
        The recording's time stamps in seconds.
    rate_hz : float
        Its mean sampling rate in hertz.
    mode : {"auto", "fit", "keep"}
        Rebuild when the stamps need it, always, or never.

    Returns
    -------
    times_s : numpy.ndarray
        Sample times in seconds.
    clock : str
        ``"as recorded"`` or ``"rebuilt (<why>)"``.
    """
    if mode == "keep":
        return times_s, "as recorded"
    problem = stamp_problem(times_s, rate_hz) if mode == "auto" else "asked for"
    if problem is None:
        return times_s, "as recorded"
    return SampleClock(rate_hz, "fit").times(times_s), f"rebuilt ({problem})"


def analyze_recording(
    times_s: np.ndarray,
    values: np.ndarray,
    signal: SignalKind,
    block_s: float = 0.02,
    unit: str = "",
    settings: CoreSettings | None = None,
    progress: Callable[[int, int], None] | None = None,
    clock: ClockMode = "auto",
) -> Analysis:
    """Feed a recording through :class:`SignalCore` in live-sized blocks.

    Blocks hold ``block_s`` seconds of samples; each is stamped as arriving at
    its last sample's time, so ``reported_s`` is in recording time. ``progress``
    is called now and then with (samples done, samples in all). ``clock``: the
    sample times are rebuilt from packet-level, coarse or arrival stamps
    (``auto``, see :func:`recording_clock`), always (``fit``) or never (``keep``).
    """
    rate_hz = nominal_rate_hz(times_s)
    compile_kernels()  # not part of the processing time
    core = SignalCore(settings)
    step = max(1, int(round(block_s * rate_hz)))
    times_s, how = recording_clock(times_s, rate_hz, clock)
    out = Analysis(sampling_rate_hz=rate_hz, samples=int(times_s.size), clock=how)
    report_every = max(step, times_s.size // 100)
    started = time.perf_counter()
    for i in range(0, times_s.size, step):
        t, v = times_s[i : i + step], values[i : i + step]
        block = SampleBlock("p1", signal, t, v, unit, float(t[-1]), rate_hz)
        out.events.extend(core.process(block))
        if progress is not None and i % report_every < step:
            progress(min(i + step, times_s.size), times_s.size)
    out.events.extend(core.finish())  # the beats pending at the last sample, marked at_end
    out.processing_s = time.perf_counter() - started
    if progress is not None:
        progress(times_s.size, times_s.size)
    return out


#: CSV header of ``analyze`` output, by signal.
EVENT_COLUMNS: dict[str, tuple[str, ...]] = {
    "ecg": ("time_s", "reported_s", "bpm", "at_end"),
    "ppg": ("time_s", "reported_s", "bpm", "at_end"),
    "eda": ("onset_s", "peak_s", "amplitude", "reported_s"),
}


def event_rows(analysis: Analysis, signal: SignalKind) -> list[tuple[float, ...]]:
    """One row per beat (ecg, ppg) or per skin-conductance response (eda), as in ``EVENT_COLUMNS``.

    A beat's ``at_end`` is 1 when it was pending at the file's last sample and reported
    there (its ``reported_s`` is then the last sample's time, not a live report), else 0.
    """
    if signal == "eda":
        return [(e.onset_s, e.time_s, e.value, e.reported_s) for e in analysis.events if e.address.endswith(".eda.scr")]
    return [(e.time_s, e.reported_s, e.value, int(e.at_end)) for e in analysis.events if e.address.endswith(".heart.beat")]


def summarize(analysis: Analysis, signal: SignalKind, times_s: np.ndarray) -> dict[str, Any]:
    """The one-line JSON summary of ``analyze``."""
    rows = event_rows(analysis, signal)
    duration_s = float(times_s[-1] - times_s[0])
    if signal == "eda":
        delays = [r[3] - r[1] for r in rows]
        rate: dict[str, Any] = {"scr_per_min": len(rows) / duration_s * 60.0 if duration_s > 0 else None}
    else:
        delays = [r[1] - r[0] for r in rows if not r[3]]  # a beat reported at the end has no live delay
        bpm = [r[2] for r in rows if math.isfinite(r[2])]
        rate = {"mean_bpm": float(np.mean(bpm)) if bpm else None}

    def rounded(x: float | None, digits: int = 4) -> float | None:
        return None if x is None or not math.isfinite(x) else round(float(x), digits)

    return {
        "signal": signal,
        "count": len(rows),
        **({} if signal == "eda" else {"at_end": sum(int(r[3]) for r in rows)}),
        **{k: rounded(v, 2) for k, v in rate.items()},
        "delay_mean_s": rounded(float(np.mean(delays))) if delays else None,
        "delay_median_s": rounded(float(np.median(delays))) if delays else None,
        "samples": analysis.samples,
        "duration_s": rounded(duration_s, 3),
        "sampling_rate_hz": rounded(analysis.sampling_rate_hz, 3),
        "clock": analysis.clock,
        "processing_s": rounded(analysis.processing_s),
        "us_per_sample": rounded(analysis.processing_s / analysis.samples * 1e6, 3) if analysis.samples else None,
    }
