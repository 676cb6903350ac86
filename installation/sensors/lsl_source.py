"""Lab Streaming Layer inlets (pylsl): streams from research rigs, found by name or
type, with LSL's clock offsets applied so their sample times are on our clock."""

from __future__ import annotations

import logging
import os
import time

import numpy as np

from installation.clock import Clock, MonotonicClock
from installation.sensors.base import SampleBlock, SourceBase

os.environ.setdefault("LSLAPICFG", "")  # no config file lookups beyond the defaults
import pylsl  # noqa: E402

log = logging.getLogger(__name__)

#: LSL stream types (case-insensitive) -> reading kind and unit.
LSL_TYPES: dict[str, tuple[str, str]] = {
    "ppg": ("ppg", ""), "bvp": ("ppg", ""), "ecg": ("ecg", ""), "eda": ("eda", "uS"), "gsr": ("eda", "uS"),
    "hr": ("bpm", "bpm"), "heartrate": ("bpm", "bpm"), "ibi": ("ibi", "s"),
}


class LslSource(SourceBase):
    """Every LSL stream matching a property, one channel per wearer.

    Parameters
    ----------
    prop : str
        ``name`` or ``type``: what ``value`` is matched against.
    value : str
        Stream name or type to look for (e.g. type ``PPG``).
    wearers : list of str
        Wearer slot of each channel of the stream.
    kind : str, optional
        Reading kind; default: from the stream's type (``PPG``, ``ECG``, ``EDA``, ``GSR``, ``HR``).
    resolve_every_s : float
        How often to look for the stream while it is not there.
    clock : Clock, optional
        Monotonic time source.
    """

    def __init__(self, prop: str, value: str, wearers: list[str], kind: str | None = None,
                 resolve_every_s: float = 1.0, clock: Clock | None = None) -> None:
        self.prop, self.value = prop, value
        self.wearers = wearers
        self.kind = kind
        self.resolve_every_s = resolve_every_s
        self.clock = clock or MonotonicClock()
        self.name = f"lsl {prop}={value}"
        self._inlet: pylsl.StreamInlet | None = None
        self._kind = kind or ""
        self._unit = ""
        self._rate_hz = 0.0
        self._next_resolve_s = 0.0
        self._offset_s = 0.0  # our clock minus LSL's local clock
        self._last_t: dict[int, float] = {}
        self.samples = 0

    @property
    def connected(self) -> bool:
        return self._inlet is not None

    @property
    def signal(self) -> str:
        """The reading kind of the stream once found (empty before)."""
        return self._kind

    def open(self) -> None:
        self._offset_s = self.clock.now_s() - pylsl.local_clock()
        self._resolve(0.5)

    def close(self) -> None:
        if self._inlet is not None:
            self._inlet.close_stream()
            self._inlet = None

    def _resolve(self, wait_s: float) -> None:
        found = pylsl.resolve_byprop(self.prop, self.value, 1, wait_s)
        self._next_resolve_s = self.clock.now_s() + self.resolve_every_s
        if not found:
            return
        info = found[0]
        kind, unit = LSL_TYPES.get(info.type().lower(), ("", ""))
        self._kind = self.kind or kind
        if not self._kind:
            log.warning("%s: stream type %r is not a signal we know; set kind", self.name, info.type())
            return
        self._unit = unit
        self._rate_hz = info.nominal_srate() or 1.0
        inlet = pylsl.StreamInlet(info, max_buflen=10, processing_flags=pylsl.proc_clocksync | pylsl.proc_dejitter)
        inlet.open_stream(timeout=2.0)
        self._inlet = inlet
        log.info("%s: connected to %s (%s, %g Hz, %d channels)", self.name, info.name(), info.type(), self._rate_hz,
                 info.channel_count())

    def read(self, timeout_s: float) -> list[SampleBlock]:
        if self._inlet is None:
            if self.clock.now_s() >= self._next_resolve_s:
                self._resolve(min(timeout_s, 0.2))
            else:
                self.clock.sleep_s(timeout_s)
            return []
        try:
            samples, stamps = self._inlet.pull_chunk(timeout=timeout_s)
        except pylsl.LostError:
            log.warning("%s: stream lost; looking for it again", self.name)
            self._inlet = None
            return []
        if not stamps:
            return []
        arrival_s = self.clock.now_s()
        data = np.asarray(samples, dtype=float)
        times = np.asarray(stamps, dtype=float) + self._offset_s  # clock-synced LSL time -> our clock
        self.samples += len(stamps)
        blocks = []
        for channel, wearer in enumerate(self.wearers[: data.shape[1]]):
            t = times
            last = self._last_t.get(channel)
            if last is not None and t[0] <= last:
                t = t + (last - t[0]) + 1.0 / self._rate_hz
            self._last_t[channel] = float(t[-1])
            blocks.append(SampleBlock(wearer, self._kind, t, data[:, channel], self._unit, arrival_s, self._rate_hz))  # type: ignore[arg-type]
        return blocks
