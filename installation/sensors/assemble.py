"""Turning parsed readings into sample blocks, per wearer and signal.

Shared by the serial and OSC sources: it maps a device's sensor numbers to
wearer slots and gives every waveform (ppg, ecg, eda) a sample clock of its own
(:class:`~installation.sensors.sample_clock.SampleClock`): samples without a
device clock get times from a running fit of their count against the arrival
times of their blocks, and device stamps are kept unless they are equal within
packets or irregular (then they are fitted the same way). Derived readings (bpm,
ibi) keep their arrival spacing. Every channel's times keep increasing.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from installation.sensors.base import SampleBlock
from installation.sensors.parsers import Reading
from installation.sensors.sample_clock import SampleClock

#: Nominal rates (Hz) assumed for readings that carry no device time.
DEFAULT_RATES_HZ: dict[str, float] = {"ppg": 100.0, "ecg": 250.0, "eda": 25.0, "bpm": 1.0, "ibi": 1.0,
                                      "acc": 25.0, "acc_x": 25.0, "acc_y": 25.0, "acc_z": 25.0, "consent": 1.0, "battery": 1.0}

#: Reading kinds that are sampled waveforms, whose clock is rebuilt; the others come at events.
SAMPLED_KINDS = frozenset({"ppg", "ecg", "eda"})


class BlockAssembler:
    """Collects readings and hands out blocks.

    Parameters
    ----------
    wearers : list of str
        Wearer slot of each sensor index (sensor 0 -> ``wearers[0]``); sensors
        beyond the list are ignored and counted.
    rates_hz : dict
        Nominal sampling rate per reading kind.
    """

    def __init__(self, wearers: list[str], rates_hz: dict[str, float] | None = None) -> None:
        self.wearers = wearers
        self.rates_hz = {**DEFAULT_RATES_HZ, **(rates_hz or {})}
        self._pending: dict[tuple[int, str, str], list[Reading]] = defaultdict(list)
        self._filled: dict[tuple[int, str, str], None] = {}  # keys with readings since the last blocks(), in order
        self._device_offset: dict[int, float] = {}
        self.clocks: dict[tuple[int, str], SampleClock] = {}  # waveforms: rebuilt when their stamps need it
        self._kept: dict[tuple[int, str], SampleClock] = {}  # derived readings: their stamps kept, never going back
        self.unmapped = 0

    def add(self, readings: list[Reading]) -> None:
        for r in readings:
            if r.sensor >= len(self.wearers):
                self.unmapped += 1
                continue
            key = (r.sensor, r.kind, r.unit)
            self._pending[key].append(r)
            self._filled[key] = None

    def blocks(self, arrival_s: float) -> list[SampleBlock]:
        """Blocks of everything collected since the last call, stamped ``arrival_s``."""
        out: list[SampleBlock] = []
        if not self._filled:
            return out
        filled, self._filled = self._filled, {}
        keys = filled if len(filled) == 1 else [k for k in self._pending if k in filled]  # the order of first sight
        for sensor, kind, unit in keys:
            readings = self._pending[(sensor, kind, unit)]
            rate = self.rates_hz[kind]
            values = np.array([r.value for r in readings])
            device = [r.device_time_s for r in readings]
            stamped = all(t is not None for t in device)
            sampled = kind in SAMPLED_KINDS
            if stamped:
                # Device clock: keep its spacing, anchor it to our clock at the first sight.
                offset = self._device_offset.setdefault(sensor, arrival_s - float(device[-1]))  # type: ignore[arg-type]
                stamps = np.array(device, dtype=float) + offset
            elif sampled:
                stamps = np.full(len(readings), arrival_s)  # the block's arrival, for every sample in it
            else:
                stamps = arrival_s - (len(readings) - 1 - np.arange(len(readings))) / rate  # spaced back from arrival
            clocks = self.clocks if sampled else self._kept
            clock = clocks.get((sensor, kind))
            if clock is None:
                clock = clocks[(sensor, kind)] = SampleClock(rate, "auto" if sampled else "keep")
            if sampled and not stamped:
                clock.force()
            times = clock.times(stamps)
            out.append(SampleBlock(self.wearers[sensor], kind, times, values, unit, arrival_s, rate))  # type: ignore[arg-type]
            readings.clear()
        return out
