"""Snapshots: the compact state the show sends to the scene, and applying them to it.

The show's process sends a :class:`Snapshot` whenever its visual parameters
change; the scene's side (the visuals process, or an offline render) applies it
with a :class:`SceneFeed`. Trigger counts are cumulative, so a dropped snapshot
loses no beat; each trigger carries the time stamp of the sensor event that fired
it, so the frame that first shows it can say how long it took.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from installation.visuals.scene_clock import SceneClock

#: On the first snapshot a (re)started scene sees, triggers older than this are history, not news.
STALE_TRIGGER_S = 0.5


@dataclass(slots=True)
class Snapshot:
    """Compact state sent to the visuals process.

    Attributes
    ----------
    stamp_s : float
        Monotonic time in seconds when the snapshot was made.
    values : dict
        Continuous visual parameters (address without ``visual.``) -> value.
    trigger_counts : dict
        Trigger address -> number of times fired since the start.
    trigger_values : dict
        Trigger address -> value of the latest firing.
    trigger_stamps : dict
        Trigger address -> monotonic time in seconds of the sensor event behind its latest firing.
    status : OperatorStatus, optional
        The show's health for the operator overlay (sent now and then, not with every snapshot).
    scene_clock : SceneClock, optional
        The show's animation clock read at ``stamp_s`` (the one its render nodes follow): the
        conductor's window follows it too, so that it shows the nodes' scene time.
    """

    stamp_s: float
    values: dict[str, float] = field(default_factory=dict)
    trigger_counts: dict[str, int] = field(default_factory=dict)
    trigger_values: dict[str, float] = field(default_factory=dict)
    trigger_stamps: dict[str, float] = field(default_factory=dict)
    status: Any = None
    scene_clock: SceneClock | None = None


class SceneLike(Protocol):
    def set(self, address: str, value: float) -> None: ...

    def trigger(self, address: str, value: float) -> None: ...


class SceneFeed:
    """Applies snapshots to a scene: values set, new triggers fired once each.

    Parameters
    ----------
    scene : scene
        Anything with ``set(address, value)`` and ``trigger(address, value)``.
    """

    def __init__(self, scene: SceneLike) -> None:
        self.scene = scene
        self.counts: dict[str, int] = {}
        self.pending_stamps_s: list[float] = []
        self.arrival_delays_s: list[float] = []  # sensor event -> its snapshot applied here, per trigger
        self.status: Any = None
        self._first = True

    def apply(self, snapshot: Snapshot, now_s: float) -> bool:
        """Apply one snapshot at monotonic time ``now_s``; True when it fired a trigger."""
        scene = self.scene
        for address, value in snapshot.values.items():
            scene.set(address, value)
        fired = False
        for address, n in snapshot.trigger_counts.items():
            if n <= self.counts.get(address, 0):
                continue
            self.counts[address] = n
            stamp_s = snapshot.trigger_stamps.get(address, snapshot.stamp_s)
            if self._first and now_s - stamp_s > STALE_TRIGGER_S:
                continue  # a restarted scene: that beat is long gone
            scene.trigger(address, snapshot.trigger_values.get(address, 1.0))
            self.pending_stamps_s.append(stamp_s)
            self.arrival_delays_s.append(now_s - stamp_s)
            fired = True
        if snapshot.status is not None:
            self.status = snapshot.status
        self._first = False
        return fired

    def take_shown(self, shown_s: float) -> list[float]:
        """Seconds from each trigger's sensor event to ``shown_s``, the time its first frame was shown."""
        out = [shown_s - s for s in self.pending_stamps_s]
        self.pending_stamps_s.clear()
        return out
