"""Every wearer of the named hubs (``ecosymphony hub``), found and followed continuously over LSL.

Discovery: a :class:`pylsl.ContinuousResolver` keeps the list of hub streams on the
network (by source id, ``ecosymphony:{hub}:{wearer}:{signal}``); a stream that
appears is opened on a worker thread (connecting and measuring its clock offset
take a few tenths of a second) and handed to the reader. A hub that starts late
joins; a hub that stops loses its connections (its inlets report the loss) and its
wearers stop sending, which the core sees as a wearer gone; a hub that comes back
publishes new streams under the same source ids, which are opened again.

Stable slots: hub ``i`` of the source's ``hubs`` list owns ``slots_per_hub``
consecutive slots; its wearer ``pK`` takes the K-th of them, whatever the order in
which hubs are found or come back (:meth:`installation.config.LslSourceConfig.hub_slots`).
The core keeps a slot's state, so a wearer who returns keeps their baseline.

Clocks: inlets are opened with ``proc_clocksync``, so every sample's time is on this
machine's LSL clock (LSL's measured offset to each hub added), then moved onto our
monotonic clock: beats from different hubs share one timeline. LSL measures the offset
again every few seconds; the reader looks at it every :data:`OFFSET_LOOK_S` and every
block carries the offset its samples got (with the hub's name, the stream's source id
and host name) as its :class:`~installation.sensors.base.BlockOrigin`, which the
recording writes into the wearer's stream.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import numpy as np

from installation.clock import Clock, MonotonicClock
from installation.sensors.base import BlockOrigin, SampleBlock, SourceBase
from installation.sensors.hub_streams import KINDS, SOURCE_ID_PREFIX, parse_source_id

import pylsl  # noqa: E402  (after lsl_source's LSLAPICFG default, via the package's other modules)
from pylsl.util import LostError, TimeoutError as LslTimeoutError  # noqa: E402

log = logging.getLogger(__name__)

#: Hub stream kinds a conductor takes by default (not the hubs' own beats).
DEFAULT_KINDS = frozenset({"ppg", "ecg", "eda", "hr", "ibi", "acc", "accm"})
#: An inlet with nothing waiting is pulled anyway this often (to notice a lost hub), seconds.
PULL_ANYWAY_S = 0.5
#: Sleep between looks at the inlets when none had samples, seconds.
IDLE_S = 0.002
#: How often the resolver's list is looked at, seconds.
LOOK_EVERY_S = 0.1
#: A stream that stops answering leaves the resolver's list after this long, seconds.
FORGET_AFTER_S = 3.0
#: How often each inlet's clock offset (LSL's time_correction, updated by LSL itself) is looked at, seconds.
OFFSET_LOOK_S = 1.0


@dataclass(slots=True)
class HubInlet:
    """One open hub stream."""

    key: str
    uid: str
    hub: str
    wearer: str
    slot: str
    kind: str
    rate_hz: float
    host: str
    inlet: pylsl.StreamInlet
    offset_s: float = 0.0  # LSL's clock offset to the hub (time_correction), seconds
    origin: BlockOrigin | None = None  # what the blocks carry (the offset as last looked at)
    next_offset_look_s: float = 0.0  # our clock
    samples: int = 0
    last_t: float = float("-inf")
    next_pull_s: float = 0.0  # our clock
    opened_s: float = field(default_factory=time.monotonic)


def slot_of(slots: dict[str, list[str]], hub: str, wearer: str) -> str | None:
    """The show's slot of a hub's wearer (``pK`` -> the hub's K-th slot); None when it has none (pure)."""
    own = slots.get(hub)
    if own is None or not wearer.startswith("p") or not wearer[1:].isdigit():
        return None
    k = int(wearer[1:])
    return own[k - 1] if 1 <= k <= len(own) else None


class LslHubSource(SourceBase):
    """Every wearer of the named hubs, each in its stable slot.

    Parameters
    ----------
    slots : dict of str to list of str
        Each hub's slots, in order (its wearer ``pK`` takes the K-th).
    kinds : set of str, optional
        Hub stream kinds to take (default: waveforms, EDA, device HR and IBI, acceleration).
    clock : Clock, optional
        Our monotonic clock.
    """

    def __init__(self, slots: dict[str, list[str]], kinds: frozenset[str] = DEFAULT_KINDS, clock: Clock | None = None) -> None:
        self.slots = slots
        self.kinds = kinds
        self.clock = clock or MonotonicClock()
        self.name = "lsl hubs " + ",".join(slots)
        self.inlets: dict[str, HubInlet] = {}
        self._opened: queue.Queue[HubInlet] = queue.Queue()
        self._opening: set[str] = set()  # uids being opened
        self._dead: set[str] = set()  # uids lost: never opened again (a hub that returns has new ones)
        self._unknown: set[str] = set()  # hub wearers with no slot, logged once
        self._stop = threading.Event()
        self._resolver_thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._offset_s = 0.0  # our clock minus LSL's
        self.samples = 0
        self.lost = 0

    @property
    def connected(self) -> bool:
        return bool(self.inlets)

    def open(self) -> None:
        self._offset_s = self.clock.now_s() - pylsl.local_clock()
        self._stop.clear()
        self._pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="lsl-hub-open")
        self._resolver_thread = threading.Thread(target=self._resolve_loop, name="lsl-hub-resolver", daemon=True)
        self._resolver_thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._resolver_thread is not None:
            self._resolver_thread.join(timeout=2.0)
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        for hi in list(self.inlets.values()):
            hi.inlet.close_stream()
        self.inlets.clear()

    def _resolve_loop(self) -> None:
        pred = f"starts-with(source_id,'{SOURCE_ID_PREFIX}')"
        resolver = pylsl.ContinuousResolver(pred=pred, forget_after=FORGET_AFTER_S)
        while not self._stop.wait(LOOK_EVERY_S):
            try:
                infos = resolver.results()
            except Exception as exc:  # never let discovery stop the show
                log.warning("%s: resolving failed (%s); trying again", self.name, exc)
                continue
            current = {hi.uid for hi in self.inlets.values()}
            for info in infos:
                uid = info.uid()
                if uid in current or uid in self._opening or uid in self._dead:
                    continue
                parsed = parse_source_id(info.source_id())
                if parsed is None:
                    continue
                hub, wearer, kind = parsed
                if hub not in self.slots or kind not in self.kinds:
                    continue
                slot = slot_of(self.slots, hub, wearer)
                if slot is None:
                    if (hub, wearer) not in self._unknown:
                        self._unknown.add((hub, wearer))  # type: ignore[arg-type]
                        log.warning("%s: hub %s's wearer %s has no slot (the show keeps %d for it); not heard",
                                    self.name, hub, wearer, len(self.slots[hub]))
                    continue
                self._opening.add(uid)
                assert self._pool is not None
                self._pool.submit(self._open_one, info, hub, wearer, slot, kind)

    def _open_one(self, info: pylsl.StreamInfo, hub: str, wearer: str, slot: str, kind: str) -> None:
        uid = info.uid()
        try:
            inlet = pylsl.StreamInlet(info, max_buflen=10, recover=False, processing_flags=pylsl.proc_clocksync)
            inlet.open_stream(timeout=2.0)
            offset = inlet.time_correction(timeout=2.0)
        except (LostError, LslTimeoutError, RuntimeError) as exc:
            log.warning("%s: cannot open %s (%s); will look again", self.name, info.name(), exc)
            self._opening.discard(uid)
            return
        self._opened.put(HubInlet(info.source_id(), uid, hub, wearer, slot, kind, info.nominal_srate(), info.hostname(),
                                  inlet, offset, BlockOrigin(hub, info.source_id(), info.hostname(), offset)))

    def _take_opened(self) -> None:
        while True:
            try:
                hi = self._opened.get_nowait()
            except queue.Empty:
                return
            old = self.inlets.get(hi.key)
            if old is not None:  # the hub came back before its old connection was seen lost
                self._dead.add(old.uid)
                old.inlet.close_stream()
                hi.last_t = old.last_t
            self.inlets[hi.key] = hi
            self._opening.discard(hi.uid)
            log.info("%s: %s (%s on %s) heard as %s, clock offset %.3f ms", self.name, hi.key, hi.kind, hi.host, hi.slot,
                     hi.offset_s * 1e3)

    def streams(self) -> list[dict[str, object]]:
        """The open hub streams: hub, wearer, slot, kind, host, LSL clock offset (seconds), samples."""
        return [{"hub": hi.hub, "wearer": hi.wearer, "slot": hi.slot, "kind": hi.kind, "host": hi.host,
                 "offset_s": hi.offset_s, "samples": hi.samples} for hi in list(self.inlets.values())]

    def _pull(self, hi: HubInlet, arrival_s: float) -> list[SampleBlock]:
        # Asking whether samples wait costs ~2 us, pulling an empty chunk ~26 us (measured): pull
        # only when there are some, or twice a second (a pull is what reports a lost connection).
        if not hi.inlet.samples_available():
            if arrival_s < hi.next_pull_s:
                return []
        hi.next_pull_s = arrival_s + PULL_ANYWAY_S
        samples, stamps = hi.inlet.pull_chunk(timeout=0.0)
        if not stamps:
            return []
        if arrival_s >= hi.next_offset_look_s:
            hi.next_offset_look_s = arrival_s + OFFSET_LOOK_S
            self._look_at_offset(hi)
        data = np.asarray(samples, dtype=float)
        t = np.asarray(stamps, dtype=float) + self._offset_s
        if t[0] <= hi.last_t:  # a clock offset update stepped back: keep time moving forward
            t = t + (hi.last_t - t[0]) + 1.0 / (hi.rate_hz or 1000.0)
        hi.last_t = float(t[-1])
        hi.samples += len(stamps)
        self.samples += len(stamps)
        k = KINDS[hi.kind]
        rate = hi.rate_hz or 0.0
        signals = ("ibi",) if hi.kind == "beat" else k.signals
        return [SampleBlock(hi.slot, signal, t, data[:, i], k.unit, arrival_s, rate, hi.origin)  # type: ignore[arg-type]
                for i, signal in enumerate(signals[: data.shape[1]])]

    def _look_at_offset(self, hi: HubInlet) -> None:
        """LSL's current clock offset to the hub (what ``proc_clocksync`` adds to the samples just pulled).

        Once LSL has measured it, ``time_correction`` answers at once with its newest estimate.
        """
        try:
            offset = float(hi.inlet.time_correction(timeout=0.0))
        except (LslTimeoutError, RuntimeError):
            return
        if offset != hi.offset_s or hi.origin is None:
            hi.offset_s = offset
            hi.origin = replace(hi.origin, clock_offset_s=offset) if hi.origin else BlockOrigin(
                hi.hub, hi.key, hi.host, offset)

    def read(self, timeout_s: float) -> list[SampleBlock]:
        deadline = time.monotonic() + timeout_s
        while True:
            self._take_opened()
            blocks: list[SampleBlock] = []
            arrival_s = self.clock.now_s()
            for key, hi in list(self.inlets.items()):
                try:
                    blocks += self._pull(hi, arrival_s)
                except LostError:
                    self.lost += 1
                    self._dead.add(hi.uid)
                    del self.inlets[key]
                    log.warning("%s: %s lost (hub %s); its wearer %s fades until it returns", self.name, key, hi.hub, hi.slot)
            if blocks or time.monotonic() >= deadline:
                return blocks
            time.sleep(IDLE_S)
