"""The state stream from a conductor to its render nodes: messages, encoded and decoded.

One JSON object per line (UTF-8), so ``nc HOST PORT`` shows it. From the conductor:

``hello``  on connecting: ``session`` (new each time the conductor starts), ``wearers``
           (the scene's slots), ``flash_limit``, ``max_flashes_per_s``, ``title``.
``state``  ``seq`` (the snapshot's sequence number since the conductor started), ``t``
           (the snapshot's stamp, seconds on the conductor's monotonic clock), ``sent``
           (when this line left), ``key`` (true: the whole state; false: only what changed
           since the last line to this node), ``clock`` (the scene clock's reading at ``t``,
           :class:`installation.visuals.scene_clock.SceneClock`), ``values``, ``counts``,
           ``tvals``, ``tstamps`` (a :class:`installation.visuals.feed.Snapshot`'s dicts, or
           the part of them that changed), ``blackout`` (the operator's), and now and then
           ``status`` (the operator overlay's figures).
``pong``   the answer to a node's ``ping``: the node's ``ping`` time and the conductor's ``t``.

From a node: ``ping`` with ``t``, its own clock (for the clock offset).

A line the conductor sends repeats nothing the node already has, except in a key
line (the first on each connection, then every few seconds); trigger counts are
cumulative, so the node fires each new beat once whatever it missed. Pure: no
sockets here.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

from installation.status import OperatorStatus, SourceStatus, WearerStatus
from installation.visuals.feed import Snapshot
from installation.visuals.scene_clock import SceneClock

WIRE_VERSION = 1
#: Longest line a node accepts, bytes (a 100-wearer show's key line is ~0.3 MB).
MAX_LINE_BYTES = 4 * 1024 * 1024


class WireError(ValueError):
    """A line that is not a message of this stream."""


def _line(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode() + b"\n"


def hello_line(session: str, wearers: list[str], title: str, flash_limit: bool, max_flashes_per_s: float) -> bytes:
    """The first line on each connection."""
    return _line({"type": "hello", "v": WIRE_VERSION, "session": session, "wearers": list(wearers), "title": title,
                  "flash_limit": flash_limit, "max_flashes_per_s": max_flashes_per_s})


def ping_line(t_s: float, seq: int | None = None, tile: str | None = None) -> bytes:
    """A node's ping at its clock's ``t_s``; with the newest snapshot it drew (``seq``) and its ``tile``
    (``2/3``), so that the conductor can list its nodes."""
    message: dict[str, Any] = {"type": "ping", "t": t_s}
    if seq is not None:
        message["seq"] = int(seq)
    if tile is not None:
        message["tile"] = tile
    return _line(message)


def pong_line(ping_s: float, t_s: float) -> bytes:
    return _line({"type": "pong", "ping": ping_s, "t": t_s})


def status_to_dict(status: OperatorStatus) -> dict[str, Any]:
    return dataclasses.asdict(status)


def status_from_dict(d: dict[str, Any]) -> OperatorStatus:
    return OperatorStatus(
        wearers=[WearerStatus(**w) for w in d.get("wearers", [])],
        loop_latency_ms=float(d.get("loop_latency_ms", math.nan)),
        audio_xruns=int(d.get("audio_xruns", 0)),
        sources=[SourceStatus(**s) for s in d.get("sources", [])],
        scene=str(d.get("scene", "")),
        panicked=bool(d.get("panicked", False)),
    )


def _changed(now: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in now.items() if before.get(k, _MISSING) != v}


_MISSING = object()


class StateEncoder:
    """Lines of one connection: each ``state`` line carries what changed since the last (pure)."""

    def __init__(self) -> None:
        self._sent: dict[str, dict[str, Any]] = {"values": {}, "counts": {}, "tvals": {}, "tstamps": {}}
        self.lines = 0

    def encode(self, seq: int, snapshot: Snapshot, clock: SceneClock, sent_s: float, key: bool,
               blackout: bool = False, status: OperatorStatus | None = None) -> bytes:
        """The ``state`` line for ``snapshot`` (number ``seq``); ``key``: the whole state."""
        parts = {"values": snapshot.values, "counts": snapshot.trigger_counts, "tvals": snapshot.trigger_values,
                 "tstamps": snapshot.trigger_stamps}
        message: dict[str, Any] = {"type": "state", "seq": seq, "t": snapshot.stamp_s, "sent": sent_s, "key": key,
                                   "clock": clock.as_list(), "blackout": blackout}
        for name, now in parts.items():
            message[name] = dict(now) if key else _changed(now, self._sent[name])
            self._sent[name] = dict(now)
        if status is not None:
            message["status"] = status_to_dict(status)
        self.lines += 1
        return _line(message)


@dataclasses.dataclass(slots=True)
class StateLine:
    """One decoded ``state`` line, with the whole state it brings the node to."""

    seq: int
    stamp_s: float
    sent_s: float
    key: bool
    clock: SceneClock
    blackout: bool
    snapshot: Snapshot
    changed: int


class StateDecoder:
    """Rebuilds the whole state from one connection's lines (pure; one per connection)."""

    def __init__(self) -> None:
        self.values: dict[str, float] = {}
        self.counts: dict[str, int] = {}
        self.tvals: dict[str, float] = {}
        self.tstamps: dict[str, float] = {}
        self.keyed = False

    def decode(self, message: dict[str, Any]) -> StateLine:
        """Apply a ``state`` message; the whole state it leads to, as a fresh :class:`Snapshot`."""
        try:
            if message["key"]:
                self.values, self.counts, self.tvals, self.tstamps = {}, {}, {}, {}
                self.keyed = True
            changed = 0
            for name, into, cast in (("values", self.values, float), ("counts", self.counts, int),
                                     ("tvals", self.tvals, float), ("tstamps", self.tstamps, float)):
                part = message.get(name, {})
                changed += len(part)
                for k, v in part.items():
                    into[str(k)] = cast(v)
            status = message.get("status")
            snapshot = Snapshot(float(message["t"]), dict(self.values), dict(self.counts), dict(self.tvals),
                                dict(self.tstamps), status_from_dict(status) if isinstance(status, dict) else None)
            return StateLine(int(message["seq"]), float(message["t"]), float(message.get("sent", message["t"])),
                             bool(message["key"]), SceneClock.from_list(message["clock"]),
                             bool(message.get("blackout", False)), snapshot, changed)
        except (KeyError, TypeError, ValueError) as exc:
            raise WireError(f"a state line the node cannot read ({type(exc).__name__}: {exc})") from None


def parse_line(line: bytes) -> dict[str, Any]:
    """One line -> its message (a dict with a ``type``)."""
    try:
        message = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WireError(f"not a JSON line ({exc})") from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise WireError("a line without a message type")
    return message
