"""``ecosymphony hub``: a hub's sources, each read on its own thread, published as LSL streams.

With ``[hub] core = true`` the hub also runs the signal core on its wearers and
publishes each beat (a ``BEAT`` stream per wearer: the interval ending at the beat,
stamped with the beat's time) and a ``{hub}/features`` stream of their features.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import Any, Callable

from installation.config import HubConfig, SimulatedSource
from installation.dsp.core import CoreSettings, SignalCore
from installation.hub.publisher import HubPublisher, HubStream
from installation.outputs.lsl import LslOutlet
from installation.sensors.base import Source
from installation.sensors.factory import source_from_config, source_slots

log = logging.getLogger(__name__)

#: Features a hub with a core publishes for each wearer.
HUB_FEATURES = ("heart.bpm", "heart.quality", "eda.scl", "eda.arousal", "quality")


def hub_sources(cfg: HubConfig) -> tuple[list[Source], list[str]]:
    """The hub's sources and wearer slots (simulated groups get consecutive slots, as in a show)."""
    sources: list[Source] = []
    wearers: list[str] = []
    for entry in cfg.sources:
        first = len(wearers)
        sources.append(source_from_config(entry, first))
        wearers += [w for w in source_slots(entry, first) if w not in wearers]
    return sources, wearers


class Hub:
    """Reads a hub's sources and publishes them.

    Parameters
    ----------
    cfg : HubConfig
        The hub's config.
    sources : list of Source, optional
        Sources to read instead of the config's (tests, benchmarks).
    on_new_stream : callable, optional
        Called (on a reader thread) with each stream as it is first published.
    """

    def __init__(self, cfg: HubConfig, sources: list[Source] | None = None,
                 on_new_stream: Callable[[HubStream], None] | None = None) -> None:
        self.cfg = cfg
        made, self.wearers = hub_sources(cfg)
        self.sources = sources if sources is not None else made
        self.publisher = HubPublisher(cfg.hub.name, on_new_stream=on_new_stream)
        self.core = SignalCore(CoreSettings(baseline_s=cfg.core.baseline_s)) if cfg.hub.core else None
        self.features: LslOutlet | None = None
        if self.core is not None:
            channels = [f"{w}.{f}" for w in self.wearers for f in HUB_FEATURES]
            self.features = LslOutlet(f"{cfg.hub.name}/features", "Features", channels, 10.0,
                                      f"ecosymphony-features:{cfg.hub.name}")
        self._core_lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.errors: list[str] = []

    def _read(self, index: int, source: Source) -> None:
        try:
            source.open()
        except Exception as exc:  # a source that cannot open is reported; the others go on
            log.error("hub %s: %s cannot open: %s", self.cfg.hub.name, source.name, exc)
            self.errors.append(f"{source.name}: {exc}")
            return
        try:
            while not self._stop.is_set():
                blocks = source.read(0.05)
                if not blocks:
                    continue
                self.publisher.publish(blocks, index)
                if self.core is not None:
                    with self._core_lock:
                        events = self.core.process_many(blocks)
                    for ev in events:
                        if ev.address.endswith(".heart.beat") and math.isfinite(ev.value) and ev.value > 0:
                            tie = self.publisher._ties.get(index)
                            if tie is not None:
                                self.publisher.push_beat(ev.address.split(".", 1)[0], ev.time_s + tie, 60.0 / ev.value)
        finally:
            source.close()

    def start(self) -> None:
        """Open every source on its own thread."""
        for i, source in enumerate(self.sources):
            t = threading.Thread(target=self._read, args=(i, source), name=f"hub-source-{i}", daemon=True)
            t.start()
            self._threads.append(t)

    def tick(self, now_s: float) -> None:
        """Publish the features when due (with a core)."""
        if self.core is not None and self.features is not None:
            with self._core_lock:
                features = self.core.features(now_s)
            self.features.update(now_s, features)

    def stop(self) -> None:
        """Stop the readers and drop the outlets."""
        self._stop.set()
        for t in self._threads:
            t.join(timeout=2.0)
        self.publisher.close()
        if self.features is not None:
            self.features.close()

    def run(self, duration_s: float | None, every_second: Callable[[list[dict[str, Any]]], None],
            should_stop: Callable[[], bool] = lambda: False) -> None:
        """Publish until ``duration_s`` passes or ``should_stop()``; report the streams every second."""
        self.start()
        try:
            start = last = time.monotonic()
            while not should_stop() and (duration_s is None or time.monotonic() - start < duration_s):
                time.sleep(0.05)
                now = time.monotonic()
                self.tick(now)
                if now - last >= 1.0:
                    every_second(self.publisher.rows(now - last))
                    last = now
        finally:
            self.stop()


def simulated_hub(name: str, wearers: int, seed: int, heart: str = "ppg", acc_rate_hz: float | None = None) -> HubConfig:
    """A hub config of simulated wearers (``ecosymphony simulate --lsl --hub NAME``)."""
    return HubConfig.model_validate({"hub": {"name": name}, "sources": [
        SimulatedSource(wearers=wearers, seed=seed, heart=heart, acc_rate_hz=acc_rate_hz).model_dump()]})
