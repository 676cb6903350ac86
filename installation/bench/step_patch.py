"""A sound patch for measuring latency: every trigger flips the output level.

Silence is no use for finding when a trigger arrived, and a musical patch
(an envelope rising over milliseconds, a drone moving all the time) hides the
moment it did. This patch holds a constant level and flips its sign at each
``p*.pulse`` trigger, so the output steps at the first sample the trigger
reached (the master chain's DC blocker turns the step into a spike that
decays; the step itself stays sharp).
"""

from __future__ import annotations

from typing import Any

import pyo

from installation.sound.patch import Patch

#: Output level either side of zero; a flip is a step of twice this.
LEVEL = 0.25


class StepPatch(Patch):
    """Constant level whose sign flips at every wearer's pulse."""

    PARAMETERS = {"p*.pulse": "trigger"}

    def build(self) -> Any:
        self._sign = 1.0
        self._level = pyo.Sig(LEVEL)
        return self._level

    def set(self, address: str, value: float) -> None:
        raise KeyError(f"the step patch has no continuous parameter {address!r}")

    def trigger(self, address: str, value: float) -> None:
        self._sign = -self._sign
        self._level.setValue(self._sign * LEVEL)
