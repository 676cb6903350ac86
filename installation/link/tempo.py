"""The show's Link tempo, pure: heart rate -> target tempo (bounded, smoothed) and whether
the show leads the session's tempo or follows it.

Leading and following
---------------------
The show *leads* while the session's tempo is the one it set itself: it is alone in the
session, or other peers joined the show's session and nobody else changed the tempo since.
It *follows* once it joined a session that already had a tempo of its own (the musicians
were there first), or as soon as another peer sets a tempo: from then on it never changes
the session's tempo, until it is alone again. ``lead = true`` in the show file leads always.
Taking over a tempo that was someone else's, the show's tempo glides from it.
For its first :data:`SETTLE_S` seconds the show only listens (Link finds the peers on the
network within about a second), so that it never sets a tempo on a session it is joining.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

#: Seconds the show listens for peers before it sets a tempo of its own.
SETTLE_S = 1.5
#: A session tempo this close (beats per minute) to the one the show set is still the show's.
SAME_TEMPO_BPM = 0.02
#: The tempo is set only when it moves at least this much (beats per minute) ...
TEMPO_STEP_BPM = 0.05
#: ... and at most this often (seconds) while the show is alone ...
TEMPO_PERIOD_S = 0.1
#: ... or this often with other peers in the session: each change is broadcast to them, and a
#: musician's own change that crosses one of the show's on the network is lost (Link keeps the
#: later), so the show changes the tempo of a shared session seldom.
TEMPO_PERIOD_PEERS_S = 1.0
#: Ableton Link's own tempo range, beats per minute.
LINK_MIN_BPM, LINK_MAX_BPM = 20.0, 999.0

Role = Literal["listening", "leading", "following"]


def target_tempo_bpm(heart_bpm: float, min_bpm: float, max_bpm: float) -> float:
    """The tempo a heart rate asks for: the heart rate itself, kept within ``[min_bpm, max_bpm]``.

    Returns NaN for an unknown (NaN) or impossible (not above 0) heart rate.
    """
    if not heart_bpm > 0.0 or math.isinf(heart_bpm):
        return math.nan
    return min(max(heart_bpm, min_bpm), max_bpm)


def smooth_bpm(previous_bpm: float, target_bpm: float, dt_s: float, smooth_s: float) -> float:
    """One-pole smoothing of the tempo towards ``target_bpm`` with time constant ``smooth_s`` seconds.

    The first known target (``previous_bpm`` NaN) is taken as it is; an unknown target holds.
    """
    if math.isnan(target_bpm):
        return previous_bpm
    if math.isnan(previous_bpm) or smooth_s <= 0.0:
        return target_bpm
    return previous_bpm + (target_bpm - previous_bpm) * (1.0 - math.exp(-max(0.0, dt_s) / smooth_s))


def next_role(role: Role, lead: bool, since_start_s: float, peers: int, session_bpm: float, set_bpm: float) -> Role:
    """Whether the show leads the session's tempo from now on (see the module's notes).

    Parameters
    ----------
    role : {"listening", "leading", "following"}
        The role until now.
    lead : bool
        ``[link] lead``: take the tempo over whatever the session had.
    since_start_s : float
        Seconds since the show's Link peer was enabled.
    peers : int
        Other peers in the session.
    session_bpm : float
        The session's tempo now, beats per minute.
    set_bpm : float
        The tempo the show set last (NaN: none yet), beats per minute.
    """
    if lead:
        return "leading"
    if role == "listening":
        if since_start_s < SETTLE_S:
            return "listening"
        return "leading" if peers == 0 else "following"
    if peers == 0:
        return "leading"  # alone: nobody's tempo to keep
    if role == "leading" and (math.isnan(set_bpm) or abs(session_bpm - set_bpm) <= SAME_TEMPO_BPM):
        return "leading"  # peers joined the show's session, and the tempo is still the show's
    return "following"


@dataclass(slots=True)
class TempoFollower:
    """The tempo the show asks of the session, one step per reading of the driving feature.

    Parameters
    ----------
    min_bpm, max_bpm : float
        Bounds of the tempo, beats per minute.
    smooth_s : float
        Time constant of the tempo's smoothing, seconds.
    lead : bool
        Lead always (``[link] lead = true``).
    """

    min_bpm: float
    max_bpm: float
    smooth_s: float
    lead: bool = False
    role: Role = "listening"
    smoothed_bpm: float = math.nan
    set_bpm: float = math.nan
    _last_s: float = math.nan
    _last_set_s: float = -math.inf

    def step(self, now_s: float, heart_bpm: float, since_start_s: float, peers: int, session_bpm: float) -> float | None:
        """One reading: the tempo to set on the session now (beats per minute), or None.

        ``now_s`` is any monotonic time in seconds; ``heart_bpm`` the driving feature (NaN when
        unknown: the tempo holds); ``session_bpm`` the session's tempo now.
        """
        dt_s = 0.0 if math.isnan(self._last_s) else now_s - self._last_s
        self._last_s = now_s
        role = next_role(self.role, self.lead, since_start_s, peers, session_bpm, self.set_bpm)
        if role == "leading" and self.role != "leading" and (self.role == "following" or peers > 0):
            self.smoothed_bpm = session_bpm  # taking over a tempo that was someone else's: glide from it
        self.role = role
        target = target_tempo_bpm(heart_bpm, self.min_bpm, self.max_bpm)
        self.smoothed_bpm = smooth_bpm(self.smoothed_bpm, target, dt_s, self.smooth_s)
        if self.role != "leading" or math.isnan(self.smoothed_bpm):
            return None
        if now_s - self._last_set_s < (TEMPO_PERIOD_S if peers == 0 else TEMPO_PERIOD_PEERS_S):
            return None
        if abs(self.smoothed_bpm - session_bpm) < TEMPO_STEP_BPM and not math.isnan(self.set_bpm):
            return None
        self._last_set_s = now_s
        self.set_bpm = self.smoothed_bpm
        return self.smoothed_bpm
