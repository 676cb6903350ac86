"""Events emitted by the signal core (beats now; SCRs and faults later)."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Event:
    """A discrete happening at a dotted feature address.

    Attributes
    ----------
    address : str
        Feature address, e.g. ``"p1.heart.beat"``.
    value : float
        Event value (for a beat: heart rate in beats per minute, ``nan`` if not yet known).
    time_s : float
        When it happened, in seconds on the source's clock (a beat's systolic peak).
    reported_s : float
        Source-clock time in seconds of the newest sample when the event was emitted.
    arrival_s : float
        Monotonic time in seconds at which the block that confirmed the event arrived.
    onset_s : float
        For a skin-conductance response: when its rise began (``nan`` otherwise).
    at_end : bool
        Reported at the end of a signal (a file's last sample) rather than when its
        detector would have confirmed it live.
    """

    address: str
    value: float
    time_s: float
    reported_s: float
    arrival_s: float
    onset_s: float = math.nan
    at_end: bool = False

    @property
    def wearer(self) -> str:
        """The wearer slot (first address part), or ``"group"``."""
        return self.address.split(".", 1)[0]
