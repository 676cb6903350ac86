"""A hub's LSL outlets: each wearer's signals as streams, samples pushed with their own times.

A source's sample times (``SampleBlock.times_s``) are on the source's clock: a
device's, the simulation's, or a clock rebuilt from packet stamps
(:mod:`installation.sensors.sample_clock`). The publisher ties each source's clock
to LSL's (:func:`pylsl.local_clock`) once, at its first block (its last sample taken
at its arrival), and keeps that offset, so a sample's spacing is the source's own,
not its arrival jitter. A source whose clock jumps (a device restarted) is tied again.
Receivers then apply LSL's clock offsets between machines (``proc_clocksync``).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pylsl

from installation.clock import Clock, MonotonicClock
from installation.sensors.hub_streams import KIND_OF_SIGNAL, KINDS, source_id, stream_name
from installation.sensors.base import SampleBlock

log = logging.getLogger(__name__)

#: A source clock further than this from arrival (after the tie) is tied again, seconds.
RETIE_S = 2.0


@dataclass(slots=True)
class HubStream:
    """One published stream and its counts."""

    name: str
    kind: str
    wearer: str
    rate_hz: float
    outlet: pylsl.StreamOutlet
    tie_s: float = float("nan")  # LSL time of the source's time 0, seconds
    samples: int = 0
    samples_this_second: int = 0
    last_value: float = float("nan")
    pending: dict[str, list[tuple[np.ndarray, np.ndarray]]] = field(default_factory=dict)  # acc axes not yet paired


def make_outlet(hub: str, wearer: str, kind: str, rate_hz: float, chunk_size: int = 1) -> pylsl.StreamOutlet:
    """The outlet of one wearer's stream of ``kind``, described as XDF's meta-data convention says."""
    k = KINDS[kind]
    info = pylsl.StreamInfo(stream_name(hub, wearer, kind), k.lsl_type, len(k.labels),
                            rate_hz if k.regular else pylsl.IRREGULAR_RATE, "float32", source_id(hub, wearer, kind))
    desc = info.desc()
    desc.append_child_value("manufacturer", "Eco-Symphony")
    desc.append_child_value("wearer", wearer)
    desc.append_child_value("hub", hub)
    channels = desc.append_child("channels")
    for label in k.labels:
        ch = channels.append_child("channel")
        ch.append_child_value("label", label)
        ch.append_child_value("unit", k.unit)
        ch.append_child_value("type", k.lsl_type)
    return pylsl.StreamOutlet(info, chunk_size=chunk_size)


class HubPublisher:
    """Publishes blocks of samples as one LSL stream per wearer and signal kind.

    Parameters
    ----------
    hub : str
        The hub's name.
    clock : Clock, optional
        The monotonic clock ``SampleBlock.arrival_s`` is on.
    """

    def __init__(self, hub: str, clock: Clock | None = None,
                 on_new_stream: Callable[[HubStream], None] | None = None) -> None:
        self.hub = hub
        self.on_new_stream = on_new_stream
        self.clock = clock or MonotonicClock()
        self.streams: dict[tuple[str, str], HubStream] = {}
        self._ties: dict[int, float] = {}  # source key -> LSL time minus source time
        self._lock = threading.Lock()
        self._lsl_minus_mono_s = pylsl.local_clock() - self.clock.now_s()

    def _tie(self, source_key: int, block: SampleBlock) -> float:
        arrival_lsl_s = block.arrival_s + self._lsl_minus_mono_s
        tie = self._ties.get(source_key)
        if tie is None or abs(block.times_s[-1] + tie - arrival_lsl_s) > RETIE_S:
            if tie is not None:
                log.info("hub %s: a source's clock jumped by %.1f s; tied to LSL's again", self.hub,
                         arrival_lsl_s - (block.times_s[-1] + tie))
            tie = arrival_lsl_s - float(block.times_s[-1])
            self._ties[source_key] = tie
        return tie

    def _stream(self, wearer: str, kind: str, rate_hz: float, tie_s: float = float("nan")) -> HubStream:
        key = (wearer, kind)
        stream = self.streams.get(key)
        if stream is None:
            with self._lock:
                outlet = make_outlet(self.hub, wearer, kind, rate_hz)
                stream = HubStream(stream_name(self.hub, wearer, kind), kind, wearer, rate_hz, outlet, tie_s)
                self.streams[key] = stream
            if self.on_new_stream is not None:
                self.on_new_stream(stream)
        stream.tie_s = tie_s if tie_s == tie_s else stream.tie_s
        return stream

    def publish(self, blocks: list[SampleBlock], source_key: int = 0) -> int:
        """Push ``blocks`` (from the source ``source_key``) to their streams; returns samples pushed."""
        pushed = 0
        for block in blocks:
            kind = KIND_OF_SIGNAL.get(block.signal)
            if kind is None or block.values.size == 0:
                continue
            tie = self._tie(source_key, block)
            stamps = block.times_s + tie
            stream = self._stream(block.wearer, kind, block.sampling_rate_hz, tie)
            if kind == "acc":
                pushed += self._push_axis(stream, block.signal, stamps, block.values)
                continue
            stream.outlet.push_chunk(block.values.astype(np.float32).reshape(-1, 1), stamps.tolist())
            stream.samples += block.values.size
            stream.samples_this_second += block.values.size
            stream.last_value = float(block.values[-1])
            pushed += block.values.size
        return pushed

    def push_beat(self, wearer: str, time_lsl_s: float, ibi_s: float) -> None:
        """A beat the hub's own core found: its interval (seconds) stamped with its time on LSL's clock."""
        stream = self._stream(wearer, "beat", 0.0)
        stream.outlet.push_sample([ibi_s], time_lsl_s)
        stream.samples += 1
        stream.samples_this_second += 1
        stream.last_value = ibi_s

    def mono_to_lsl_s(self, mono_s: float) -> float:
        """A time on the monotonic clock, on LSL's."""
        return mono_s + self._lsl_minus_mono_s

    def _push_axis(self, stream: HubStream, signal: str, stamps: np.ndarray, values: np.ndarray) -> int:
        """Axes arrive as separate blocks: push the samples all three have."""
        stream.pending.setdefault(signal, []).append((stamps, values))
        axes = ("acc_x", "acc_y", "acc_z")
        if not all(stream.pending.get(a) for a in axes):
            return 0
        joined = {a: (np.concatenate([t for t, _ in stream.pending[a]]), np.concatenate([v for _, v in stream.pending[a]]))
                  for a in axes}
        n = min(joined[a][0].size for a in axes)
        chunk = np.stack([joined[a][1][:n] for a in axes], axis=1).astype(np.float32)
        stream.outlet.push_chunk(chunk, joined["acc_x"][0][:n].tolist())
        stream.pending = {a: [(joined[a][0][n:], joined[a][1][n:])] if joined[a][0].size > n else [] for a in axes}
        stream.samples += n
        stream.samples_this_second += n
        stream.last_value = float(chunk[-1, 0])
        return n

    def rows(self, elapsed_s: float) -> list[dict[str, object]]:
        """One status row per stream (rates over the last ``elapsed_s`` seconds), as ``listen`` prints them."""
        out = []
        with self._lock:
            items = list(self.streams.items())
        for (wearer, kind), st in sorted(items, key=lambda kv: (int(kv[0][0][1:]) if kv[0][0][1:].isdigit() else 0, kv[0][1])):
            rate, st.samples_this_second = st.samples_this_second / max(elapsed_s, 1e-3), 0
            out.append({"transport": "lsl-out", "hub": self.hub, "stream": st.name, "type": KINDS[kind].lsl_type,
                        "wearer": wearer, "signal": kind, "rate_hz": round(rate, 1), "samples": st.samples,
                        "consumers": int(st.outlet.have_consumers()), "last": round(st.last_value, 4),
                        "tie_s": st.tie_s})
        return out

    def close(self) -> None:
        """Drop every outlet (liblsl closes a stream with its last reference)."""
        self.streams.clear()
