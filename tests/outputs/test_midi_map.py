"""MIDI out's pure mapping: channels, pitch, velocity, control changes, the clock's tempo, note-offs."""

from __future__ import annotations

import math

import mido
import pytest

from installation.config import MidiNote, MidiOutputConfig
from installation.outputs.midi_map import HeldNotes, MidiMap, NoteOn, pitch_of, seven_bit, tempo_step, velocity_of, \
    wearer_of, wire_channel


def midi(**fields: object) -> MidiOutputConfig:
    return MidiOutputConfig.model_validate({"kind": "midi", "port": "synth", "clock": True, **fields})


def note(**fields: object) -> MidiNote:
    return MidiNote.model_validate({"from": "p*.heart.beat", **fields})


@pytest.mark.parametrize(("address", "wearer"), [("p1.heart.beat", "p1"), ("sound.p12.pulse", "p12"),
                                                  ("group.sync", None), ("p0.heart.beat", None), ("sound.bell", None),
                                                  ("group.sync.p2.p5", "p2")])
def test_the_wearer_of_an_address(address: str, wearer: str | None) -> None:
    assert wearer_of(address) == wearer


@pytest.mark.parametrize(("wearer", "channels", "wire"), [
    ("p1", {}, 0), ("p2", {}, 1), ("p16", {}, 15), ("p17", {}, 0), ("p2", {"p2": 10}, 9), ("p3", {"p2": 10}, 2),
    (None, {}, 4),  # the output's channel = 5
])
def test_channels_are_1_to_16_in_the_show_and_0_to_15_on_the_wire(wearer: str | None, channels: dict[str, int],
                                                                   wire: int) -> None:
    assert wire_channel(wearer, midi(channels=channels, channel=5)) == wire


@pytest.mark.parametrize(("value", "in_range", "level"), [
    (0.0, (0.0, 1.0), 0), (1.0, (0.0, 1.0), 127), (0.5, (0.0, 1.0), 64), (2.0, (0.0, 1.0), 127), (-1.0, (0.0, 1.0), 0),
    (60.0, (40.0, 140.0), 25), (0.25, (1.0, 0.0), 95),
])
def test_a_feature_is_scaled_to_seven_bits(value: float, in_range: tuple[float, float], level: int) -> None:
    assert seven_bit(value, in_range) == level


@pytest.mark.parametrize(("fields", "value", "velocity"), [
    ({}, 72.0, 100), ({"velocity": [20, 120], "value_range": [50, 150]}, 100.0, 70),
    ({"velocity": [20, 120], "value_range": [50, 150]}, 10.0, 20), ({"velocity": [0, 127]}, 0.0, 1),
    ({"velocity": [120, 20], "value_range": [50, 150]}, 150.0, 20), ({"velocity": [20, 120]}, math.nan, 20),
])
def test_velocity_follows_the_events_value(fields: dict[str, object], value: float, velocity: int) -> None:
    assert velocity_of(value, note(**fields)) == velocity


@pytest.mark.parametrize(("fields", "wearer", "features", "pitch"), [
    ({"pitch": 64}, "p1", {}, 64),
    ({"pitch_from": "p*.eda.arousal", "pitch_range": [60, 72]}, "p1", {"p1.eda.arousal": 0.5}, 66),
    ({"pitch_from": "p*.eda.arousal", "pitch_range": [60, 72], "scale": "major"}, "p1", {"p1.eda.arousal": 0.5}, 65),
    ({"pitch_from": "p*.eda.arousal", "pitch_range": [60, 72], "scale": "pentatonic"}, "p2",
     {"p1.eda.arousal": 0.0, "p2.eda.arousal": 0.9}, 72),
    ({"pitch_from": "p*.eda.arousal", "pitch": 50}, "p1", {"p1.eda.arousal": math.nan}, 50),  # not known yet
    ({"pitch_from": "p*.eda.arousal", "pitch": 50}, None, {"p1.eda.arousal": 0.5}, 50),  # no wearer to read
    ({"pitch_from": "group.heart.bpm", "pitch_in_range": [40, 140], "pitch_range": [36, 48]}, "p3",
     {"group.heart.bpm": 140.0}, 48),
])
def test_pitch_is_fixed_or_from_a_feature_snapped_to_a_scale(fields: dict[str, object], wearer: str | None,
                                                               features: dict[str, float], pitch: int) -> None:
    assert pitch_of(note(**fields), wearer, features) == pitch


def test_events_select_their_notes() -> None:
    mapping = MidiMap(midi(notes=[{"from": "p*.heart.beat", "length_s": 0.2}, {"from": "p2.eda.scr", "pitch": 30}]))
    assert mapping.notes("p1.heart.beat", 72.0, {}) == [NoteOn(0, 60, 100, 0.2)]
    assert mapping.notes("p2.eda.scr", 0.4, {}) == [NoteOn(1, 30, 100, 0.1)]
    assert mapping.notes("p1.eda.scr", 0.4, {}) == []
    assert mapping.notes("group.sync", 0.4, {}) == []


def test_control_changes_go_on_change_and_within_their_rate() -> None:
    mapping = MidiMap(midi(cc=[{"from": "p*.eda.arousal", "cc": 1, "rate_hz": 10}]))
    sent = []
    for i, (p1, p2) in enumerate([(0.0, 0.5), (0.0, 0.5), (0.5, 0.5), (1.0, 0.5), (1.0, math.nan), (1.0, 0.0)]):
        now_s = 0.05 * i  # two ticks per controller period
        sent.append([(m.channel, m.control, m.value)
                     for m in mapping.controls(now_s, {"p1.eda.arousal": p1, "p2.eda.arousal": p2})])
    assert sent == [[(0, 1, 0), (1, 1, 64)], [], [(0, 1, 64)], [], [(0, 1, 127)], [(1, 1, 0)]]


@pytest.mark.parametrize(("tempo", "wanted", "dt_s", "smooth_s", "out"), [
    (None, 72.0, 0.0, 4.0, 72.0),  # the first tempo is taken as it is
    (None, math.nan, 0.0, 4.0, None),  # not known yet: no clock
    (80.0, math.nan, 0.1, 4.0, 80.0),  # nobody's heart heard: the tempo holds
    (None, 20.0, 0.0, 4.0, 50.0), (None, 300.0, 0.0, 4.0, 160.0),  # held within the bounds
    (80.0, 120.0, 4.0, 4.0, 80.0 + 40.0 * (1 - math.exp(-1.0))),  # one time constant: 63 % of the way
    (80.0, 120.0, 0.1, 0.0, 120.0),  # no smoothing
])
def test_the_clock_tempo_is_bounded_and_smoothed(tempo: float | None, wanted: float, dt_s: float, smooth_s: float,
                                                 out: float | None) -> None:
    got = tempo_step(tempo, wanted, dt_s, midi(clock_smooth_s=smooth_s))
    assert got == (pytest.approx(out) if out is not None else None)


def test_a_note_ends_after_its_length_and_a_restruck_note_is_ended_first() -> None:
    held = HeldNotes()
    kinds = lambda messages: [(m.type, m.channel, m.note) for m in messages]  # noqa: E731
    assert kinds(held.strike(NoteOn(0, 60, 100, 0.1), 0.0)) == [("note_on", 0, 60)]
    assert kinds(held.strike(NoteOn(1, 60, 100, 0.3), 0.02)) == [("note_on", 1, 60)]
    assert held.next_due_s() == pytest.approx(0.1)
    assert kinds(held.strike(NoteOn(0, 60, 90, 0.1), 0.05)) == [("note_off", 0, 60), ("note_on", 0, 60)]
    assert held.due(0.1) == []  # the first ending was superseded by the second strike
    assert kinds(held.due(0.16)) == [("note_off", 0, 60)]
    assert len(held) == 1 and held.next_due_s() == pytest.approx(0.32)
    assert kinds(held.release_all()) == [("note_off", 1, 60)]
    assert held.next_due_s() == math.inf and held.due(10.0) == []


def test_note_on_messages_carry_the_wire_channel() -> None:
    assert NoteOn(9, 36, 80, 0.1).message().bytes() == mido.Message("note_on", channel=9, note=36, velocity=80).bytes()
    assert NoteOn(9, 36, 80, 0.1).message().bytes()[0] == 0x99
