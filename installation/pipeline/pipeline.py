"""One show's per-tick work, with no thread of its own: blocks -> signal core ->
mapper -> sinks.

:meth:`Pipeline.tick` carries out the operator's queued commands, analyses the
blocks it is given (events go to their triggers at once), fires the triggers whose
time came, maps the features at most every :data:`FEATURE_PERIOD_S`, and flushes
the sinks. The live runtime calls it from its core thread; a replay and an offline
render call it with a clock of their own. :meth:`Pipeline.close` is the one way
the sinks are closed, whoever drove the show.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math
import queue
import threading
from dataclasses import dataclass, field
from typing import Protocol, TypeVar
import numpy as np

from installation.addresses import WEARER_RE
from installation.care.board import NoticeBoard
from installation.care.sensor_watch import SensorWatch
from installation.care.welfare import WelfareWatch
from installation.clock import Clock
from installation.config import Show
from installation.dsp.core import CoreSettings, SignalCore
from installation.dsp.events import Event
from installation.mapping.mapper import Mapper
from installation.operator_commands import Blackout, Command, Consent, Mark, Panic, Rebaseline, SelectScene, record_row
from installation.outputs.fanout import Outputs
from installation.outputs.notify import StewardNotify
from installation.outputs.osc import OscOutLink
from installation.lights.rig import LightRig, light_outputs
from installation.pipeline.care import WelfareTap, Withdrawal, owner
from installation.pipeline.sinks import (
    Firing,
    LightSink,
    OscOutSink,
    OutputsSink,
    RecordingSink,
    Sink,
    SoundSink,
    VisualSink,
)
from installation.record.writer import RecordSink
from installation.sensors.base import SampleBlock
from installation.sound.output import SoundOutput
from installation.status import Notice
from installation.visuals.process import Renderer
from installation.visuals.serve import SnapshotServer

log = logging.getLogger(__name__)
TapT = TypeVar("TapT", bound=Sink)

FEATURE_PERIOD_S = 0.01  # continuous mappings are applied at most 100 times a second


class OuterFeatures(Protocol):
    """Features and events that come from outside the signal core (the Link session's beat grid).

    :meth:`features` is asked at each feature tick, with the core's features (which it may
    read); :meth:`take_events` at every tick: an event dated ahead of now is scheduled to land
    on its time, as a predicted heartbeat is.
    """

    def features(self, now_s: float, features: dict[str, float]) -> dict[str, float]: ...

    def take_events(self, now_s: float) -> list[Event]: ...

    def close(self) -> None: ...


OuterT = TypeVar("OuterT", bound=OuterFeatures)


def serve_render_nodes(show: Show, wearers: list[str], clock: Clock) -> SnapshotServer:
    """The render nodes' server of ``[visual] serve`` (started; a port that cannot be bound is logged
    and the show goes on without render nodes)."""
    v = show.visual
    server = SnapshotServer(v.serve_host, v.serve_port, wearers, show.show.title, v.flash_limit, v.max_flashes_per_s,
                            allow=v.serve_allow, clock=clock.now_s)
    try:
        server.start()
    except OSError as exc:
        log.error("render nodes: cannot listen on %s:%d (%s); the show goes on without them",
                  v.serve_host, v.serve_port, exc.strerror or exc)
    return server


def core_settings(show: Show) -> CoreSettings:
    """Signal-core settings from the show file."""
    c = show.core
    return CoreSettings(baseline_s=c.baseline_s, ppg_band_hz=c.ppg_band_hz, ppg_polarity=c.ppg_polarity)


@dataclass(slots=True)
class PipelineStats:
    """What the pipeline did (for the summary and the operator).

    Attributes
    ----------
    blocks, samples : int
        Blocks and samples analysed.
    source_errors : int
        Failed reads (counted by whoever reads the sources).
    dropped_blocks : int
        Blocks dropped before analysis because the core was behind.
    beat_times_s : dict
        Per wearer, the times of their beat events (their source's clock, seconds).
    trigger_latency_s : list of float
        Per event, its block's arrival -> its triggers fired, seconds.
    started_s, stopped_s : float
        The show clock at the start and at the end.
    """

    blocks: int = 0
    samples: int = 0
    source_errors: int = 0
    dropped_blocks: int = 0
    beat_times_s: dict[str, list[float]] = field(default_factory=dict)
    trigger_latency_s: list[float] = field(default_factory=list)
    started_s: float = 0.0
    stopped_s: float = 0.0

    def mean_bpm(self, wearer: str) -> float:
        """Mean heart rate in beats per minute from the wearer's beat events (plausible intervals)."""
        beats = np.asarray(self.beat_times_s.get(wearer, []))
        if beats.size < 3:
            return float("nan")
        ibis = np.diff(beats)
        ibis = ibis[(ibis > 0.27) & (ibis < 2.0)]
        return float(60.0 / ibis.mean()) if ibis.size else float("nan")

    def latency_ms(self, q: float) -> float:
        """Quantile ``q`` of block arrival -> trigger fired, in milliseconds."""
        lat = self.trigger_latency_s
        return float(np.quantile(lat, q) * 1000.0) if lat else float("nan")


class Pipeline:
    """The show's signal core, mapper and sinks, ticked by whoever drives the show.

    Parameters
    ----------
    show : Show
        The validated show file.
    mapper : Mapper
        The show's mappings, compiled against the patch and scene parameters.
    wearers : list of str
        Wearer slots (the patch and the scene have a voice and an organism for each).
    clock : Clock
        The show's clock (monotonic live; moved by a replay or a render).
    sound : SoundOutput, optional
        The ``sound`` sink's engine (started by the caller, stopped by :meth:`close`).
    renderer : Renderer, optional
        The visuals process (started by the caller, stopped by :meth:`close`); without
        one the ``visual`` snapshot is still kept, for an offline render to draw.
    recorder : RecordSink, optional
        Where beats, SCRs, operator actions and scene changes are recorded.
    live_outputs : bool
        Send to the show's live peers (``[osc_out]``, ``[[outputs]]``, the lights). A replay or a
        render leaves them off unless asked, so that it never plays into a live rig.
    """

    def __init__(
        self,
        show: Show,
        mapper: Mapper,
        wearers: list[str],
        clock: Clock,
        sound: SoundOutput | None = None,
        renderer: Renderer | None = None,
        recorder: RecordSink | None = None,
        live_outputs: bool = True,
    ) -> None:
        self.show = show
        self.mapper = mapper
        self.wearers = wearers
        self.clock = clock
        self.core = SignalCore(core_settings(show))
        self.stats = PipelineStats()
        self.visuals = VisualSink(renderer, clock.now_s)
        self.sinks: dict[str, Sink] = {"visual": self.visuals}
        self.taps: list[Sink] = []
        self.notices = NoticeBoard()  # for the operator only: welfare, sensors about to fail
        welfare = show.care.welfare
        self.welfare: WelfareWatch | None = None
        self.withdrawal: Withdrawal | None = None
        self._raw: dict[str, float] = {}  # a withdrawable parameter's value before its wearer's gain
        self._driven: tuple[Mapper | None, dict[str, str]] = (None, {})  # parameters a wearer's mappings drive
        self._owners: dict[str, str | None] = {}  # parameter -> its wearer (cached)
        if welfare.enabled:
            self.welfare = WelfareWatch(welfare, self.notices)
            self.add_tap(WelfareTap(self.welfare, self.core.states))
            if welfare.withdraw:
                self.withdrawal = Withdrawal(welfare.withdraw_fade_s)
                self.notices.listen(self._withdraw, self._restore)
        self.steward: StewardNotify | None = None  # [care.notify]: the steward's phone or desk
        if sound is not None:
            self.attach_sound(sound)
        if recorder is not None:
            self.add_tap(RecordingSink(recorder, clock.now_s))
        self.outputs: Outputs | None = None  # the [[outputs]] (for the console's MIDI line)
        if live_outputs:
            if show.care.notify.port is not None:
                self.steward = StewardNotify(show.care.notify)
                self.notices.listen(self.steward.raised, self.steward.cleared)
            o = show.osc_out
            self.sinks["osc"] = OscOutSink(OscOutLink(o.host, o.port, o.rate_hz))
            outputs = Outputs.from_show(show, [m.target for m in mapper.continuous], wearers)
            if len(outputs):
                self.add_tap(OutputsSink(outputs))
                self.outputs = outputs
            if light_outputs(show):  # sACN and Art-Net: the fixtures, rendered and sent by the light rig
                self.sinks["light"] = LightSink(LightRig(show, wearers))
            if show.visual.serve:  # render nodes: the scene's snapshots to other machines
                self.visuals.add_publisher(serve_render_nodes(show, wearers, clock))
        self.outer: list[OuterFeatures] = []  # features and events from outside the core (Link)
        self._outer_due: list[Event] = []  # outer events made ahead of their time, for the taps at their time
        # [care.sensors]: a notice when a wearer's sensor, link or battery is likely to fail soon
        self.sensor_watch = (self.add_tap(SensorWatch(show.care.sensors, self.notices, self.core.states))
                             if show.care.sensors.enabled else None)
        self.blackout = False
        self._commands: queue.Queue[SelectScene | Rebaseline | Mapper] = queue.Queue()
        self._last_params: dict[str, float] = {}
        self._last_features_s = -math.inf
        self._scheduled: list[tuple[float, int, str, float]] = []
        self._schedule_order = itertools.count()
        self._features: dict[str, float] = {}
        self._marks = 0
        self._mark_lock = threading.Lock()
        self._closed = False

    # ---- sinks -----------------------------------------------------------------
    def add_tap(self, sink: TapT) -> TapT:
        """Let ``sink`` see everything (features, events, parameters, notes) from now on."""
        self.taps.append(sink)
        return sink

    def add_outer(self, outer: OuterT) -> OuterT:
        """Ask ``outer`` for its features and events from now on (it is closed with the sinks)."""
        self.outer.append(outer)
        return outer

    def attach_sound(self, engine: SoundOutput) -> None:
        """Route ``sound.*`` parameters to ``engine``."""
        self.sinks["sound"] = SoundSink(engine)

    def detach_sound(self) -> None:
        """Stop routing to the sound engine (it could not start); nothing is closed."""
        self.sinks.pop("sound", None)

    @property
    def sound(self) -> SoundOutput | None:
        """The sound engine the ``sound`` parameters go to (None: no sound)."""
        sink = self.sinks.get("sound")
        return sink.engine if isinstance(sink, SoundSink) else None

    @property
    def features(self) -> dict[str, float]:
        """The feature values last mapped, by address (read-only)."""
        return self._features

    # ---- the operator ------------------------------------------------------------
    def command(self, command: Command) -> object:
        """Carry out an operator command (safe from any thread); returns its outcome.

        A panic returns whether the sound is muted, a blackout whether the picture is
        black, a mark its running number from 1, a consent whether the wearer is one of
        the show's (one that is not is neither carried out nor noted); the rest None. Scenes and re-baselines
        are carried out by the next tick; panic and blackout at once. Every command is
        noted in the recording.
        """
        outcome: object = None
        if isinstance(command, Panic):
            sound = self.sound
            outcome = sound.panic(command.on) if sound is not None else None
            self.note(*record_row(command, outcome))
            return bool(outcome)
        if isinstance(command, Blackout):
            self.blackout = (not self.blackout) if command.on is None else command.on
            outcome = self.blackout
            renderer = self.visuals.renderer
            if renderer is not None and renderer.started:
                renderer.command(f"blackout:{'on' if self.blackout else 'off'}")
            log.warning("visuals: blackout %s", "on" if self.blackout else "off")
            for server in self.visuals.publishers:  # and every render node
                server.blackout(self.blackout)
            light = self.sinks.get("light")
            if isinstance(light, LightSink):  # the lights go dark too
                light.rig.set_blackout(self.blackout)
        elif isinstance(command, Mark):
            with self._mark_lock:
                self._marks += 1
                outcome = self._marks
            log.warning("mark %d at %.1f s%s", outcome, self.clock.now_s() - self.stats.started_s,
                        f": {command.label}" if command.label else "")
        elif isinstance(command, Consent):
            if command.wearer not in self.wearers:
                log.warning("consent: there is no wearer %s (the slots are %s); nothing changed", command.wearer,
                            ", ".join(self.wearers))
                return False
            outcome = True
            log.warning("consent: %s agreed to be recorded; their data are written from now", command.wearer)
        elif isinstance(command, (SelectScene, Rebaseline)):
            self._commands.put(command)
        else:
            raise TypeError(f"the pipeline does not carry out {command!r}")
        self.note(*record_row(command, outcome))
        return outcome

    def reload(self, mapper: Mapper) -> None:
        """Play the show with new mappings from the next tick on (live editing; any thread)."""
        self._commands.put(mapper)

    def note(self, kind: str, value: object) -> None:
        """Tell the taps of an operator action or a scene change (for the recording)."""
        now_s = self.clock.now_s()
        for tap in self.taps:
            tap.note(now_s, kind, value)

    def _carry_out_queued(self) -> None:
        while True:
            try:
                item = self._commands.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, SelectScene):
                scenes = self.mapper.scenes
                name = item.name or (scenes.by_key(item.key) if scenes and item.key else None)
                if scenes is None or name is None or not scenes.select(name, self.clock.now_s()):
                    log.warning("no scene %s to switch to", name or f"on key {item.key}")
            elif isinstance(item, Mapper):
                self.mapper = item  # parameters glide to their new values in the patch and scene
                self._last_params.clear()
                log.warning("show file reloaded: %d mappings", len(item.mappings))
            else:
                self.core.rebaseline(item.wearer)
                if self.welfare is not None:
                    self.welfare.rebaseline(item.wearer)
                log.warning("re-baselining %s from now", item.wearer or "every wearer")

    # ---- the welfare watch's response ----------------------------------------------
    def _withdraw(self, notice: Notice) -> None:
        """A welfare notice stands: fade the wearer's voice and light out (board listener)."""
        if self.withdrawal is not None and notice.rule.startswith("care.") and WEARER_RE.fullmatch(notice.wearer):
            if not self.withdrawal.withdrawn(notice.wearer):
                log.warning("care: %s's voice and light fade out of the piece while the notice stands", notice.wearer)
            self.withdrawal.withdraw(notice.wearer, self.clock.now_s())

    def _restore(self, wearer: str, rule: str) -> None:
        """A welfare notice ended: fade the wearer back in once none of theirs stands (board listener)."""
        if self.withdrawal is None or not rule.startswith("care.") or not self.withdrawal.withdrawn(wearer):
            return
        if not any(n.rule.startswith("care.") for n in self.notices.standing(wearer)):
            log.warning("care: %s's voice and light fade back into the piece", wearer)
            self.withdrawal.restore(wearer, self.clock.now_s())

    def _owner(self, address: str) -> str | None:
        """The wearer whose voice or light ``address`` is (None: the whole piece's)."""
        mapper, driven = self._driven
        if mapper is not self.mapper:
            driven = {}
            for m in self.mapper.mappings:
                if m.source_wearer not in (None, "p*") and "p*" not in m.target:
                    driven[m.target] = m.source_wearer
            self._driven = (self.mapper, driven)
            self._owners.clear()
        try:
            return self._owners[address]
        except KeyError:
            found = self._owners[address] = owner(address, driven)
            return found

    def _gain(self, address: str, now_s: float) -> float:
        """The withdrawal's gain on a parameter or trigger (1: untouched)."""
        withdrawal = self.withdrawal
        if not withdrawal:
            return 1.0
        wearer = self._owner(address)
        return 1.0 if wearer is None else withdrawal.gain(wearer, now_s)

    def _apply_withdrawal(self, now_s: float) -> None:
        """Send the parameters of wearers fading out or in again, at their gain of now (each feature tick)."""
        withdrawal = self.withdrawal
        if not withdrawal:
            return
        for wearer in withdrawal.moving(now_s):
            level = f"sound.{wearer}.level"
            addresses = [a for a in self._raw if self._owner(a) == wearer]
            if level not in self._raw and "sound" in self.sinks:
                self._raw[level] = 1.0  # the patch's default: a voice at full level
                addresses.append(level)
            for address in addresses:
                self._set(address, self._raw[address], now_s)

    # ---- the tick --------------------------------------------------------------
    def tick(self, batch: list[SampleBlock]) -> None:
        """One pass: queued commands, the blocks' analysis (events go out at once), due
        triggers, features mapped at most every ``FEATURE_PERIOD_S``, sinks flushed."""
        self._carry_out_queued()
        if batch:
            self.analyse(batch)
            self.visuals.flush(self.clock.now_s())  # a beat's snapshot leaves before the features are mapped
        now_s = self.clock.now_s()
        while self._outer_due and self._outer_due[0].time_s <= now_s:
            self._tell_taps(self._outer_due.pop(0))
        for outer in self.outer:
            for event in outer.take_events(now_s):
                self._outer_event(event)
        self._fire_scheduled(now_s)
        if now_s - self._last_features_s >= FEATURE_PERIOD_S:
            self._last_features_s = now_s
            self._apply_features(now_s)
        self.flush(now_s)

    def flush(self, now_s: float) -> None:
        """Flush every sink (the end of a tick)."""
        for sink in self.sinks.values():
            sink.flush(now_s)
        for tap in self.taps:
            tap.flush(now_s)

    def analyse(self, blocks: list[SampleBlock]) -> None:
        """Analyse what arrived in one go (one kernel call per kind of channel); events go out at once."""
        self.stats.blocks += len(blocks)
        self.stats.samples += sum(block.values.size for block in blocks)
        for event in self.core.process_many(blocks):
            self._tell_taps(event)
            if event.time_s > event.reported_s:  # a predicted beat: land on it, not now
                ahead_s = (event.time_s - event.reported_s) - (self.clock.now_s() - event.arrival_s)
                if ahead_s > 0.0:
                    for address, value in self.mapper.apply_event(event):
                        self._schedule(address, value, ahead_s)
                continue
            for address, value in self.mapper.apply_event(event):
                self._fire(address, value, event.arrival_s)
            self.stats.trigger_latency_s.append(self.clock.now_s() - event.arrival_s)
            if event.address.endswith(".heart.beat"):
                self.stats.beat_times_s.setdefault(event.wearer, []).append(event.time_s)

    def _outer_event(self, event: Event) -> None:
        """An event from outside the core (a Link beat): to its triggers and the taps, now or
        (dated ahead) on its time: the sound takes it ahead to land on its buffer."""
        ahead_s = event.time_s - self.clock.now_s()
        if ahead_s > 0.0:
            self._outer_due.append(event)  # made in time order: the list stays sorted
        else:
            self._tell_taps(event)
        for address, value in self.mapper.apply_event(event):
            if ahead_s > 0.0:
                self._schedule(address, value, ahead_s)
            else:
                self._fire(address, value, event.arrival_s)

    def _tell_taps(self, event: Event) -> None:
        if not self.taps:
            return
        now_s = self.clock.now_s()
        # dated back from the arrival to the beat's or SCR's own time, on the show's clock
        firing = Firing(event.address, event.value, now_s, event.time_s,
                        event.arrival_s - (event.reported_s - event.time_s), event.arrival_s, event.onset_s)
        for tap in self.taps:
            tap.trigger(firing)

    def _schedule(self, address: str, value: float, ahead_s: float) -> None:
        """A trigger due ``ahead_s`` seconds from now: a sink that can keep time takes it at once
        (the sound, on its audio clock, to a buffer); the others get it from a tick (~10-20 ms)."""
        family, _, rest = address.partition(".")
        sink = self.sinks.get(family)
        if sink is not None and sink.delays_triggers:
            now_s = self.clock.now_s()
            if self.withdrawal:  # (a trigger the pipeline keeps meets the gain when it fires)
                gain = self._gain(address, now_s)
                if gain == 0.0:
                    return  # the wearer is out of the piece
                value *= gain
            sink.trigger(Firing(rest, value, now_s, now_s, now_s + ahead_s, now_s, delay_s=ahead_s))
            return
        if family == "sound":
            return  # no sound to play it
        heapq.heappush(self._scheduled, (self.clock.now_s() + ahead_s, next(self._schedule_order), address, value))

    def _fire_scheduled(self, now_s: float) -> None:
        while self._scheduled and self._scheduled[0][0] <= now_s:
            _, _, address, value = heapq.heappop(self._scheduled)
            self._fire(address, value)

    def _fire(self, address: str, value: float, stamp_s: float = math.nan) -> None:
        """Fire a trigger; ``stamp_s``: monotonic time of the sensor event behind it (default: now)."""
        now_s = self.clock.now_s()
        if self.withdrawal:
            gain = self._gain(address, now_s)
            if gain == 0.0:
                return  # the wearer is out of the piece
            value *= gain
        family, _, rest = address.partition(".")
        stamp_s = now_s if stamp_s != stamp_s else stamp_s
        sink = self.sinks.get(family)
        if sink is not None:
            sink.trigger(Firing(rest, value, now_s, now_s, now_s, stamp_s))
        if self.taps:
            firing = Firing(address, value, now_s, now_s, now_s, stamp_s)
            for tap in self.taps:
                tap.trigger(firing)

    def _set(self, address: str, value: float, now_s: float) -> None:
        if self.withdrawal is not None and self._owner(address) is not None:
            self._raw[address] = value
            value *= self._gain(address, now_s)
        family, _, rest = address.partition(".")
        sink = self.sinks.get(family)
        if sink is not None:
            sink.set(rest, value, now_s)
        for tap in self.taps:
            tap.set(address, value, now_s)

    def _apply_features(self, now_s: float) -> None:
        mapper = self.mapper
        self._features = self.core.features(now_s)
        for outer in self.outer:
            self._features.update(outer.features(now_s, self._features))
        values = mapper.apply_features(self._features, now_s, self.core.wearers)
        for address, value in mapper.fired:
            self._fire(address, value)
        if mapper.scenes is not None and mapper.scenes.changes:
            for name in mapper.scenes.changes:
                log.warning("scene: %s", name)
                self.note("scene", name)
            mapper.scenes.changes.clear()
        for event in self.core.take_events():  # arrivals and departures
            self._tell_taps(event)
            for address, value in mapper.apply_event(event):
                self._fire(address, value)
        for tap in self.taps:
            tap.features(now_s, self._features)
        last = self._last_params
        for address, value in values.items():
            if abs(last.get(address, math.inf) - value) < 1e-4:
                continue
            last[address] = value
            self._set(address, value, now_s)
        self._apply_withdrawal(now_s)

    # ---- the end -----------------------------------------------------------------
    def close(self) -> None:
        """Close every sink once: the recording, the visuals, the sound (fading out), the
        live outputs. Each failure is logged and the others still close."""
        if self._closed:
            return
        self._closed = True
        if self.steward is not None:
            self.steward.close()
        for sink in [*self.outer, *self.taps, *self.sinks.values()]:
            try:
                sink.close()
            except Exception as exc:  # shutting down: say it, carry on
                log.warning("closing %s failed: %s", type(sink).__name__, exc)
        self.stats.stopped_s = self.clock.now_s()
