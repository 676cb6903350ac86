"""When a universe goes out (pure): a changed frame as soon as the rate allows, an unchanged one
as a keep-alive once a second.

Both standards ask a source to keep a static universe alive: E1.31 receivers drop a source
heard nothing from for 2.5 s (so a source re-sends its last frame at least about once a
second), and Art-Net nodes expect a refresh every few seconds (4 s at most). DMX itself
carries at most 44 frames a second, so a universe never goes out more often than its
output's ``rate_hz``.
"""

from __future__ import annotations

import math

import numpy as np

#: An unchanged universe is sent again after this long, seconds.
KEEPALIVE_S = 1.0


class UniversePacing:
    """One universe of one output: the frame last sent, the newest frame offered, and when to send.

    Parameters
    ----------
    period_s : float
        Shortest time between two frames of this universe (1 / ``rate_hz``), seconds.
    keepalive_s : float
        Longest time without a frame, seconds.
    """

    def __init__(self, period_s: float, keepalive_s: float = KEEPALIVE_S) -> None:
        self.period_s = period_s
        self.keepalive_s = keepalive_s
        self.sent: np.ndarray | None = None
        self.offered: np.ndarray | None = None
        self.last_sent_s = -math.inf

    def offer(self, frame: np.ndarray) -> None:
        """The newest frame (it replaces one offered but not sent yet)."""
        self.offered = frame

    @property
    def changed(self) -> bool:
        """True when the frame offered differs from the one last sent."""
        return self.offered is not None and (self.sent is None or not np.array_equal(self.offered, self.sent))

    def next_s(self) -> float:
        """When this universe is next due (a changed frame: one period after the last; else the keep-alive)."""
        if self.offered is None:
            return math.inf
        return self.last_sent_s + (self.period_s if self.changed else self.keepalive_s)

    def take(self, now_s: float) -> np.ndarray | None:
        """The frame to send at ``now_s``, or None; a frame taken counts as sent."""
        if self.offered is None or now_s < self.next_s() - 1e-4:  # (a tenth of a millisecond of leeway)
            return None
        self.sent, self.last_sent_s = self.offered, now_s
        return self.sent
