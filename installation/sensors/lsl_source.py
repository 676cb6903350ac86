"""Lab Streaming Layer inlets (pylsl): streams from research rigs, found by name or
type, with LSL's clock offsets applied so their sample times are on our clock.

A stream's channels are one wearer each, of the stream's signal, unless the stream
labels them with signals (``PPG``, ``ACC_X``, ``ACC_Y``, ``ACC_Z``, ``EDA2``, ...): then
each channel is that signal of the sensor its number names (none: the first), as a
wrist device streaming its PPG beside its accelerometer does."""

from __future__ import annotations

import logging
import os
import re
import time

import numpy as np

from installation.clock import Clock, MonotonicClock
from installation.sensors.base import SampleBlock, SourceBase

os.environ.setdefault("LSLAPICFG", "")  # no config file lookups beyond the defaults
import pylsl  # noqa: E402
from pylsl.util import LostError, TimeoutError as LslTimeoutError  # noqa: E402  (not exported by pylsl itself)

log = logging.getLogger(__name__)

#: LSL stream types (case-insensitive) -> reading kind and unit.
LSL_TYPES: dict[str, tuple[str, str]] = {
    "ppg": ("ppg", ""), "bvp": ("ppg", ""), "ecg": ("ecg", ""), "eda": ("eda", "uS"), "gsr": ("eda", "uS"),
    "hr": ("bpm", "bpm"), "heartrate": ("bpm", "bpm"), "ibi": ("ibi", "s"),
    "acc": ("acc", "g"), "accelerometer": ("acc", "g"),
}
#: Channel labels (lower case, separators as ``_``) -> reading kind.
_LABEL_KINDS = {"ppg": "ppg", "bvp": "ppg", "ecg": "ecg", "eda": "eda", "gsr": "eda", "acc": "acc", "acc_x": "acc_x",
                "acc_y": "acc_y", "acc_z": "acc_z", "accx": "acc_x", "accy": "acc_y", "accz": "acc_z"}
_LABEL = re.compile(r"(acc_?[xyz]|acc|ppg|bvp|ecg|eda|gsr|[xyz])_?(\d*)")
_UNITS = {"eda": "uS", "acc": "g", "acc_x": "g", "acc_y": "g", "acc_z": "g"}


def labelled_channels(labels: list[str], stream_kind: str = "") -> list[tuple[str, int]] | None:
    """What each channel of a stream carries, from its labels: ``(kind, sensor index)`` per channel.

    None when any label names no signal, or two name the same (the channels are then one
    wearer each). Bare
    ``X``, ``Y``, ``Z`` are an accelerometer's axes in a stream of type ``ACC``.
    """
    out = []
    for label in labels:
        m = _LABEL.fullmatch(re.sub(r"[\s:.\-]+", "_", label.strip().lower()))
        if m is None:
            return None
        name, number = m.group(1), m.group(2)
        if name in ("x", "y", "z"):
            if stream_kind != "acc":
                return None
            name = f"acc_{name}"
        out.append((_LABEL_KINDS[name], int(number) - 1 if number and int(number) > 0 else 0))
    if len(set(out)) < len(out):
        return None  # the same signal twice (``PPG``, ``PPG``): one wearer a channel, as unlabelled
    return out or None


def _labels(info: pylsl.StreamInfo) -> list[str]:
    """The stream's channel labels (its description's ``channels``), empty strings where none."""
    labels = []
    channel = info.desc().child("channels").child("channel")
    for _ in range(info.channel_count()):
        labels.append(channel.child_value("label") if not channel.empty() else "")
        channel = channel.next_sibling() if not channel.empty() else channel
    return labels


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
        self._channels: list[tuple[str, int]] | None = None  # labelled channels: (kind, sensor) each
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
        inlet = pylsl.StreamInlet(info, max_buflen=10, processing_flags=pylsl.proc_clocksync | pylsl.proc_dejitter)
        try:
            labels = _labels(inlet.info(timeout=2.0))  # the full description (what resolving gives has no channels)
        except (LslTimeoutError, LostError):
            labels = []  # no description in time: one wearer a channel, as the stream's type says
        self._channels = labelled_channels(labels, self._kind)
        if self._channels is not None:
            self._kind = self._kind or "labelled"
        if not self._kind:
            log.warning("%s: stream type %r is not a signal we know, nor are its channel labels; set kind", self.name, info.type())
            inlet.close_stream()
            return
        self._unit = unit
        self._rate_hz = info.nominal_srate() or 1.0
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
        except LostError:
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
        if self._channels is None:
            channels = [(channel, wearer, self._kind, self._unit) for channel, wearer in enumerate(self.wearers[: data.shape[1]])]
        else:
            channels = [(channel, self.wearers[sensor], kind, _UNITS.get(kind, ""))
                        for channel, (kind, sensor) in enumerate(self._channels[: data.shape[1]]) if sensor < len(self.wearers)]
        for channel, wearer, kind, unit in channels:
            t = times
            last = self._last_t.get(channel)
            if last is not None and t[0] <= last:
                t = t + (last - t[0]) + 1.0 / self._rate_hz
            self._last_t[channel] = float(t[-1])
            blocks.append(SampleBlock(wearer, kind, t, data[:, channel], unit, arrival_s, self._rate_hz))  # type: ignore[arg-type]
        return blocks
