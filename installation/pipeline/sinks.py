"""Where the pipeline's output goes: one small interface, and the show's sinks behind it.

A sink is told values (:meth:`Sink.set`), triggers and events (:meth:`Sink.trigger`,
one :class:`Firing` each), the features of a feature tick (:meth:`Sink.features`),
the operator's actions and scene changes (:meth:`Sink.note`); :meth:`Sink.flush`
ends every tick and :meth:`Sink.close` ends the show. Every method but ``flush`` and
``close`` has a do-nothing default, so a sink says only what it cares about.

Two kinds of sink:

* **parameter sinks**, one per address family (``sound``, ``visual``, ``osc``): they
  get the parameters under their name, without it (``sound.p1.pulse`` -> ``p1.pulse``);
* **taps** (the ``[[outputs]]``, the recorder, a replay's parameter log, a benchmark):
  they get everything, with full addresses: features, core events (``p1.heart.beat``),
  every parameter value and trigger (``sound.p1.pulse``), and the notes.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Callable, Mapping

from installation.lights.rig import LightRig
from installation.outputs.fanout import Outputs
from installation.outputs.osc import OscOutLink
from installation.record.writer import RECORDED_EVENTS, RecordSink
from installation.sound.output import SoundOutput
from installation.status import OperatorStatus
from installation.visuals.feed import Snapshot
from installation.visuals.process import Renderer
from installation.visuals.scene_clock import SceneClock
from installation.visuals.serve import SnapshotServer

log = logging.getLogger(__name__)

SNAPSHOT_PERIOD_S = 1.0 / 120.0


@dataclass(frozen=True, slots=True)
class Firing:
    """One trigger or event, as the pipeline hands it to sinks.

    Attributes
    ----------
    address : str
        ``p1.heart.beat`` (a core event, to taps), ``sound.p1.pulse`` (a trigger, to
        taps), ``p1.pulse`` (the same trigger, to the ``sound`` sink).
    value : float
        The event's or trigger's value (a beat: the heart rate in bpm).
    now_s : float
        When the pipeline fires it, seconds on the show's clock.
    time_s : float
        When it happened, seconds on its source's clock (a trigger: ``now_s``).
    at_s : float
        When it happened, seconds on the show's clock (a beat dated back from its
        block's arrival to the beat itself; a trigger: ``now_s``).
    stamp_s : float
        Monotonic arrival time of the sensor data behind it (for latency figures).
    onset_s : float
        A skin-conductance response's onset, on the source's clock; else NaN.
    delay_s : float
        A trigger due this many seconds from now (a predicted beat); 0: now.
    """

    address: str
    value: float
    now_s: float
    time_s: float
    at_s: float
    stamp_s: float
    onset_s: float = math.nan
    delay_s: float = 0.0


class Sink:
    """The interface every sink presents (do-nothing defaults)."""

    #: True when the sink can take a trigger due later (``Firing.delay_s``) itself;
    #: otherwise the pipeline keeps it and fires it when due (to a tick, ~10-20 ms).
    delays_triggers = False

    def set(self, address: str, value: float, now_s: float) -> None:
        """A continuous parameter's new value."""

    def trigger(self, firing: Firing) -> None:
        """A trigger fired (parameter sinks and taps), or an event (taps)."""

    def features(self, now_s: float, values: Mapping[str, float]) -> None:
        """Every feature at a feature tick (taps), by address."""

    def note(self, now_s: float, kind: str, value: object) -> None:
        """An operator action (``operator.panic``) or a scene change (``scene``)."""

    def flush(self, now_s: float) -> None:
        """The end of a tick: send what was gathered."""

    def close(self) -> None:
        """The end of the show: stop, and release what the sink holds."""


class SoundSink(Sink):
    """The ``sound`` family: a sound engine (the patch behind its safety chain), in this
    process or in the sound process."""

    delays_triggers = True  # on the audio clock, to a buffer

    def __init__(self, engine: SoundOutput) -> None:
        self.engine = engine

    def set(self, address: str, value: float, now_s: float) -> None:
        self.engine.set(address, value)

    def trigger(self, firing: Firing) -> None:
        self.engine.trigger(firing.address, firing.value, delay_s=firing.delay_s)

    def flush(self, now_s: float) -> None:
        self.engine.flush()

    def close(self) -> None:
        self.engine.stop()  # the master fade-out


class VisualSink(Sink):
    """The ``visual`` family: collects parameters and triggers into a :class:`Snapshot`
    and sends it to the visuals process (when there is one).

    Values are sent at most every ``SNAPSHOT_PERIOD_S``; a trigger goes out with the
    next flush at once, stamped with the arrival of the sensor event behind it. Without
    a renderer the snapshot is still kept (the offline render draws it).

    The sink keeps the scene's animation clock (:class:`~installation.visuals.scene_clock.SceneClock`,
    its time counted from the first snapshot sent and its speed steered by ``visual.drift``)
    and sends its reading with every snapshot: the conductor's window and its render nodes
    follow the same one, so they show the same scene time.
    """

    def __init__(self, renderer: Renderer | None, clock: Callable[[], float]) -> None:
        self.renderer = renderer
        self.clock = clock
        self.snapshot = Snapshot(0.0)
        self._dirty = False
        self._urgent = False
        self._status: OperatorStatus | None = None
        self._last_push_s = -math.inf
        self.publishers: list[SnapshotServer] = []  # render nodes' servers: the same snapshots, over the network
        self.scene_clock = SceneClock()
        self._epoch_s = math.nan  # the show's clock at the first snapshot sent (scene time 0)

    def add_publisher(self, server: SnapshotServer) -> None:
        """Send every snapshot to ``server`` too (render nodes); it is closed with this sink."""
        self.publishers.append(server)
        self._dirty = self._urgent = True

    def set(self, address: str, value: float, now_s: float) -> None:
        self.snapshot.values[address] = value
        self._dirty = True

    def trigger(self, firing: Firing) -> None:
        s, address = self.snapshot, firing.address
        s.trigger_counts[address] = s.trigger_counts.get(address, 0) + 1
        s.trigger_values[address] = firing.value
        s.trigger_stamps[address] = firing.stamp_s
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
        if (self.renderer is None and not self.publishers) or not self._dirty:
            return
        if not force and not self._urgent and now_s - self._last_push_s < SNAPSHOT_PERIOD_S:
            return
        s = self.snapshot
        stamps = {a: (t if t == t else now_s) for a, t in s.trigger_stamps.items()}
        if not math.isfinite(self._epoch_s):
            self._epoch_s = now_s
        self.scene_clock = self.scene_clock.steer(now_s - self._epoch_s, s.values.get("drift", math.nan))
        snapshot = Snapshot(now_s, dict(s.values), dict(s.trigger_counts), dict(s.trigger_values), stamps, self._status,
                            self.scene_clock)
        if self.renderer is not None:
            self.renderer.push(snapshot)
        for server in self.publishers:
            server.publish(snapshot)
        self._status = None
        self._dirty = self._urgent = False
        self._last_push_s = now_s

    def close(self) -> None:
        if self.renderer is not None or self.publishers:
            self.flush(self.clock(), force=True)  # the last state, for a window that fades out
        if self.renderer is not None:
            self.renderer.stop()
        for server in self.publishers:
            server.close()


class OscOutSink(Sink):
    """The ``osc`` family: ``osc.out./address`` parameters to ``[osc_out]``, one float each."""

    def __init__(self, link: OscOutLink) -> None:
        self.link = link

    def set(self, address: str, value: float, now_s: float) -> None:
        self.link.send(address.removeprefix("out."), value, now_s)

    def trigger(self, firing: Firing) -> None:
        self.link.send(firing.address.removeprefix("out."), firing.value, firing.now_s, force=True)

    def flush(self, now_s: float) -> None:
        self.link.flush(now_s)

    def close(self) -> None:
        self.link.close()


class OutputsSink(Sink):
    """A tap: the show's ``[[outputs]]`` (OSC peers, LSL outlets), sent on their own schedules."""

    def __init__(self, outputs: Outputs) -> None:
        self.outputs = outputs
        self._features: Mapping[str, float] = {}
        self._params: dict[str, float] = {}
        self._due = False

    def features(self, now_s: float, values: Mapping[str, float]) -> None:
        self._features = values  # the core's own dict, fresh each tick: kept, not copied
        self._due = True

    def set(self, address: str, value: float, now_s: float) -> None:
        self._params[address] = value

    def trigger(self, firing: Firing) -> None:
        self.outputs.event(firing.address, firing.value, firing.time_s, firing.onset_s)

    def flush(self, now_s: float) -> None:
        if self._due:  # at the feature rate: each output keeps its own schedule below it
            self._due = False
            self.outputs.update(now_s, self._features, self._params)

    def close(self) -> None:
        self.outputs.close()


class LightSink(Sink):
    """The ``light`` family: the fixtures' parameters and triggers to the light rig, which renders
    and sends them on its own thread and process; it starts with the first tick, and each tick
    tells it the pipeline is alive (a stall of more than a second brings up the house look)."""

    def __init__(self, rig: LightRig) -> None:
        self.rig = rig
        self._started = False

    def set(self, address: str, value: float, now_s: float) -> None:
        self.rig.set(address, value)

    def trigger(self, firing: Firing) -> None:
        self.rig.trigger(firing.address, firing.value)

    def flush(self, now_s: float) -> None:
        if not self._started:
            self._started = True
            self.rig.start()
        self.rig.fed()

    def close(self) -> None:
        self.rig.close()

class RecordingSink(Sink):
    """A tap: beats, SCRs, operator actions and scene changes into a recording
    (a :class:`installation.record.writer.Recorder`, or a replay's event log).

    The samples go to the recording from the reader threads, not through here.
    """

    def __init__(self, recorder: RecordSink, clock: Callable[[], float]) -> None:
        self.recorder = recorder
        self.clock = clock

    def trigger(self, firing: Firing) -> None:
        wearer, _, kind = firing.address.partition(".")
        if kind in RECORDED_EVENTS:
            self.recorder.event(firing.at_s, wearer, kind, firing.value)

    def note(self, now_s: float, kind: str, value: object) -> None:
        self.recorder.event(now_s, "", kind, value)

    def close(self) -> None:
        self.recorder.stop(self.clock())


@dataclass(slots=True)
class ParameterLog(Sink):
    """A tap that keeps every parameter value and trigger handed to the parameter sinks,
    as rows ``(time_s, "set" | "trigger", address, value)`` (strings, for a CSV file)."""

    families: tuple[str, ...] = ("sound", "visual", "osc", "light")
    rows: list[tuple[str, str, str, str]] = field(default_factory=list)

    def _keep(self, now_s: float, kind: str, address: str, value: float) -> None:
        if address.partition(".")[0] in self.families:
            self.rows.append((f"{now_s:.6f}", kind, address, f"{float(value):.6g}" if math.isfinite(value) else ""))

    def set(self, address: str, value: float, now_s: float) -> None:
        self._keep(now_s, "set", address, value)

    def trigger(self, firing: Firing) -> None:
        self._keep(firing.now_s, "trigger", firing.address, firing.value)
