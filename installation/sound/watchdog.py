"""The watchdog between a patch and the master chain: bad samples never reach the speakers.

It watches the patch's output, sample by sample, in pyo (no Python per buffer):

* a **non-finite sample** (NaN or infinity): pyo 1.1.0's FM object has turned NaN,
  and a NaN in a reverb stays there for good;
* a **DC offset that runs away**: the output's mean (a 1 Hz low-pass) beyond
  :data:`DC_LIMIT` of full scale;
* **full scale held**: every sample at full scale or beyond for :data:`FULL_SCALE_HOLD_S`.

A non-finite sample is replaced by silence at once, in the same sample, so the
master chain (whose filters would keep a NaN) never sees one. When any of the three
trips, ``on_trip`` is called with what was seen (from pyo's audio thread, once per
trip); the engine then mutes the output from the next buffer on and rebuilds the patch.
"""

from __future__ import annotations

import os
from typing import Any, Callable

os.environ.setdefault("PYO_GUI_WX", "0")
import pyo  # noqa: E402  (after the environment that silences its GUI notice)

#: A mean (1 Hz low-pass) beyond this fraction of full scale is a runaway DC offset.
DC_LIMIT = 0.5
#: Full scale (or more) held this long, seconds, is a fault.
FULL_SCALE_HOLD_S = 0.5
#: Full scale: the patch's output at or beyond this magnitude.
FULL_SCALE = 1.0
#: Finite samples are clipped to this before the master chain (the limiter takes them down).
SAFE_PEAK = 8.0
#: Magnitudes beyond this count as infinite.
HUGE = 1e9


class Watchdog:
    """Sanitises a patch's output and says when it went bad.

    Parameters
    ----------
    source : pyo.PyoObject
        The patch's output (any number of channels).
    sample_rate_hz : float
        The server's rate (for the full-scale window).
    on_trip : callable
        Called with a description (``"non-finite sample (NaN or infinity)"``) when a
        rule trips; from the audio thread.

    Attributes
    ----------
    out : pyo.PyoObject
        The sanitised output: bad samples as silence, finite ones within ±``SAFE_PEAK``.
    """

    def __init__(self, source: Any, sample_rate_hz: float, on_trip: Callable[[str], None]) -> None:
        self.on_trip = on_trip
        # NaN is the one value not equal to itself; infinity is beyond HUGE.
        finite = pyo.Compare(source, source, "==")
        inf = pyo.Compare(pyo.Abs(source), HUGE, ">")
        ok = pyo.Compare(finite - inf, 0.5, ">")
        # pyo's Max and Min turn a NaN into their bound (a NaN times 0 would stay NaN), then the gate takes it to 0.
        bounded = pyo.Min(pyo.Max(source, -SAFE_PEAK), SAFE_PEAK)
        self.out = bounded * ok
        mono = pyo.Mix(self.out, voices=1)
        dc = pyo.Abs(pyo.Tone(pyo.Tone(mono, freq=1.0), freq=1.0))
        at_full = pyo.Compare(pyo.Abs(self.out), FULL_SCALE, ">=")
        held_full = pyo.Average(pyo.Mix(at_full, voices=1) / max(1, len(at_full)),
                                size=max(1, int(FULL_SCALE_HOLD_S * sample_rate_hz)))
        self._triggers = [
            pyo.TrigFunc(pyo.Thresh(pyo.Mix(1.0 - ok, voices=1), 0.5), self._trip, arg="non-finite sample (NaN or infinity)"),
            pyo.TrigFunc(pyo.Thresh(dc, DC_LIMIT), self._trip, arg=f"DC offset ran away (mean beyond {DC_LIMIT:g} of full scale)"),
            pyo.TrigFunc(pyo.Thresh(held_full, 0.999), self._trip, arg=f"full scale held for {FULL_SCALE_HOLD_S:g} s"),
        ]
        self._nodes = [finite, inf, ok, bounded, mono, dc, at_full, held_full]

    def _trip(self, what: str) -> None:
        self.on_trip(what)

    def release(self) -> None:
        """Drop every pyo object (before a rebuild or the server's end)."""
        for t in self._triggers:
            t.stop()
        self._triggers.clear()
        self._nodes.clear()
        self.out = None
