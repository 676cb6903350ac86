"""Playing a recording back through the same pipeline, deterministically.

The recorded blocks are rebuilt exactly (:meth:`Recording.blocks`) and fed to
:meth:`Pipeline.tick` with a clock set from their recorded arrival times (as the
offline render does: no reader or core thread), with the recorded show file; the
operator's actions (scene choices, panic, blackout, re-baselines, marks) are
re-applied at their recorded times. Between two arrivals the pipeline also ticks
every :data:`IDLE_TICK_S`, as the live core thread does when nothing arrives.

Everything is a function of the recording: two replays give the same events and
the same parameter stream, byte for byte. ``speed`` paces the replay against the
wall clock (1: real time); by default it goes as fast as it can. The show's live
outputs (``[osc_out]``, ``[[outputs]]``) stay closed unless ``live_outputs`` asks for them.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from installation.config import Show, parse_show
from installation.dsp.core import compile_kernels
from installation.runtime.launch import PreparedShow, prepare_show
from installation.record.reader import Recording
from installation.operator_commands import OPERATOR_KINDS, from_record
from installation.pipeline.pipeline import Pipeline
from installation.pipeline.sinks import ParameterLog
from installation.record.writer import EVENT_COLUMNS, csv_lines, event_fields
from installation.sensors.base import SampleBlock
from installation.sound.output import SoundOutput
from installation.status import Notice
from installation.visuals.process import Renderer

IDLE_TICK_S = 0.02  # the live core thread ticks at least this often (its queue wait)
PARAM_COLUMNS = ("time_s", "kind", "parameter", "value")
#: Called now and then with (seconds replayed, seconds in all).
Progress = Callable[[float, float], None]


class ReplayClock:
    """A clock the replay sets to each recorded time (never backwards); ``sleep_s`` does not wait."""

    def __init__(self) -> None:
        self._now_s = 0.0
        self._lock = threading.Lock()

    def now_s(self) -> float:
        with self._lock:
            return self._now_s

    def sleep_s(self, duration_s: float) -> None:
        self.set_s(self.now_s() + max(0.0, duration_s))

    def set_s(self, time_s: float) -> None:
        """Move to ``time_s`` seconds (a time already past leaves the clock where it is)."""
        with self._lock:
            self._now_s = max(self._now_s, time_s)


class EventLog:
    """The replay's record sink: the events as rows of ``events.csv``, kept in memory."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str]] = []
        self._start_s = 0.0
        self._lock = threading.Lock()

    def start(self, start_s: float, wearers: Sequence[str], sources: Sequence[str]) -> None:
        self._start_s = start_s

    def samples(self, blocks: Sequence[SampleBlock]) -> None:
        pass  # the samples are the recording's own

    def event(self, time_s: float, wearer: str, kind: str, value: object) -> None:
        with self._lock:
            self.rows.append(event_fields(time_s - self._start_s, wearer, kind, value))

    def stop(self, stop_s: float) -> None:
        pass

    def csv_text(self) -> str:
        """The events as a CSV file's text, with its header."""
        return ",".join(EVENT_COLUMNS) + "\n" + csv_lines(self.rows)


@dataclass(slots=True)
class FeatureSeries:
    """Feature values sampled every ``period_s`` of the replay.

    Attributes
    ----------
    times_s : list of float
        Seconds since the recording began.
    values : list of dict
        The pipeline's features at each time (address -> value).
    """

    period_s: float
    times_s: list[float] = field(default_factory=list)
    values: list[dict[str, float]] = field(default_factory=list)


@dataclass(slots=True)
class ReplayResult:
    """What a replay did: its events, its parameter stream, and optionally sampled features."""

    events: EventLog
    params: list[tuple[str, str, str, str]]
    features: FeatureSeries | None
    duration_s: float
    blocks: int
    samples: int
    wall_s: float
    beats: dict[str, int]
    notices: list[tuple[float, Notice]] = field(default_factory=list)  # the welfare watch's, at their show time

    def params_csv_text(self) -> str:
        """The parameter stream as CSV text: ``time_s,kind,parameter,value`` (kind: set or trigger)."""
        return ",".join(PARAM_COLUMNS) + "\n" + csv_lines(self.params)


def recorded_show(recording: Recording) -> Show:
    """The recording's ``show.toml``, parsed so that its sound patch is found.

    Relative paths in it (``sound.patch``) are taken from where the show file was
    when it was recorded, then from the recording folder, then from the show files
    that come with the program.

    Raises
    ------
    ConfigError
        ``show.toml`` is not a valid show file (naming it and the key).
    """
    origin = str(recording.beside("show.toml"))
    candidates = []
    recorded = recording.meta.get("show_path")
    if isinstance(recorded, str) and recorded:
        candidates.append(Path(recorded))
    candidates.append(recording.beside("show.toml"))
    candidates.append(Path(__file__).resolve().parent.parent.parent / "patches" / str(recording.meta.get("show_file") or "show.toml"))
    show = parse_show(recording.show_text, origin, candidates[0])
    for path in candidates[1:]:
        if show.resolve(show.sound.patch).is_file():
            break
        show = parse_show(recording.show_text, origin, path)
    return show


def replay(
    recording: Recording,
    speed: float | None = None,
    progress: Progress | None = None,
    feature_period_s: float | None = None,
    prepared: PreparedShow | None = None,
    sound: SoundOutput | None = None,
    renderer: Renderer | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    live_outputs: bool = False,
) -> ReplayResult:
    """Play ``recording`` back through the pipeline's tick.

    Parameters
    ----------
    recording : Recording
        A loaded recording.
    speed : float, optional
        Times real time (1: real time, 2: twice as fast); None: as fast as possible.
    progress : callable, optional
        Told ``(seconds replayed, seconds in all)`` about ten times a second.
    feature_period_s : float, optional
        Keep the pipeline's features every this many seconds of the recording (for the report).
    prepared : PreparedShow, optional
        The show to play it with (default: the recording's own ``show.toml``).
    sound, renderer : optional
        Started and stopped here, driven by the replay (use them with ``speed=1``).
    should_stop : callable
        Polled between ticks; True ends the replay early.
    live_outputs : bool
        Also send to the show's live peers (``[osc_out]``, ``[[outputs]]``): off by default.

    Raises
    ------
    ConfigError
        The recorded show file does not load.
    """
    if speed is not None and not speed > 0:
        raise ValueError(f"speed must be positive, got {speed}")
    prepared = prepared or prepare_show(recorded_show(recording))
    clock = ReplayClock()
    log = EventLog()
    wearers = recording.wearers
    pipeline = Pipeline(prepared.show, prepared.mapper, wearers, clock, sound, renderer, log, live_outputs)
    params = ParameterLog()
    pipeline.add_tap(params)
    notices: list[tuple[float, Notice]] = []
    pipeline.notices.listen(lambda notice: notices.append((clock.now_s(), notice)))
    log.start(0.0, wearers, [])
    compile_kernels()
    blocks = recording.blocks()
    ev = recording.events
    actions = [(float(t), str(k), str(w), str(v)) for t, w, k, v in zip(ev.time_s, ev.wearer, ev.kind, ev.value)
               if k in OPERATOR_KINDS]
    actions.sort(key=lambda a: a[0])
    end_s = recording.duration_s
    features = FeatureSeries(feature_period_s) if feature_period_s else None
    next_feature_s = 0.0
    if renderer is not None:
        renderer.start()
    if sound is not None:
        sound.start()
    wall0 = time.perf_counter()  # after the outputs started: the pacing starts with them
    next_report = wall0
    i = a = 0
    t = 0.0
    try:
        while not should_stop():
            # the next tick: the next arrival, or an idle tick (until the end), whichever is sooner
            arrival_s = blocks[i].arrival_s if i < len(blocks) else math.inf
            idle_s = t + IDLE_TICK_S
            if idle_s > end_s:
                idle_s = end_s if t < end_s else math.inf
            nxt = min(arrival_s, idle_s)
            while a < len(actions) and actions[a][0] <= nxt:
                at_s, kind, wearer, value = actions[a]
                _pace(wall0, at_s, speed)
                clock.set_s(at_s)
                command = from_record(kind, value)
                if command is not None:
                    pipeline.command(command)
                a += 1
            if not math.isfinite(nxt):
                break
            _pace(wall0, nxt, speed)
            clock.set_s(nxt)
            t = clock.now_s()
            batch = []
            while i < len(blocks) and blocks[i].arrival_s <= t:
                batch.append(blocks[i])
                i += 1
            pipeline.tick(batch)
            if features is not None and t >= next_feature_s:
                features.times_s.append(t)
                features.values.append(dict(pipeline.features))
                next_feature_s = t + features.period_s
            if progress is not None and time.perf_counter() >= next_report:
                next_report = time.perf_counter() + 0.1
                progress(min(t, end_s), end_s)
    finally:
        pipeline.close()
    if progress is not None:
        progress(end_s, end_s)
    stats = pipeline.stats
    return ReplayResult(log, params.rows, features, end_s, stats.blocks, stats.samples, time.perf_counter() - wall0,
                        {w: len(stats.beat_times_s.get(w, [])) for w in wearers}, notices)


def _pace(wall0: float, time_s: float, speed: float | None) -> None:
    """Wait until ``time_s`` of the recording is due at ``speed`` (not at all when None)."""
    if speed is None:
        return
    wait_s = wall0 + time_s / speed - time.perf_counter()
    if wait_s > 0:
        time.sleep(min(wait_s, 1.0))
        rest = wall0 + time_s / speed - time.perf_counter()
        if rest > 0:
            time.sleep(rest)

