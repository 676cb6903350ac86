"""The live runtime: a :class:`~installation.pipeline.pipeline.Pipeline` with the
threads, processes and supervision a live show needs.

Threads and processes
---------------------
* one reader thread per source: ``source.read()``, stamp, enqueue (a beat the device
  found itself, an ``ibi`` reading, is analysed and triggered in the reader thread at
  once, under the lock the core thread holds for its own pass);
* the core thread: :meth:`Pipeline.tick` with whatever the queue held, and, at the
  feature rate, the channels' fault changes and the operator's figures;
* the sound process (or, with ``[sound] process = false``, pyo's audio thread here),
  fed with OSC datagrams, supervised from :meth:`Session.supervise`;
* the visuals process, fed with snapshots it draws at its own rate;
* the caller's thread waits in :meth:`Session.run`, supervises (restarts what died)
  and stops everything.
"""

from __future__ import annotations

import collections
import logging
import math
import queue
import threading
import time
from typing import Callable

import numpy as np

from installation.clock import Clock, MonotonicClock
from installation.config import Show
from installation.care.sensor_watch import LINK_COUNTERS
from installation.dsp.core import compile_kernels
from installation.dsp.quality import BAD_STATES
from installation.link.clock import LinkClock
from installation.mapping.mapper import Mapper
from installation.operator_commands import Command, Quit, parse_action
from installation.pipeline.pipeline import FEATURE_PERIOD_S, Pipeline, PipelineStats
from installation.record.writer import RecordSink
from installation.sensors.base import SampleBlock, Source
from installation.sound.output import SoundOutput
from installation.status import Fault, Notice, OperatorStatus, SourceStatus, WearerStatus
from installation.visuals.process import Renderer

log = logging.getLogger(__name__)

STATUS_PERIOD_S = 0.5  # the operator overlay's figures are refreshed twice a second
LINK_COUNTS_PERIOD_S = 1.0  # the sources' packet counters go to the sensor watch once a second
RESTART_FIRST_S = 0.5  # a dead visuals process is restarted after this, then after twice as long each time ...
RESTART_MAX_S = 30.0  # ... up to this
RESTART_HEALTHY_S = 60.0  # a process that ran this long resets the back-off
REOPEN_AFTER_FAILURES = 5  # a source whose read fails this many times in a row is closed and opened again
FAULTS_KEPT = 1000  # the newest faults kept in memory (all are logged)
#: Signals that are events already (a beat the device found): analysed in the reader thread at once.
EVENT_SIGNALS = frozenset({"ibi"})


def _link_counts(source: Source) -> dict[str, int]:
    """The packet counters a source keeps (``packets``, ``lost``, ``corrupt``, ``dropped``, those it has)."""
    return {attr: value for attr in LINK_COUNTERS if isinstance(value := getattr(source, attr, None), int)}


class SessionError(RuntimeError):
    """The show could not be started."""


class Session:
    """One live show: its pipeline, read by one thread per source and ticked by a core thread.

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
    sound : SoundOutput, optional
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
        sound: SoundOutput | None,
        renderer: Renderer | None,
        clock: Clock | None = None,
        recorder: RecordSink | None = None,
    ) -> None:
        self.show = show
        self.recorder = recorder
        self.sources = sources
        self.wearers = wearers
        self.renderer = renderer
        self.clock = clock or MonotonicClock()
        self.pipeline = Pipeline(show, mapper, wearers, self.clock, sound, renderer, recorder)
        # the Ableton Link peer: live shows only (a replay or a render never joins a session)
        self.link = self.pipeline.add_outer(LinkClock(show.link, self.clock.now_s)) if show.link.enabled else None
        self._engine = sound  # started by start(); the pipeline routes to it once it plays
        self._blocks: queue.Queue[SampleBlock] = queue.Queue(maxsize=10000)
        self._stop = threading.Event()
        self._tick_lock = threading.Lock()  # the core thread's pass, or a reader's event fast path
        self._threads: list[threading.Thread] = []
        self._states: dict[str, str] = {}
        self._started = False
        self._last_faults_s = -math.inf
        self._last_status_s = -math.inf
        self._restart_wait_s = RESTART_FIRST_S
        self._restart_due_s = math.nan
        self._renderer_since_s = math.nan
        self.quit_requested = False
        self.faults: collections.deque[Fault] = collections.deque(maxlen=FAULTS_KEPT)
        self.fault_count = 0
        self.sound_failed: str | None = None
        self._thread_targets: dict[str, tuple[Callable[..., None], tuple[object, ...]]] = {}
        self._recording_fault_told = False
        self.pipeline.notices.listen(self._notice_raised, self._notice_cleared)
        self._source_wearers: dict[int, set[str]] = {}  # id of a source -> the wearers whose blocks it read
        self._last_links_s = -math.inf  # when the sources' counters last went to the sensor watch

    @property
    def sound(self) -> SoundOutput | None:
        """The sound engine while it plays (None: no sound, or it could not start)."""
        return self.pipeline.sound

    @property
    def stats(self) -> PipelineStats:
        return self.pipeline.stats

    @property
    def blackout(self) -> bool:
        return self.pipeline.blackout

    @property
    def features(self) -> dict[str, float]:
        """The feature values last mapped, by address (read-only)."""
        return self.pipeline.features

    def command(self, command: Command) -> object:
        """Carry out an operator command (any thread); see :meth:`Pipeline.command`.

        :class:`Quit` ends :meth:`run` (the show fades out).
        """
        if isinstance(command, Quit):
            self.quit_requested = True
            return None
        return self.pipeline.command(command)

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
            if self._engine is not None:
                self._start_sound(self._engine)
            for source in self.sources:
                source.open()
        except Exception:
            self.stop()
            raise
        if self.link is not None:
            self.link.start()  # its own thread; stopped when the pipeline closes
        self._thread_targets["core"] = (self._core_loop, ())
        for i, source in enumerate(self.sources):
            self._thread_targets[f"reader-{i}"] = (self._reader_loop, (source,))
        for name in self._thread_targets:
            self._start_thread(name)

    def _start_sound(self, engine: SoundOutput) -> None:
        """Start the sound; if it cannot start, the show goes on without it (visuals, outputs), said loudly."""
        try:
            engine.start()
        except Exception as exc:  # no device, no JACK, a patch that fails to build: the visuals carry on
            self.sound_failed = f"{type(exc).__name__}: {exc}" if not str(exc).startswith("pyo") else str(exc)
            self.fault("sound", f"could not start ({self.sound_failed}); the show goes on without sound",
                       logging.ERROR)
            try:
                engine.stop()
            except Exception:  # already half torn down
                pass
            self.pipeline.detach_sound()

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

    @staticmethod
    def _notice_raised(notice: Notice) -> None:
        log.warning("notice %s: %s", notice.rule, notice.message)

    @staticmethod
    def _notice_cleared(wearer: str, rule: str) -> None:
        log.info("notice %s for %s: ended", rule, wearer)

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
        self.watch_sound()

    def watch_sound(self) -> None:
        """Let a sound process supervise itself (restart, patch changes) and log what it says as faults."""
        poll = getattr(self.pipeline.sound, "poll", None)
        if poll is None:
            return
        try:
            said = poll()
        except Exception as exc:  # supervising must never stop the show
            self.fault("sound", f"supervising the sound process failed: {type(exc).__name__}: {exc}", logging.ERROR)
            return
        for sentence in said:
            self.fault("sound", sentence)

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
                    self.pipeline.reload(fresh)
            if deadline is not None and self.clock.now_s() >= deadline:
                return
            if should_stop() or self.quit_requested or (self.renderer is not None and self.renderer.quit_requested):
                return
            if self.renderer is not None:
                for request in self.renderer.poll_requests():
                    command = parse_action(request)
                    if command is not None:
                        self.command(command)
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
        self.pipeline.visuals.mark_dirty()
        self.fault("visuals", f"process restarted (restart {r.restarts})")

    def stop(self) -> None:
        """Stop every thread and process the session started, sound fading out last."""
        self._stop.set()
        for t in self._threads:
            t.join(timeout=5.0)
            if t.is_alive():
                log.error("thread %s did not stop within 5 s", t.name)
        self._threads.clear()
        self._drain()  # what the readers queued after the core thread's last pass is analysed too
        for source in self.sources:
            try:
                source.close()
            except Exception as exc:  # a broken source must not block shutdown
                log.warning("closing %s failed: %s", getattr(source, "name", source), exc)
        self.pipeline.close()  # the recording, the visuals, the sound (fading out), the outputs

    def _drain(self) -> None:
        """Analyse the blocks still queued once every thread has stopped, so that the recording
        (written by the readers) and the analysis (the core thread) hold the same samples."""
        batch: list[SampleBlock] = []
        while True:
            try:
                batch.append(self._blocks.get_nowait())
            except queue.Empty:
                break
        if not batch:
            return
        try:
            with self._tick_lock:
                self.pipeline.tick(batch)
        except Exception as exc:  # shutting down: say so, and go on closing
            self.fault("core", f"the last pass at stop failed ({type(exc).__name__}: {exc})", logging.ERROR)

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
            if blocks:  # whose link this source is, for the sensor watch
                self._source_wearers.setdefault(id(source), set()).update(block.wearer for block in blocks)
            queued = blocks
            if any(block.signal in EVENT_SIGNALS for block in blocks):
                # A beat the device already found is an event: it goes to its triggers from this
                # thread, without waiting for the core thread to wake (saves a thread hand-over).
                events = [block for block in blocks if block.signal in EVENT_SIGNALS]
                queued = [block for block in blocks if block.signal not in EVENT_SIGNALS]
                try:
                    with self._tick_lock:
                        self.pipeline.analyse(events)
                        self.pipeline.visuals.flush(self.clock.now_s())
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
        """The core thread's pass: the pipeline's tick, then (at the feature rate) the channels'
        fault changes, and twice a second the operator's figures for the window."""
        pipeline = self.pipeline
        pipeline.tick(batch)
        now_s = self.clock.now_s()
        if now_s - self._last_faults_s >= FEATURE_PERIOD_S:
            self._last_faults_s = now_s
            self._report_faults()
        if pipeline.sensor_watch is not None and now_s - self._last_links_s >= LINK_COUNTS_PERIOD_S:
            self._last_links_s = now_s
            self._feed_link_counts(now_s)
        if (self.renderer is not None or pipeline.visuals.publishers) and now_s - self._last_status_s >= STATUS_PERIOD_S:
            self._last_status_s = now_s
            pipeline.visuals.status(self.operator_status())

    def _feed_link_counts(self, now_s: float) -> None:
        """Each source's packet counters, for the wearers it carries, to the sensor watch."""
        watch = self.pipeline.sensor_watch
        assert watch is not None
        for source in self.sources:
            name = getattr(source, "name", type(source).__name__)
            by_wearer = getattr(source, "wearer_counts", None)
            if isinstance(by_wearer, dict):  # a source that counts each wearer's link apart
                for wearer, counts in list(by_wearer.items()):
                    watch.link_counts(now_s, name, [wearer], counts)
                continue
            wearers = self._source_wearers.get(id(source))
            if not wearers:
                continue
            counts = _link_counts(source)
            if counts:  # one link for every wearer the source carries
                watch.link_counts(now_s, name, sorted(wearers), counts)

    def _report_faults(self) -> None:
        """Log each channel's move into or out of a fault state, once."""
        for channel, state in self.pipeline.core.states().items():
            before = self._states.get(channel, "learning")
            if state == before:
                continue
            self._states[channel] = state
            if state in BAD_STATES:
                self.fault(f"signal {channel}", f"{state.replace('_', ' ')} (fading out)")
            elif before in BAD_STATES:
                self.fault(f"signal {channel}", f"back ({state})")

    def operator_status(self) -> OperatorStatus:
        """The figures of the operator overlay: wearers' health, loop latency, xruns, sources."""
        f = self.pipeline.features
        core = self.pipeline.core
        states = core.states()
        arrivals = core.last_arrival_s()
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
            detail = [f"{attr} {value}" for attr, value in _link_counts(source).items()]
            sources.append(SourceStatus(getattr(source, "name", type(source).__name__),
                                        bool(getattr(source, "connected", True)), ", ".join(detail)))
        if self.stats.source_errors:
            sources.append(SourceStatus("read errors", False, str(self.stats.source_errors)))
        scenes = self.pipeline.mapper.scenes
        sound = self.sound
        return OperatorStatus(wearers, latency_ms, int(getattr(sound, "late_buffers", 0) or 0), sources,
                              scenes.current if scenes is not None else "", bool(getattr(sound, "panicked", False)),
                              self.pipeline.notices.standing())

