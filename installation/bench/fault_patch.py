"""A sound patch that fails on cue, for the watchdog's tests and benchmark: a tone at a settable
level, and three faults.

``level``     the tone's amplitude (default 0.2)
``cue.nan``   a trigger: one sample of the tone turns NaN, in a reverb that keeps it for good
``cue.dc``    the output's DC offset, in full scale (0.9 runs away)
``cue.full``  1: a square wave beyond full scale is added (full scale held)
"""

from __future__ import annotations

from typing import Any

import pyo

from installation.sound.inputs import PatchInputs
from installation.sound.patch import Patch

#: Marks this file's version in its output (a live-coding test writes a copy with another value).
TONE_HZ = 440.0


class FaultPatch(Patch):
    """A tone, and faults on cue."""

    PARAMETERS = {"level": "continuous", "cue.nan": "trigger", "cue.dc": "continuous", "cue.full": "continuous"}

    def build(self, inputs: PatchInputs) -> Any:
        level = inputs.value("level", 0.2)
        (nan_cue,) = inputs.trigger("cue.nan")
        nan = nan_cue.fire  # 1 for one sample when cued (a rebuilt patch is not cued again)
        dc = inputs.value("cue.dc", 0.0)
        full = inputs.value("cue.full", 0.0)
        tone = pyo.Sine(TONE_HZ, mul=level)
        poison = pyo.Pow(1.0 - 2.0 * nan, 0.5)  # sqrt(1) = 1; sqrt(-1) = NaN
        wet = pyo.Freeverb(tone * poison, size=0.5, bal=0.3)  # a NaN in its combs stays there for good
        square = (pyo.Compare(pyo.Sine(50.0), 0.0, ">") * 2.0 - 1.0) * 1.2 * full
        self._nodes = [level, nan, dc, full, tone, poison, wet, square]
        self._out = pyo.Mix([wet + dc + square], voices=2)
        return self._out
