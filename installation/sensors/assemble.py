"""Turning parsed readings into sample blocks, per wearer and signal.

Shared by the serial, OSC and LSL sources: it maps a device's sensor numbers
to wearer slots, gives samples without a device clock evenly spaced times that
end at their arrival, and keeps every channel's times increasing.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from installation.sensors.base import SampleBlock
from installation.sensors.parsers import Reading

#: Nominal rates (Hz) assumed for readings that carry no device time.
DEFAULT_RATES_HZ: dict[str, float] = {"ppg": 100.0, "ecg": 250.0, "eda": 25.0, "bpm": 1.0, "ibi": 1.0,
                                      "acc": 25.0, "acc_x": 25.0, "acc_y": 25.0, "acc_z": 25.0}


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
        self._last_time: dict[tuple[int, str], float] = {}
        self._device_offset: dict[int, float] = {}
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
            if all(t is not None for t in device):
                # Device clock: keep its spacing, anchor it to our clock at the first sight.
                offset = self._device_offset.setdefault(sensor, arrival_s - float(device[-1]))  # type: ignore[arg-type]
                times = np.array(device, dtype=float) + offset
            else:
                times = arrival_s - (len(readings) - 1 - np.arange(len(readings))) / rate
            key = (sensor, kind)
            last = self._last_time.get(key)
            if last is not None and times[0] <= last:
                times = times + (last - times[0]) + 1.0 / rate  # never go back in time
            self._last_time[key] = float(times[-1])
            out.append(SampleBlock(self.wearers[sensor], kind, times, values, unit, arrival_s, rate))  # type: ignore[arg-type]
            readings.clear()
        return out
