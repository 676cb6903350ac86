"""MIDI out's pure part: events and features -> MIDI messages, with no port and no thread.

A ``kind = "midi"`` output turns

* events (``p1.heart.beat``, ``p2.eda.scr``) into notes: a note-on on the wearer's
  channel, its pitch fixed or chosen by a feature, its velocity from the event's value,
  and a note-off ``length_s`` later (:class:`HeldNotes` keeps the schedule);
* features into control changes (0..127 across a declared range, sent when the value
  changes, at most ``rate_hz`` times a second);
* a tempo feature (the group's mean heart rate) into a smoothed, bounded tempo for MIDI
  clock.

Channels: the show file numbers them 1..16, as synths and DAWs show them; the messages
here carry them 0..15, as they go on the wire (mido's ``channel``).
"""

from __future__ import annotations

import heapq
import math
import re
from dataclasses import dataclass
from typing import Mapping

import mido

from installation.config import SCALES, MidiNote, MidiOutputConfig
from installation.outputs.select import Selection

#: MIDI clock: timing messages per quarter note.
CLOCK_PPQN = 24

_SLOT_IN = re.compile(r"(?:^|\.)(p[1-9][0-9]*)(?=\.|$)")


def wearer_of(address: str) -> str | None:
    """The wearer slot an address belongs to: ``p1.heart.beat`` and ``sound.p1.pulse`` -> ``p1``; else None."""
    m = _SLOT_IN.search(address)
    return m.group(1) if m else None


def wire_channel(wearer: str | None, cfg: MidiOutputConfig) -> int:
    """The channel (0..15, as on the wire) of a wearer's messages.

    ``channels`` in the show file (1..16) first; else p1 -> 0, p2 -> 1, ..., p16 -> 15,
    p17 -> 0 again; what belongs to no wearer goes on the output's ``channel``.
    """
    if wearer is None:
        return cfg.channel - 1
    given = cfg.channels.get(wearer)
    if given is not None:
        return given - 1
    return (int(wearer[1:]) - 1) % 16


def unit(value: float, in_range: tuple[float, float]) -> float:
    """``value``'s place in ``in_range``, clipped to 0..1 (a reversed range inverts)."""
    low, high = in_range
    return min(1.0, max(0.0, (value - low) / (high - low)))


def seven_bit(value: float, in_range: tuple[float, float]) -> int:
    """A controller value 0..127 for ``value`` across ``in_range``."""
    return round(127.0 * unit(value, in_range))


def velocity_of(value: float, note: MidiNote) -> int:
    """The note-on velocity (1..127) for an event's value; the low end when the value is unknown (NaN)."""
    low, high = note.velocity
    x = unit(value, note.value_range) if value == value else 0.0
    return max(1, min(127, round(low + x * (high - low))))


def scale_notes(low: int, high: int, scale: str) -> list[int]:
    """The notes from ``low`` to ``high`` that belong to ``scale`` rooted on ``low``."""
    degrees = set(SCALES[scale])
    return [n for n in range(low, high + 1) if (n - low) % 12 in degrees]


def pitch_of(note: MidiNote, wearer: str | None, features: Mapping[str, float]) -> int:
    """The note number of a note-on: ``pitch``, or ``pitch_from``'s value (the event's wearer
    put for ``p*``) across ``pitch_range``, snapped to ``scale``; ``pitch`` when that value
    is not known."""
    if note.pitch_from is None:
        return note.pitch
    address = note.pitch_from
    if "p*" in address:
        if wearer is None:
            return note.pitch
        address = address.replace("p*", wearer)
    value = features.get(address, math.nan)
    if value != value:
        return note.pitch
    low, high = note.pitch_range
    target = low + unit(value, note.pitch_in_range) * (high - low)
    choices = scale_notes(low, high, note.scale) or [low]
    return min(choices, key=lambda n: (abs(n - target), n))


@dataclass(frozen=True, slots=True)
class NoteOn:
    """A note to play: note-on now, note-off ``length_s`` later.

    Attributes
    ----------
    channel : int
        0..15, as on the wire.
    pitch : int
        Note number 0..127.
    velocity : int
        1..127.
    length_s : float
        Seconds until its note-off.
    """

    channel: int
    pitch: int
    velocity: int
    length_s: float

    def message(self) -> mido.Message:
        """The note-on message."""
        return mido.Message("note_on", channel=self.channel, note=self.pitch, velocity=self.velocity)


def tempo_step(tempo_bpm: float | None, wanted_bpm: float, dt_s: float, cfg: MidiOutputConfig) -> float | None:
    """One step of the clock's tempo: ``wanted_bpm`` (NaN: unknown) held within the bounds and
    smoothed (one pole, time constant ``clock_smooth_s``) from ``tempo_bpm`` (None: not started)."""
    if wanted_bpm != wanted_bpm:
        return tempo_bpm  # nobody's heart heard: the tempo holds
    low, high = cfg.clock_bpm_range
    wanted = min(high, max(low, wanted_bpm))
    if tempo_bpm is None or cfg.clock_smooth_s == 0.0:
        return wanted
    alpha = 1.0 - math.exp(-max(0.0, dt_s) / cfg.clock_smooth_s)
    return tempo_bpm + alpha * (wanted - tempo_bpm)


class MidiMap:
    """What one MIDI output sends, from its show-file entry.

    Parameters
    ----------
    cfg : MidiOutputConfig
        The ``[[outputs]]`` entry.
    """

    def __init__(self, cfg: MidiOutputConfig) -> None:
        self.cfg = cfg
        self._note_selections = [Selection([n.source]) for n in cfg.notes]
        self._cc_selections = [Selection([c.source]) for c in cfg.cc]
        self._cc_keys: tuple[int, list[list[str]]] = (-1, [])
        self._cc_sent: dict[tuple[int, int], tuple[int, float]] = {}  # (channel, cc) -> (value, when sent)
        self.tempo_bpm: float | None = None
        self._tempo_at_s = math.nan

    def notes(self, address: str, value: float, features: Mapping[str, float]) -> list[NoteOn]:
        """The notes an event plays (one per ``notes`` entry that selects it)."""
        out = []
        for note, selected in zip(self.cfg.notes, self._note_selections):
            if selected(address):
                wearer = wearer_of(address)
                out.append(NoteOn(wire_channel(wearer, self.cfg), pitch_of(note, wearer, features),
                                  velocity_of(value, note), note.length_s))
        return out

    def controls(self, now_s: float, features: Mapping[str, float]) -> list[mido.Message]:
        """The control changes due at a feature tick: a value that changed since it was last
        sent, once its controller's period (``1 / rate_hz``) has passed."""
        count, keys = self._cc_keys
        if count != len(features):  # a wearer came or went: the addresses changed
            keys = [[a for a in features if selected(a)] for selected in self._cc_selections]
            self._cc_keys = (len(features), keys)
        out = []
        for control, addresses in zip(self.cfg.cc, keys):
            period_s = 1.0 / control.rate_hz
            for address in addresses:
                value = features.get(address, math.nan)
                if value != value:
                    continue
                channel = control.channel - 1 if control.channel is not None else wire_channel(wearer_of(address),
                                                                                                 self.cfg)
                level = seven_bit(value, control.in_range)
                last = self._cc_sent.get((channel, control.cc))
                if last is not None and (last[0] == level or now_s - last[1] < period_s - 1e-6):
                    continue
                self._cc_sent[(channel, control.cc)] = (level, now_s)
                out.append(mido.Message("control_change", channel=channel, control=control.cc, value=level))
        return out

    def tempo(self, now_s: float, features: Mapping[str, float]) -> float | None:
        """The clock's tempo now (beats per minute, smoothed, bounded); None until it is first known."""
        if not self.cfg.clock:
            return None
        dt_s = 0.0 if self._tempo_at_s != self._tempo_at_s else now_s - self._tempo_at_s
        self._tempo_at_s = now_s
        self.tempo_bpm = tempo_step(self.tempo_bpm, features.get(self.cfg.clock_from, math.nan), dt_s, self.cfg)
        return self.tempo_bpm


class HeldNotes:
    """The notes sounding and when each ends: the note-off schedule of one output.

    A note struck again while it sounds is ended first (a note-off, then the new note-on),
    and only the newest note-off of a key is sent when due.
    """

    def __init__(self) -> None:
        self._ends: dict[tuple[int, int], float] = {}  # (channel, pitch) -> when its note-off is due, s
        self._heap: list[tuple[float, int, int]] = []

    def __len__(self) -> int:
        return len(self._ends)

    def strike(self, note: NoteOn, now_s: float) -> list[mido.Message]:
        """The messages that play ``note`` now (a note-off first when it already sounds)."""
        key = (note.channel, note.pitch)
        out = [mido.Message("note_off", channel=note.channel, note=note.pitch)] if key in self._ends else []
        out.append(note.message())
        end_s = now_s + note.length_s
        self._ends[key] = end_s
        heapq.heappush(self._heap, (end_s, note.channel, note.pitch))
        return out

    def next_due_s(self) -> float:
        """When the next note-off is due (inf: none sounds)."""
        while self._heap and self._ends.get((self._heap[0][1], self._heap[0][2])) != self._heap[0][0]:
            heapq.heappop(self._heap)  # an ending superseded by a later strike
        return self._heap[0][0] if self._heap else math.inf

    def due(self, now_s: float) -> list[mido.Message]:
        """The note-offs due by ``now_s``."""
        out = []
        while self.next_due_s() <= now_s:
            _, channel, pitch = heapq.heappop(self._heap)
            del self._ends[(channel, pitch)]
            out.append(mido.Message("note_off", channel=channel, note=pitch))
        return out

    def release_all(self) -> list[mido.Message]:
        """Note-offs for every note sounding (the show stops, or the port is lost)."""
        out = [mido.Message("note_off", channel=c, note=p) for c, p in sorted(self._ends)]
        self._ends.clear()
        self._heap.clear()
        return out
