"""A sound patch for measuring latency: every trigger flips the output level.

Silence is no use for finding when a trigger arrived, and a musical patch
(an envelope rising over milliseconds, a drone moving all the time) hides the
moment it did. This patch holds a constant level and flips its sign at each
``p*.pulse`` trigger, so the output steps at the first sample the trigger
reached (the master chain's DC blocker turns the step into a spike that
decays; the step itself stays sharp). The flip is pyo's own work, from the
trigger's stream: no Python runs between the message and the step.
"""

from __future__ import annotations

from typing import Any

import pyo

from installation.sound.inputs import PatchInputs
from installation.sound.patch import Patch

#: Output level either side of zero; a flip is a step of twice this.
LEVEL = 0.25


class StepPatch(Patch):
    """Constant level whose sign flips at every wearer's pulse (read natively: each pulse
    flips its wearer's toggle, and the output is the level times the product of the signs)."""

    PARAMETERS = {"p*.pulse": "trigger"}

    def build(self, inputs: PatchInputs) -> Any:
        sign: Any = pyo.Sig(LEVEL)
        for wearer in self.wearers:
            (voice,) = inputs.trigger(f"{wearer}.pulse")
            sign = sign * (1.0 - 2.0 * voice.toggle)
        self._out = sign
        return self._out
