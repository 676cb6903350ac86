"""Pure OSC formatting: a feature, parameter or event in, OSC messages out.

No I/O here. Each format turns a dotted address and its value into a list of
``(OSC address, arguments)``:

* ``plain``: the address with dots as slashes, one float (``p1.heart.bpm`` ->
  ``/p1/heart/bpm 72.0``); an event with no value is a message with no arguments
  (a bang). An optional prefix goes in front (``/eco/p1/heart/bpm``).
* ``emotibit``: what the EmotiBit Oscilloscope sends, so that patches written for it
  keep working: ``/EmotiBit/<i>/HR`` (heart rate, bpm), ``/EmotiBit/<i>/EDA`` (skin
  conductance, microsiemens: the 2 s low-passed level ``eda.scl``),
  ``/EmotiBit/<i>/SCR:FREQ`` (responses a minute) and, at each response,
  ``/EmotiBit/<i>/SCR:AMP`` (amplitude) and ``/EmotiBit/<i>/SCR:RIS`` (rise time, s).
  ``i`` is the wearer's device index.
* ``openbci``: what the OpenBCI GUI's pulse widget sends: ``/openbci/pulse/bpm``
  (an integer) and, at each beat, ``/openbci/pulse/ibi`` (the interval since the
  previous beat, integer milliseconds). One wearer.
"""

from __future__ import annotations

import math
from typing import Protocol

from installation.addresses import split_wearer

FORMATS: tuple[str, ...] = ("plain", "emotibit", "openbci")

#: One OSC message: its address and its arguments.
Message = tuple[str, tuple[float | int, ...]]

#: Per format, the wearer addresses (after ``pN.``) it can carry, and what each becomes.
CARRIED: dict[str, dict[str, str]] = {
    "emotibit": {
        "heart.bpm": "HR",
        "eda.scl": "EDA",
        "eda.scr_rate": "SCR:FREQ",
        "eda.scr": "SCR:AMP and SCR:RIS",
    },
    "openbci": {
        "heart.bpm": "/openbci/pulse/bpm",
        "heart.beat": "/openbci/pulse/ibi",
    },
}

_EMOTIBIT_FEATURES = {"heart.bpm": "HR", "eda.scl": "EDA", "eda.scr_rate": "SCR:FREQ"}


class Formatter(Protocol):
    """Turns features and events into OSC messages (one format)."""

    name: str

    def feature(self, address: str, value: float) -> list[Message]: ...

    def event(self, address: str, value: float, time_s: float, onset_s: float = math.nan) -> list[Message]: ...


class PlainFormat:
    """Dotted addresses as OSC paths, one float each.

    Parameters
    ----------
    prefix : str
        Put in front of every path (``"/eco"``); empty for none.
    """

    name = "plain"

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self._paths: dict[str, str] = {}

    def path(self, address: str) -> str:
        """``"p1.heart.bpm"`` -> ``"/p1/heart/bpm"`` (with the prefix). OSC output
        parameters (``osc.out./lights/1``) keep the path they name."""
        path = self._paths.get(address)
        if path is None:
            named = address.startswith("osc.out./")
            path = self.prefix + (address.removeprefix("osc.out.") if named else "/" + address.replace(".", "/"))
            self._paths[address] = path
        return path

    def feature(self, address: str, value: float) -> list[Message]:
        return [(self.path(address), (float(value),))]

    def event(self, address: str, value: float, time_s: float, onset_s: float = math.nan) -> list[Message]:
        return [(self.path(address), (float(value),) if math.isfinite(value) else ())]


class EmotiBitFormat:
    """The EmotiBit Oscilloscope's OSC addresses.

    Parameters
    ----------
    devices : dict
        Wearer slot -> device index (``{"p1": 0, "p2": 1}``); other wearers are not sent.
    """

    name = "emotibit"

    def __init__(self, devices: dict[str, int]) -> None:
        self.devices = dict(devices)
        self._paths: dict[str, str | None] = {}

    def _path(self, address: str, tag: str | None = None) -> str | None:
        key = address if tag is None else f"{address}#{tag}"
        if key in self._paths:
            return self._paths[key]
        wearer, rest = split_wearer(address)
        index = self.devices.get(wearer) if wearer is not None else None
        tag = tag or _EMOTIBIT_FEATURES.get(rest)
        path = f"/EmotiBit/{index}/{tag}" if index is not None and tag is not None else None
        self._paths[key] = path
        return path

    def feature(self, address: str, value: float) -> list[Message]:
        path = self._path(address)
        return [] if path is None else [(path, (float(value),))]

    def event(self, address: str, value: float, time_s: float, onset_s: float = math.nan) -> list[Message]:
        if not address.endswith(".eda.scr") or not math.isfinite(value):
            return []
        amp = self._path(address, "SCR:AMP")
        if amp is None:
            return []
        out: list[Message] = [(amp, (float(value),))]
        rise_s = time_s - onset_s
        if math.isfinite(rise_s) and rise_s >= 0.0:
            out.append((self._path(address, "SCR:RIS") or "", (float(rise_s),)))
        return out


class OpenBciFormat:
    """The OpenBCI GUI's pulse addresses, for one wearer.

    Parameters
    ----------
    wearer : str
        The wearer slot sent (``"p1"``).
    """

    name = "openbci"

    def __init__(self, wearer: str) -> None:
        self.wearer = wearer
        self._bpm = f"{wearer}.heart.bpm"
        self._beat = f"{wearer}.heart.beat"
        self._last_beat_s = math.nan

    def feature(self, address: str, value: float) -> list[Message]:
        if address != self._bpm:
            return []
        return [("/openbci/pulse/bpm", (int(round(value)),))]

    def event(self, address: str, value: float, time_s: float, onset_s: float = math.nan) -> list[Message]:
        if address != self._beat:
            return []
        ibi_s, self._last_beat_s = time_s - self._last_beat_s, time_s
        if not (math.isfinite(ibi_s) and ibi_s > 0.0):
            return []  # the first beat: no interval yet
        return [("/openbci/pulse/ibi", (int(round(ibi_s * 1000.0)),))]


def make_format(name: str, wearers: list[str], prefix: str = "") -> Formatter:
    """A formatter by name; ``wearers``: slots in device order (EmotiBit index 0, 1, ...; OpenBCI: the first)."""
    if name == "plain":
        return PlainFormat(prefix)
    if name == "emotibit":
        return EmotiBitFormat({w: i for i, w in enumerate(wearers)})
    if name == "openbci":
        return OpenBciFormat(wearers[0] if wearers else "p1")
    raise ValueError(f"unknown OSC output format {name!r}; one of: {', '.join(FORMATS)}")
