"""The Link session's beat grid as show features and events, pure.

The Link peer's thread takes a :class:`Timeline` snapshot every few milliseconds (the
session's beat at a time on the show's clock, its tempo, its peers); between snapshots the
beat is extrapolated at the session's tempo. :func:`link_features` gives the features and
:class:`BeatTracker` the beat events, each made a little ahead of its beat
(:data:`LOOKAHEAD_S`) and dated at the beat's own time, so that the pipeline fires it on
time (the sound, on its audio clock, to the buffer; the others from the next tick).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from installation.dsp.events import Event

#: A beat event is made this many seconds before its beat (the pipeline then fires it on time).
LOOKAHEAD_S = 0.05
#: Beats more than this many seconds in the past are never sent (a stall, or a jump of the
#: session's timeline when the show joins another session).
STALE_S = 0.1


@dataclass(frozen=True, slots=True)
class Timeline:
    """The Link session at one instant.

    Attributes
    ----------
    at_s : float
        When, on the show's clock (seconds).
    beat : float
        The session's beat then (beats since the timeline's origin; a multiple of the
        quantum is a downbeat).
    tempo_bpm : float
        The session's tempo, beats per minute.
    peers : int
        Other peers in the session.
    quantum : float
        Beats per bar.
    role : str
        ``"listening"``, ``"leading"`` or ``"following"`` (see :mod:`installation.link.tempo`).
    """

    at_s: float
    beat: float
    tempo_bpm: float
    peers: int
    quantum: float
    role: str = "listening"

    def beat_at(self, now_s: float) -> float:
        """The session's beat at ``now_s`` (seconds, the show's clock), at the current tempo."""
        return self.beat + (now_s - self.at_s) * self.tempo_bpm / 60.0

    def time_of(self, beat: float) -> float:
        """When (seconds, the show's clock) the session reaches ``beat``, at the current tempo."""
        return self.at_s + (beat - self.beat) * 60.0 / self.tempo_bpm


def link_features(timeline: Timeline | None, now_s: float) -> dict[str, float]:
    """``link.phase`` (0..1 within the quantum: 0 on the downbeat), ``link.tempo`` (beats per
    minute) and ``link.peers`` at ``now_s``; phase and tempo are NaN before the first snapshot."""
    if timeline is None or not timeline.tempo_bpm > 0.0:
        return {"link.phase": math.nan, "link.tempo": math.nan, "link.peers": 0.0}
    q = timeline.quantum
    return {"link.phase": (timeline.beat_at(now_s) % q) / q, "link.tempo": timeline.tempo_bpm,
            "link.peers": float(timeline.peers)}


@dataclass(slots=True)
class BeatTracker:
    """Beat events from successive :class:`Timeline` snapshots: ``link.beat`` on every beat (value:
    the beat's place in the bar, 0 on the downbeat .. quantum - 1) and ``link.downbeat`` on the
    first beat of each bar (value: the bar's number). Each beat once, none from the past."""

    lookahead_s: float = LOOKAHEAD_S
    last_beat: float = math.nan  # the last beat number sent

    def take(self, timeline: Timeline | None, now_s: float) -> list[Event]:
        """The beats due within :attr:`lookahead_s` of ``now_s`` (seconds, the show's clock) not sent yet."""
        if timeline is None or not timeline.tempo_bpm > 0.0:
            return []
        current = math.floor(timeline.beat_at(now_s))
        ahead = math.floor(timeline.beat_at(now_s + self.lookahead_s))
        if math.isnan(self.last_beat) or ahead < self.last_beat - 1:
            # the first look, or the timeline went back (the show joined another session): from
            # now on (a beat sent early stays sent when a slower tempo moves it out of the lookahead)
            self.last_beat = current
        events: list[Event] = []
        first = max(self.last_beat + 1, current - math.ceil(STALE_S * timeline.tempo_bpm / 60.0))
        q = timeline.quantum
        for beat in range(int(first), int(ahead) + 1):
            at_s = timeline.time_of(beat)
            if at_s < now_s - STALE_S:
                continue
            place = float(beat % q)
            events.append(Event("link.beat", place, at_s, now_s, now_s))
            if place == 0.0:
                events.append(Event("link.downbeat", float(beat // q), at_s, now_s, now_s))
        self.last_beat = max(self.last_beat, ahead)
        return events
