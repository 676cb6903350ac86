"""A Lab Streaming Layer outlet of features and parameters: one float channel per address.

The channels are fixed when the outlet is made (an LSL stream cannot grow): every
selected address for the show's wearer slots. Each channel's label is its dotted
address, in the stream's XML description (``desc/channels/channel/label``), with its
unit. A value not known yet is sent as NaN.
"""

from __future__ import annotations

import math
from typing import Mapping

import pylsl

#: Units of the features (the rest are 0..1, counts or parameter values).
UNITS: dict[str, str] = {
    "heart.bpm": "bpm",
    "heart.bpm_change": "bpm",
    "heart.ibi": "s",
    "heart.next_in": "s",
    "heart.rmssd": "ms",
    "heart.sdnn": "ms",
    "eda.scl": "uS",
    "eda.phasic": "uS",
    "eda.scr_rate": "per minute",
    "group.heart.bpm": "bpm",
}


def unit_of(address: str) -> str:
    """The unit of a feature address (``"p1.heart.bpm"`` -> ``"bpm"``), empty when it has none."""
    head, _, rest = address.partition(".")
    return UNITS.get(address) or (UNITS.get(rest, "") if head.startswith("p") else "")


class LslOutlet:
    """One LSL stream of the given addresses, a sample every ``1 / rate_hz`` seconds.

    Parameters
    ----------
    name : str
        Stream name.
    stream_type : str
        Stream type (what inlets resolve by).
    channels : list of str
        The addresses, one channel each, in order.
    rate_hz : float
        Nominal rate in hertz; :meth:`update` pushes at most this often, on average exactly.
    source_id : str, optional
        A unique id, so that an inlet can recover the stream after a restart.
    """

    def __init__(self, name: str, stream_type: str, channels: list[str], rate_hz: float, source_id: str = "") -> None:
        if not channels:
            raise ValueError(f"LSL output {name!r}: no channel to send (no address selected for these wearers)")
        self.name = name
        self.channels = list(channels)
        self.period_s = 1.0 / rate_hz
        info = pylsl.StreamInfo(name, stream_type, len(channels), rate_hz, "float32", source_id or f"ecosymphony-{name}")
        desc = info.desc()
        desc.append_child_value("manufacturer", "Eco-Symphony")
        chans = desc.append_child("channels")
        for address in self.channels:
            ch = chans.append_child("channel")
            ch.append_child_value("label", address)
            ch.append_child_value("unit", unit_of(address))
            ch.append_child_value("type", address.split(".")[1] if address.startswith("p") else address.split(".")[0])
        self._outlet = pylsl.StreamOutlet(info)
        self._due_s = -math.inf
        self._sample = [math.nan] * len(channels)
        self.sent = 0

    def update(self, now_s: float, features: Mapping[str, float], params: Mapping[str, float] | None = None) -> bool:
        """Push a sample if one is due (looked up by address in ``features``, then ``params``); True when pushed.

        ``now_s``: the caller's clock, seconds.
        """
        if now_s < self._due_s - 1e-6:  # (a microsecond of leeway for sums of floats)
            return False
        self._due_s = now_s + self.period_s if now_s - self._due_s > self.period_s else self._due_s + self.period_s
        get, other = features.get, (params or {}).get
        nan = math.nan
        sample = [get(a, other(a, nan)) for a in self.channels]
        self._outlet.push_sample(sample)
        self.sent += 1
        return True

    def close(self) -> None:
        self._outlet = None  # type: ignore[assignment]  # liblsl destroys the outlet with its last reference
