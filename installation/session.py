"""A running show: wires sources -> signal core -> mapper -> sinks (sound, visuals),
owns every thread and process, and shuts them all down.

Threads and processes
---------------------
* one reader thread per source: ``source.read()``, stamp, enqueue (a beat the device
  found itself, an ``ibi`` reading, is analysed and triggered in the reader thread at
  once, under the lock the core thread holds for its own pass);
* the core thread: analyse blocks, fire triggers at once, map features;
* pyo's audio thread (native; or the WAV pacer thread without a sound card);
* the visuals process, fed with snapshots it draws at its own rate;
* the caller's thread waits in :meth:`Session.run` and stops everything.
"""

from __future__ import annotations

import collections
import heapq
import itertools
import logging
import math
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from installation.clock import Clock, MonotonicClock
from installation.config import Show
from installation.dsp.core import CoreSettings, SignalCore, compile_kernels
from installation.dsp.quality import BAD_STATES
from installation.mapping.mapper import Mapper
from installation.record.writer import RecordSink
from installation.outputs.fanout import Outputs
from installation.outputs.osc import OscOutLink  # noqa: F401  (it lived here; old imports keep working)
from installation.sensors.base import SampleBlock, Source
from installation.sound.engine import SoundEngine
from installation.visuals.overlay import OperatorStatus, SourceStatus, WearerStatus
from installation.visuals.renderer import Renderer, Snapshot

log = logging.getLogger(__name__)

FEATURE_PERIOD_S = 0.01  # continuous mappings are applied at most 100 times a second
SNAPSHOT_PERIOD_S = 1.0 / 120.0
STATUS_PERIOD_S = 0.5  # the operator overlay's figures are refreshed twice a second
RESTART_FIRST_S = 0.5  # a dead visuals process is restarted after this, then after twice as long each time ...
RESTART_MAX_S = 30.0  # ... up to this
RESTART_HEALTHY_S = 60.0  # a process that ran this long resets the back-off
REOPEN_AFTER_FAILURES = 5  # a source whose read fails this many times in a row is closed and opened again
FAULTS_KEPT = 1000  # the newest faults kept in memory (all are logged)
#: Signals that are events already (a beat the device found): analysed in the reader thread at once.
EVENT_SIGNALS = frozenset({"ibi"})


class SessionError(RuntimeError):
    """The show could not be started."""


@dataclass(frozen=True, slots=True)
class Fault:
    """Something that went wrong while the show went on.

    Attributes
    ----------
    wall_time_s : float
        When, in Unix seconds (for the log and the console).
    part : str
        What failed: ``"source <name>"``, ``"core"``, ``"sound"``, ``"visuals"``,
        ``"signal p1.heart"``, ``"recording"``, ``"thread reader-0"``.
    message : str
        What happened, and what the show did about it.
    """

    wall_time_s: float
    part: str
    message: str

    def line(self) -> str:
        """``HH:MM:SS.mmm part: message`` in local time."""
        stamp = time.strftime("%H:%M:%S", time.localtime(self.wall_time_s))
        return f"{stamp}.{int(self.wall_time_s * 1000) % 1000:03d} {self.part}: {self.message}"


def core_settings(show: Show) -> CoreSettings:
    """Signal-core settings from the show file."""
    c = show.core
    return CoreSettings(baseline_s=c.baseline_s, ppg_band_hz=c.ppg_band_hz, ppg_polarity=c.ppg_polarity)


class VisualLink:
    """Collects visual parameters and triggers; sends snapshots to the renderer.

    Values are sent at most every ``SNAPSHOT_PERIOD_S``; a trigger goes out with the
    next flush at once, stamped with the time of the sensor event behind it.
    """

    def __init__(self, renderer: Renderer | None) -> None:
        self.renderer = renderer
        self.snapshot = Snapshot(0.0)
        self._dirty = False
        self._urgent = False
        self._status: OperatorStatus | None = None
        self._last_push_s = -math.inf

    def set(self, address: str, value: float) -> None:
        self.snapshot.values[address] = value
        self._dirty = True

    def trigger(self, address: str, value: float, stamp_s: float = math.nan) -> None:
        """Count a firing of ``address``; ``stamp_s``: monotonic time of the event behind it."""
        s = self.snapshot
        s.trigger_counts[address] = s.trigger_counts.get(address, 0) + 1
        s.trigger_values[address] = value
        s.trigger_stamps[address] = stamp_s
        self._dirty = self._urgent = True

    def status(self, status: OperatorStatus) -> None:
        """Send the operator's figures with the next snapshot."""
        self._status = status
        self._dirty = True

    def mark_dirty(self) -> None:
        """Send the whole state with the next flush (a restarted renderer knows nothing)."""
        self._dirty = self._urgent = True

    def flush(self, now_s: float, force: bool = False) -> None:
        """Send the state if it changed (at most every ``SNAPSHOT_PERIOD_S`` unless forced or a trigger fired)."""
        if self.renderer is None or not self._dirty:
            return
        if not force and not self._urgent and now_s - self._last_push_s < SNAPSHOT_PERIOD_S:
            return
        s = self.snapshot
        stamps = {a: (t if t == t else now_s) for a, t in s.trigger_stamps.items()}
        self.renderer.push(Snapshot(now_s, dict(s.values), dict(s.trigger_counts), dict(s.trigger_values), stamps,
                                    self._status))
        self._status = None
        self._dirty = self._urgent = False
        self._last_push_s = now_s


@dataclass(slots=True)
class SessionStats:
    """What happened during a session (for the summary)."""

    blocks: int = 0
    samples: int = 0
    source_errors: int = 0
    dropped_blocks: int = 0
    beat_times_s: dict[str, list[float]] = field(default_factory=dict)
    trigger_latency_s: list[float] = field(default_factory=list)
    started_s: float = 0.0
    stopped_s: float = 0.0


class Session:
    """One show: sources, core, mapper, sound and visuals, with their threads.

    Parameters
    ----------
    show : Show
        The validated show file.
    mapper : Mapper
        The show's mappings, compiled against the patch and scene parameters.
    sources : list of Source
        Opened by the session, read by one thread each.
    wearers : list of str
        Wearer slots the patch and the scene prepare voices and organisms for.
    sound : SoundEngine, optional
        Started by the session; None for no sound.
    renderer : Renderer, optional
        Started by the session; None for no visuals.
    clock : Clock, optional
        Monotonic time source.
    recorder : Recorder, optional
        Records every raw sample, event, scene change and operator action
        (:class:`installation.record.writer.Recorder`); None: nothing is recorded.
    """

    def __init__(
        self,
        show: Show,
        mapper: Mapper,
        sources: list[Source],
        wearers: list[str],
        sound: SoundEngine | None,
        renderer: Renderer | None,
        clock: Clock | None = None,
        recorder: RecordSink | None = None,
    ) -> None:
        self.show = show
        self.recorder = recorder
        self.sources = sources
        self.wearers = wearers
        self.sound = sound
        self.renderer = renderer
        self.clock = clock or MonotonicClock()
        self.mapper = mapper
        self.core = SignalCore(core_settings(show))
        self.visuals = VisualLink(renderer)
        o = show.osc_out
        self.osc_out = OscOutLink(o.host, o.port, o.rate_hz)
        self.outputs = Outputs.from_show(show, [m.target for m in mapper.continuous], wearers)
        self.stats = SessionStats()
        self._blocks: queue.Queue[SampleBlock] = queue.Queue(maxsize=10000)
        self._stop = threading.Event()
        self._tick_lock = threading.Lock()  # the core thread's pass, or a reader's event fast path
        self._requests: queue.Queue[str | None | Mapper | tuple[str, str | None, str | None]] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._last_params: dict[str, float] = {}
        self._states: dict[str, str] = {}
        self._started = False
        self._last_features_s = -math.inf
        self._scheduled: list[tuple[float, int, str, float]] = []
        self._schedule_order = itertools.count()
        self._last_status_s = -math.inf
        self._features: dict[str, float] = {}
        self.blackout = False
        self._marks = 0
        self._mark_lock = threading.Lock()
        self._restart_wait_s = RESTART_FIRST_S
        self._restart_due_s = math.nan
        self._renderer_since_s = math.nan
        self.faults: collections.deque[Fault] = collections.deque(maxlen=FAULTS_KEPT)
        self.fault_count = 0
        self.sound_failed: str | None = None
        self._thread_targets: dict[str, tuple[Callable[..., None], tuple[object, ...]]] = {}
        self._recording_fault_told = False

    # ---- lifecycle -------------------------------------------------------------
    def start(self) -> None:
        """Start sound, visuals, the core thread and one reader thread per source."""
        if self._started:
            raise SessionError("session already started")
        self._started = True
        compile_s = compile_kernels()  # before any sample arrives: the first compile takes seconds
        if compile_s > 1.0:
            log.warning("signal core compiled in %.1f s (once: it is cached for later runs)", compile_s)
        self.stats.started_s = self.clock.now_s()
        if self.recorder is not None:
            self.recorder.start(self.stats.started_s, self.wearers, [getattr(s, "name", type(s).__name__) for s in self.sources])
        try:
            if self.renderer is not None:
                self.renderer.start()
            if self.sound is not None:
                self._start_sound()
            for source in self.sources:
                source.open()
        except Exception:
            self.stop()
            raise
        self._thread_targets["core"] = (self._core_loop, ())
        for i, source in enumerate(self.sources):
            self._thread_targets[f"reader-{i}"] = (self._reader_loop, (source,))
        for name in self._thread_targets:
            self._start_thread(name)

    def _start_sound(self) -> None:
        """Start the sound; if it cannot start, the show goes on without it (visuals, outputs), said loudly."""
        assert self.sound is not None
        try:
            self.sound.start()
        except Exception as exc:  # no device, no JACK, a patch that fails to build: the visuals carry on
            self.sound_failed = f"{type(exc).__name__}: {exc}" if not str(exc).startswith("pyo") else str(exc)
            self.fault("sound", f"could not start ({self.sound_failed}); the show goes on without sound",
                       logging.ERROR)
            try:
                self.sound.stop()
            except Exception:  # already half torn down
                pass
            self.sound = None

    def _start_thread(self, name: str) -> None:
        target, args = self._thread_targets[name]
        thread = threading.Thread(target=self._guarded, args=(name, target, args), name=name, daemon=True)
        self._threads = [t for t in self._threads if t.name != name] + [thread]
        thread.start()

    def _guarded(self, name: str, target: Callable[..., None], args: tuple[object, ...]) -> None:
        try:
            target(*args)
        except BaseException as exc:  # noqa: BLE001  the supervisor restarts the thread; say why it stopped
            self.fault(f"thread {name}", f"stopped: {type(exc).__name__}: {exc}", logging.ERROR)

    def fault(self, part: str, message: str, level: int = logging.WARNING) -> Fault:
        """Log a fault with its time and keep it for the console and the summary (any thread)."""
        f = Fault(time.time(), part, message)
        self.faults.append(f)
        self.fault_count += 1
        log.log(level, "%s: %s", part, message)
        return f

    def supervise(self, now_s: float) -> None:
        """Restart what died (a reader or the core thread, the visuals process) without stopping the rest.

        Called by :meth:`run` about 50 times a second; ``now_s``: monotonic seconds.
        """
        if self._stop.is_set():
            return
        for thread in list(self._threads):
            if not thread.is_alive() and thread.name in self._thread_targets:
                self.fault(f"thread {thread.name}", "restarted")
                self._start_thread(thread.name)
        failed = getattr(self.recorder, "failed", None)
        if failed and not self._recording_fault_told:
            self._recording_fault_told = True
            self.fault("recording", f"stopped ({failed}); the show goes on")
        self.watch_renderer(now_s)

    def run(
        self,
        duration_s: float | None,
        should_stop: Callable[[], bool] = lambda: False,
        reload: Callable[[], Mapper | None] | None = None,
    ) -> None:
        """Block until ``duration_s`` seconds pass, ``should_stop()`` is true, or Esc in the window.

        ``reload`` is polled about four times a second; a mapper it returns replaces the
        current one between two blocks (live editing of the show file).
        """
        deadline = None if duration_s is None else self.clock.now_s() + duration_s
        next_reload_s = self.clock.now_s()
        while not self._stop.is_set():
            if reload is not None and self.clock.now_s() >= next_reload_s:
                next_reload_s = self.clock.now_s() + 0.25
                fresh = reload()
                if fresh is not None:
                    self._requests.put(fresh)
            if deadline is not None and self.clock.now_s() >= deadline:
                return
            if should_stop() or (self.renderer is not None and self.renderer.quit_requested):
                return
            if self.renderer is not None:
                for request in self.renderer.poll_requests():
                    if request == "rebaseline":
                        self.rebaseline()
                    elif request == "panic":
                        self.panic()
                    elif request.startswith("blackout:"):
                        self.set_blackout(request == "blackout:on")
                    elif request.startswith("scene:"):
                        self.select_scene(key=request.removeprefix("scene:"))
            self.supervise(time.monotonic())
            time.sleep(0.02)

    def watch_renderer(self, now_s: float) -> None:
        """Restart the visuals process if it died, with a back-off (0.5 s, 1 s, 2 s, ... 30 s), logged.

        The sound never waits for this: it runs on its own thread, and the core only
        drops snapshots while there is no process to take them. ``now_s``: monotonic seconds.
        """
        r = self.renderer
        if r is None or not r.started or self._stop.is_set():
            return
        if r.alive:
            if math.isnan(self._renderer_since_s):
                self._renderer_since_s = now_s
            elif now_s - self._renderer_since_s > RESTART_HEALTHY_S:
                self._restart_wait_s = RESTART_FIRST_S
            return
        if r.quit_requested:
            return
        if math.isnan(self._restart_due_s):
            self._restart_due_s = now_s + self._restart_wait_s
            self.fault("visuals", f"process died (exit code {r.exitcode}); the sound carries on; "
                                  f"restarting it in {self._restart_wait_s:.1f} s")
            return
        if now_s < self._restart_due_s:
            return
        self._restart_due_s = math.nan
        self._renderer_since_s = math.nan
        self._restart_wait_s = min(RESTART_MAX_S, 2.0 * self._restart_wait_s)
        try:
            r.restart(blackout=self.blackout)
        except Exception as exc:  # a failed restart must not stop the show; try again later
            self.fault("visuals", f"could not restart the process: {exc}", logging.ERROR)
            return
        self.visuals.mark_dirty()
        self.fault("visuals", f"process restarted (restart {r.restarts})")

    def select_scene(self, name: str | None = None, key: str | None = None) -> None:
        """Fade to a scene, by name or by its operator key (safe from any thread)."""
        self._record("", "operator.scene", name or f"key {key}")
        self._requests.put(("scene", name, key))

    def panic(self, on: bool | None = None) -> bool:
        """Mute the sound at once (``on`` None toggles); True when muted. Safe from any thread."""
        muted = self.sound.panic(on) if self.sound is not None else False
        self._record("", "operator.panic", muted if self.sound is not None else ("toggle" if on is None else on))
        return muted

    def _record(self, wearer: str, kind: str, value: object) -> None:
        if self.recorder is not None:
            self.recorder.event(self.clock.now_s(), wearer, kind, value)

    def set_blackout(self, on: bool | None = None) -> bool:
        """Black the picture out (``on`` None toggles); True when black. Safe from any thread.

        The window is told at once; a restarted window starts black too.
        """
        self.blackout = (not self.blackout) if on is None else on
        self._record("", "operator.blackout", self.blackout)
        if self.renderer is not None and self.renderer.started:
            self.renderer.command(f"blackout:{'on' if self.blackout else 'off'}")
        log.warning("visuals: blackout %s", "on" if self.blackout else "off")
        return self.blackout

    def mark(self, label: str = "") -> int:
        """Note a moment of the show (the operator's mark key); returns its running number, from 1.

        Safe from any thread. The mark is logged with the show's clock time and written
        into the recording (with its label, e.g. "doors open").
        """
        with self._mark_lock:
            self._marks += 1
            number = self._marks
        self._record("", "operator.mark", label)
        log.warning("mark %d at %.1f s%s", number, self.clock.now_s() - self.stats.started_s,
                    f": {label}" if label else "")
        return number

    def rebaseline(self, wearer: str | None = None) -> None:
        """Ask the core to learn ``wearer``'s (or everyone's) baseline again from now on.

        Safe from any thread: the core thread carries it out between blocks.
        """
        self._record("", "operator.rebaseline", wearer or "all")
        self._requests.put(wearer)

    def stop(self) -> None:
        """Stop every thread and process the session started, sound fading out last."""
        self._stop.set()
        for t in self._threads:
            t.join(timeout=5.0)
            if t.is_alive():
                log.error("thread %s did not stop within 5 s", t.name)
        self._threads.clear()
        if self.recorder is not None:
            self.recorder.stop(self.clock.now_s())
        for source in self.sources:
            try:
                source.close()
            except Exception as exc:  # a broken source must not block shutdown
                log.warning("closing %s failed: %s", getattr(source, "name", source), exc)
        if self.renderer is not None:
            self.visuals.flush(self.clock.now_s(), force=True)
            self.renderer.stop()
        if self.sound is not None:
            self.sound.stop()
        self.osc_out.close()
        self.outputs.close()
        self.stats.stopped_s = self.clock.now_s()

    def __enter__(self) -> "Session":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- threads ---------------------------------------------------------------
    def _reader_loop(self, source: Source) -> None:
        backoff_s = 0.1
        failures = 0
        name = getattr(source, "name", type(source).__name__)
        while not self._stop.is_set():
            try:
                blocks = source.read(timeout_s=0.05)
                backoff_s, failures = 0.1, 0
            except Exception as exc:  # keep reading: a sensor may come back
                self.stats.source_errors += 1
                failures += 1
                self.fault(f"source {name}", f"read failed: {exc}")
                self._stop.wait(backoff_s)
                backoff_s = min(2.0, backoff_s * 2)
                if failures % REOPEN_AFTER_FAILURES == 0:
                    self._reopen(source, name)
                continue
            if self.recorder is not None and blocks:
                self.recorder.samples(blocks)
            queued = blocks
            if any(block.signal in EVENT_SIGNALS for block in blocks):
                # A beat the device already found is an event: it goes to its triggers from this
                # thread, without waiting for the core thread to wake (saves a thread hand-over).
                events = [block for block in blocks if block.signal in EVENT_SIGNALS]
                queued = [block for block in blocks if block.signal not in EVENT_SIGNALS]
                try:
                    with self._tick_lock:
                        self._analyse(events)
                        self.visuals.flush(self.clock.now_s())
                except Exception as exc:  # as in the core thread: log, drop, go on
                    self.fault("core", f"a device beat from {name} failed ({type(exc).__name__}: {exc}); dropped",
                               logging.ERROR)
            for block in queued:
                try:
                    self._blocks.put_nowait(block)
                except queue.Full:
                    self.stats.dropped_blocks += 1
                    if self.stats.dropped_blocks in (1, 10, 100) or self.stats.dropped_blocks % 1000 == 0:
                        self.fault("core", f"behind: dropped a block from {block.wearer} "
                                           f"({self.stats.dropped_blocks} so far)")

    def _reopen(self, source: Source, name: str) -> None:
        """Close and open a source that keeps failing (its own reconnection, if any, did not help)."""
        try:
            source.close()
            source.open()
            self.fault(f"source {name}", "closed and opened again after repeated failures")
        except Exception as exc:
            self.fault(f"source {name}", f"could not open it again: {exc}; trying again later")

    def _core_loop(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                batch = [self._blocks.get(timeout=0.02)]
            except queue.Empty:
                batch = []
            while True:
                try:
                    batch.append(self._blocks.get_nowait())
                except queue.Empty:
                    break
            try:
                with self._tick_lock:
                    self.tick(batch)
                failures = 0
            except Exception as exc:  # a bug must not silence the show: log it, drop this batch, go on
                failures += 1
                if failures <= 3 or failures % 1000 == 0:
                    log.exception("core pass failed")
                self.fault("core", f"a pass failed ({type(exc).__name__}: {exc}); its blocks were dropped "
                                   f"({failures} in a row)", logging.ERROR)
                self._stop.wait(min(0.5, 0.01 * failures))

    def tick(self, batch: list[SampleBlock]) -> None:
        """One pass of the core's work: operator requests, the blocks' analysis (events go
        out at once), features mapped at most every ``FEATURE_PERIOD_S``, sinks flushed.

        The core thread calls it with whatever was queued; an offline render calls it
        directly with a fake clock and no threads.
        """
        while True:
            try:
                request = self._requests.get_nowait()
            except queue.Empty:
                break
            if isinstance(request, tuple):
                scenes = self.mapper.scenes
                _, name, key = request
                name = name or (scenes.by_key(key) if scenes and key else None)
                if scenes is None or name is None or not scenes.select(name, self.clock.now_s()):
                    log.warning("no scene %s to switch to", name or f"on key {key}")
            elif isinstance(request, Mapper):
                self.mapper = request  # parameters glide to their new values in the patch and scene
                self._last_params.clear()
                log.warning("show file reloaded: %d mappings", len(request.mappings))
            else:
                self.core.rebaseline(request)
                log.warning("re-baselining %s from now", request or "every wearer")
        if batch:
            self._analyse(batch)
            self.visuals.flush(self.clock.now_s())  # a beat's snapshot leaves before the features are mapped
        now_s = self.clock.now_s()
        self._fire_scheduled(now_s)
        if now_s - self._last_features_s >= FEATURE_PERIOD_S:
            self._last_features_s = now_s
            self._apply_features(now_s)
            self._report_faults()
            if self.renderer is not None and now_s - self._last_status_s >= STATUS_PERIOD_S:
                self._last_status_s = now_s
                self.visuals.status(self.operator_status())
        self.visuals.flush(now_s)
        self.osc_out.flush(now_s)

    def _analyse(self, blocks: list[SampleBlock]) -> None:
        """Analyse what arrived in one go (one kernel call per kind of channel); events go out at once."""
        self.stats.blocks += len(blocks)
        self.stats.samples += sum(block.values.size for block in blocks)
        for event in self.core.process_many(blocks):
            self.outputs.event(event.address, event.value, event.time_s, event.onset_s)
            if event.time_s > event.reported_s:  # a predicted beat: land on it, not now
                ahead_s = (event.time_s - event.reported_s) - (self.clock.now_s() - event.arrival_s)
                if ahead_s > 0.0:
                    for address, value in self.mapper.apply_event(event):
                        self._schedule(address, value, ahead_s)
                continue
            if self.recorder is not None:  # dated back from the arrival to the beat's or SCR's own time
                self.recorder.event(event.arrival_s - (event.reported_s - event.time_s), event.wearer,
                                    event.address.removeprefix(event.wearer + "."), event.value)
            for address, value in self.mapper.apply_event(event):
                self._route_trigger(address, value, event.arrival_s)
            self.stats.trigger_latency_s.append(self.clock.now_s() - event.arrival_s)
            if event.address.endswith(".heart.beat"):
                self.stats.beat_times_s.setdefault(event.wearer, []).append(event.time_s)

    def _report_faults(self) -> None:
        """Log each channel's move into or out of a fault state, once."""
        for channel, state in self.core.states().items():
            before = self._states.get(channel, "learning")
            if state == before:
                continue
            self._states[channel] = state
            if state in BAD_STATES:
                self.fault(f"signal {channel}", f"{state.replace('_', ' ')} (fading out)")
            elif before in BAD_STATES:
                self.fault(f"signal {channel}", f"back ({state})")

    def _schedule(self, address: str, value: float, ahead_s: float) -> None:
        """A trigger due ``ahead_s`` seconds from now: the sound's on its own audio clock (to a
        buffer), the other sinks' from the core's tick (to a tick, ~10-20 ms)."""
        sink, _, rest = address.partition(".")
        if sink == "sound":
            if self.sound is not None:
                self.sound.trigger(rest, value, delay_s=ahead_s)
            return
        heapq.heappush(self._scheduled, (self.clock.now_s() + ahead_s, next(self._schedule_order), address, value))

    def _fire_scheduled(self, now_s: float) -> None:
        while self._scheduled and self._scheduled[0][0] <= now_s:
            _, _, address, value = heapq.heappop(self._scheduled)
            self._route_trigger(address, value)

    def _route_trigger(self, address: str, value: float, stamp_s: float = math.nan) -> None:
        """Fire a trigger; ``stamp_s``: monotonic time of the sensor event behind it (default: now)."""
        now_s = self.clock.now_s()
        self._route(address, value, now_s, trigger=True, stamp_s=now_s if stamp_s != stamp_s else stamp_s)
        self.outputs.event(address, value, now_s)

    def _route(self, address: str, value: float, now_s: float, trigger: bool, stamp_s: float = math.nan) -> None:
        """Hand a parameter value (or a trigger) to the sink its address names."""
        sink, _, rest = address.partition(".")
        if sink == "sound" and self.sound is not None:
            (self.sound.trigger if trigger else self.sound.set)(rest, value)
        elif sink == "visual":
            if trigger:
                self.visuals.trigger(rest, value, stamp_s)
            else:
                self.visuals.set(rest, value)
        elif sink == "osc":
            self.osc_out.send(rest.removeprefix("out."), value, now_s, force=trigger)

    def _apply_features(self, now_s: float) -> None:
        mapper = self.mapper
        self._features = self.core.features(now_s)
        values = mapper.apply_features(self._features, now_s, self.core.wearers)
        for address, value in mapper.fired:
            self._route_trigger(address, value)
        if mapper.scenes is not None and mapper.scenes.changes:
            for name in mapper.scenes.changes:
                log.warning("scene: %s", name)
                self._record("", "scene", name)
            mapper.scenes.changes.clear()
        for event in self.core.take_events():  # arrivals and departures
            self.outputs.event(event.address, event.value, event.time_s)
            for address, value in mapper.apply_event(event):
                self._route_trigger(address, value)
        self.outputs.update(now_s, self._features, values)
        for address, value in values.items():
            if abs(self._last_params.get(address, math.inf) - value) < 1e-4:
                continue
            self._last_params[address] = value
            self._route(address, value, now_s, trigger=False)

    @property
    def features(self) -> dict[str, float]:
        """The feature values last mapped, by address (read-only)."""
        return self._features

    def operator_status(self) -> OperatorStatus:
        """The figures of the operator overlay: wearers' health, loop latency, xruns, sources."""
        f = self._features
        states = self.core.states()
        arrivals = self.core.last_arrival_s()
        now_s = self.clock.now_s()
        wearers = []
        for w in self.wearers:
            channel_states = [states[c] for c in (f"{w}.heart", f"{w}.eda") if c in states]
            bad = [st for st in channel_states if st in BAD_STATES]
            state = bad[0] if bad else (channel_states[0] if channel_states else "no data")
            seen_s = arrivals.get(w, -math.inf)
            wearers.append(WearerStatus(w, f.get(f"{w}.heart.bpm", math.nan), f.get(f"{w}.eda.scr_rate", math.nan),
                                        f.get(f"{w}.quality", 0.0), state.replace("_", " "),
                                        f.get(f"{w}.eda.scl", math.nan),
                                        max(0.0, now_s - seen_s) if math.isfinite(seen_s) else math.nan))
        recent = self.stats.trigger_latency_s[-200:]
        latency_ms = float(np.median(recent) * 1000.0) if recent else math.nan
        sources = []
        for source in self.sources:
            detail = []
            for attr in ("packets", "lost", "corrupt", "dropped"):
                value = getattr(source, attr, None)
                if isinstance(value, int):
                    detail.append(f"{attr} {value}")
            sources.append(SourceStatus(getattr(source, "name", type(source).__name__),
                                        bool(getattr(source, "connected", True)), ", ".join(detail)))
        if self.stats.source_errors:
            sources.append(SourceStatus("read errors", False, str(self.stats.source_errors)))
        scenes = self.mapper.scenes
        sound = self.sound
        return OperatorStatus(wearers, latency_ms, int(getattr(sound, "late_buffers", 0) or 0), sources,
                              scenes.current if scenes is not None else "", bool(getattr(sound, "panicked", False)))

    # ---- results ---------------------------------------------------------------
    def mean_bpm(self, wearer: str) -> float:
        """Mean heart rate in beats per minute from the wearer's beat events (plausible intervals)."""
        beats = np.asarray(self.stats.beat_times_s.get(wearer, []))
        if beats.size < 3:
            return float("nan")
        ibis = np.diff(beats)
        ibis = ibis[(ibis > 0.27) & (ibis < 2.0)]
        return float(60.0 / ibis.mean()) if ibis.size else float("nan")

    def latency_ms(self, q: float) -> float:
        """Quantile ``q`` of block arrival -> trigger fired, in milliseconds."""
        lat = self.stats.trigger_latency_s
        return float(np.quantile(lat, q) * 1000.0) if lat else float("nan")
