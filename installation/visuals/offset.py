"""The conductor's clock as a render node sees it: an NTP-style offset from pings.

The node sends its clock ``t0``, the conductor answers with its clock ``t``, the
answer arrives at ``t1``; if the way there and back took as long, the conductor's
clock read ``t`` at ``(t0 + t1) / 2`` on the node's. Of the recent exchanges the one
with the shortest round trip is the least disturbed (the same choice as NTP's
clock filter and LSL's ``time_correction``). Pure: the caller times the exchanges.
"""

from __future__ import annotations

import math
from collections import deque


class ClockOffset:
    """Conductor clock minus node clock, in seconds, from the recent ping exchanges.

    Parameters
    ----------
    keep : int
        Exchanges remembered.
    """

    def __init__(self, keep: int = 16) -> None:
        self._exchanges: deque[tuple[float, float]] = deque(maxlen=keep)  # (round trip, offset)

    def add(self, ping_s: float, conductor_s: float, pong_s: float) -> None:
        """One exchange: node clock at the ping, conductor clock in its answer, node clock at the answer."""
        rtt = pong_s - ping_s
        if rtt < 0 or not all(math.isfinite(v) for v in (ping_s, conductor_s, pong_s)):
            return
        self._exchanges.append((rtt, conductor_s - (ping_s + pong_s) / 2.0))

    def clear(self) -> None:
        """Forget every exchange (a new conductor)."""
        self._exchanges.clear()

    @property
    def known(self) -> bool:
        return bool(self._exchanges)

    @property
    def offset_s(self) -> float:
        """The offset of the shortest round trip (0 before any exchange)."""
        return min(self._exchanges)[1] if self._exchanges else 0.0

    @property
    def rtt_s(self) -> float:
        """The shortest round trip remembered, seconds (NaN before any)."""
        return min(self._exchanges)[0] if self._exchanges else math.nan
