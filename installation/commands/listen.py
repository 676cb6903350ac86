"""``ecosymphony listen``: what every connected stream is sending, once a second.

Artists run it to check a rig before doors open: which transport, which format
was recognised, which wearer and signal, the sample rate, how many samples, how
many lines or packets were lost or corrupt, the signal quality and the last value.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from installation.dsp.core import SignalCore
from installation.sensors.base import SampleBlock, Source
from installation.sensors.lsl_source import LslSource
from installation.sensors.osc_source import OscSource
from installation.sensors.serial_source import SerialSource


@dataclass(slots=True)
class _Stream:
    samples: int = 0
    samples_this_second: int = 0
    last_value: float = math.nan
    unit: str = ""
    rate_hz: float = 0.0


@dataclass(slots=True)
class _Watched:
    source: Source
    core: SignalCore = field(default_factory=SignalCore)
    streams: dict[tuple[str, str], _Stream] = field(default_factory=dict)


def describe(source: Source) -> dict[str, Any]:
    """Transport, address, recognised format and error counts of a source."""
    if isinstance(source, SerialSource):
        return {"transport": "serial", "address": source.port, "format": source.parser.name,
                "connected": source.connected, "lost": source.lost, "corrupt": source.corrupt}
    if isinstance(source, OscSource):
        rigs = ",".join(sorted(source.rigs)) or "none yet"
        return {"transport": "osc", "address": f"{source.host}:{source.port}", "format": rigs, "connected": True,
                "lost": 0, "corrupt": source.corrupt + source.oversized + source.refused}
    if isinstance(source, LslSource):
        return {"transport": "lsl", "address": f"{source.prop}={source.value}", "format": source.signal or "not found yet",
                "connected": source.connected, "lost": 0, "corrupt": 0}
    return {"transport": type(source).__name__, "address": getattr(source, "name", "?"), "format": "",
            "connected": True, "lost": 0, "corrupt": 0}


class Listener:
    """Reads every source (each with its own core, for quality) and summarises per stream.

    Parameters
    ----------
    sources : list of Source
        Opened and closed by :meth:`run`.
    """

    def __init__(self, sources: list[Source]) -> None:
        self.watched = [_Watched(s) for s in sources]

    def _take(self, w: _Watched, blocks: list[SampleBlock]) -> None:
        for block in blocks:
            w.core.process(block)
            stream = w.streams.setdefault((block.wearer, block.signal), _Stream())
            stream.samples += block.values.size
            stream.samples_this_second += block.values.size
            stream.last_value = float(block.values[-1])
            stream.unit = block.unit

    def rows(self, now_s: float) -> list[dict[str, Any]]:
        """One row per stream heard so far (and one per silent source)."""
        out = []
        for w in self.watched:
            info = describe(w.source)
            features = w.core.features(now_s)
            states = w.core.states()
            if not w.streams:
                out.append({**info, "wearer": None, "signal": None, "rate_hz": 0.0, "samples": 0,
                            "quality": None, "state": "no data", "last": None})
            for (wearer, signal), st in sorted(w.streams.items()):
                channel = "eda" if signal == "eda" else "heart"
                quality = features.get(f"{wearer}.{channel}.quality")
                out.append({**info, "wearer": wearer, "signal": signal, "rate_hz": round(st.rate_hz, 1),
                            "samples": st.samples, "quality": None if quality is None else round(quality, 2),
                            "state": states.get(f"{wearer}.{channel}", "ok"),
                            "last": None if math.isnan(st.last_value) else round(st.last_value, 4), "unit": st.unit})
        return out

    def run(self, duration_s: float | None, every_second: Callable[[list[dict[str, Any]]], None],
            should_stop: Callable[[], bool] = lambda: False) -> None:
        """Listen until ``duration_s`` passes or ``should_stop()``; report every second."""
        for w in self.watched:
            w.source.open()
        try:
            start = time.monotonic()
            next_report = start + 1.0
            while not should_stop() and (duration_s is None or time.monotonic() - start < duration_s):
                for w in self.watched:
                    self._take(w, w.source.read(0.01))
                now = time.monotonic()
                if now >= next_report:
                    elapsed = now - next_report + 1.0
                    for w in self.watched:
                        for st in w.streams.values():
                            st.rate_hz, st.samples_this_second = st.samples_this_second / elapsed, 0
                    every_second(self.rows(now))
                    next_report = now + 1.0
        finally:
            for w in self.watched:
                w.source.close()
