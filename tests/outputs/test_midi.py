"""MIDI out for real: python-rtmidi on JACK's dummy driver, received by ``jack_midi_dump`` (JACK's own
monitor, not our code): notes on each wearer's channel, control changes following a feature, the
clock's tick rate, a virtual port, and a receiver that goes away and comes back."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Iterator

import pytest

from installation.config import parse_show
from installation.outputs.fanout import Outputs
from installation.outputs.midi_ports import ALSA_SEQ
from installation.runtime.launch import LaunchOptions, perform
from installation.sound.jack_server import ServerSettings, open_client
from tests.helpers import DEFAULT_SHOW, ecosymphony
from tests.outputs.midi_peers import MidiDump, Received, jack_for_tests

NOTE_ON, NOTE_OFF, CC, CLOCK, START, STOP = 0x90, 0x80, 0xB0, 0xF8, 0xFA, 0xFC


@pytest.fixture(scope="module")
def jack() -> Iterator[ServerSettings]:
    yield from jack_for_tests()


def midi_outputs(entry: str, wearers: list[str] | None = None) -> Outputs:
    show = parse_show(DEFAULT_SHOW.read_text() + '\n[[outputs]]\nkind = "midi"\n' + entry, "midi.toml")
    return Outputs(show.outputs, wearers or ["p1", "p2"])


def wait_open(outputs: Outputs, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not all(state.open for _, state in outputs.midi_states()):
        assert time.monotonic() < deadline, outputs.midi_states()
        time.sleep(0.02)


def of(messages: list[Received], status: int) -> list[Received]:
    return [m for m in messages if m.status == status]


def test_beats_become_notes_on_each_wearers_channel_with_mapped_pitch_and_velocity(jack: ServerSettings) -> None:
    dump = MidiDump("eco-notes")
    outputs = midi_outputs('port = "eco-notes"\nchannels = {p2 = 10}\n'
                           'notes = [{from = "p*.heart.beat", velocity = [20, 120], value_range = [50, 150], '
                           'length_s = 0.05},\n'
                           '         {from = "p*.eda.scr", pitch_from = "p*.eda.arousal", pitch_range = [60, 72], '
                           'scale = "major", length_s = 0.05}]\n')
    try:
        wait_open(outputs)
        outputs.update(0.0, {"p1.eda.arousal": 0.5, "p2.eda.arousal": 0.0}, {})
        for address, value in [("p1.heart.beat", 50.0), ("p2.heart.beat", 100.0), ("p1.heart.beat", 200.0),
                               ("p1.eda.scr", 0.3), ("p2.eda.scr", 0.3)]:
            outputs.event(address, value, 0.0)
            time.sleep(0.1)
    finally:
        outputs.close()
    got = dump.stop()
    ons = [(m.channel, m.data[1], m.data[2]) for m in of(got, NOTE_ON)]
    # p2 on channel 10 (9 on the wire); velocity 20 + (v - 50) / 100 * 100, clipped; the SCR's pitch from arousal:
    # 0.5 -> 66 -> nearest C major note above 60 (F 65 and G 67 tie: the lower); 0.0 -> 60
    assert ons == [(0, 60, 20), (9, 60, 70), (0, 60, 120), (0, 65, 100), (9, 60, 100)]
    offs = of(got, NOTE_OFF)
    assert [(m.channel, m.data[1]) for m in offs] == [(c, p) for c, p, _ in ons]
    for on, off in zip(of(got, NOTE_ON), offs):  # each note ends before the next one starts (0.05 s < 0.1 s)
        assert 0 < off.frame - on.frame < 0.1 * jack.sample_rate_hz


def test_a_control_change_follows_a_feature_and_is_sent_only_on_change(jack: ServerSettings) -> None:
    dump = MidiDump("eco-cc")
    outputs = midi_outputs('port = "match:eco-cc*"\ncc = [{from = "p*.eda.arousal", cc = 1, rate_hz = 1000},\n'
                           '      {from = "group.sync", cc = 7, in_range = [1.0, 0.0], channel = 16}]\n')
    steps = [0.0, 0.0, 0.25, 0.25, 0.5, 1.0, 1.0, 2.0, -1.0]
    try:
        wait_open(outputs)
        for i, x in enumerate(steps):
            outputs.update(i * 0.01, {"p1.eda.arousal": x, "p2.eda.arousal": float("nan"), "group.sync": 0.25}, {})
            time.sleep(0.01)
        time.sleep(0.1)
    finally:
        outputs.close()
    got = of(dump.stop(), CC)
    assert [(m.channel, m.data[1], m.data[2]) for m in got if m.data[1] == 1] == \
        [(0, 1, 0), (0, 1, 32), (0, 1, 64), (0, 1, 127), (0, 1, 0)]  # 2.0 clips to 127 (no change), -1.0 to 0
    assert [(m.channel, m.data[1], m.data[2]) for m in got if m.data[1] == 7] == [(15, 7, 95)]  # inverted range


def test_the_clock_ticks_24_times_a_quarter_note_at_the_group_heart_rate(jack: ServerSettings) -> None:
    dump = MidiDump("eco-clock")
    outputs = midi_outputs('port = "eco-clock"\nclock = true\nclock_smooth_s = 0\nclock_bpm_range = [40, 200]\n')
    try:
        wait_open(outputs)
        start = time.monotonic()
        while time.monotonic() - start < 2.5:
            outputs.update(time.monotonic() - start, {"group.heart.bpm": 100.0}, {})
            time.sleep(0.01)
    finally:
        outputs.close()
    got = dump.stop()
    assert got[0].status == START and got[-1].status == STOP
    ticks = of(got, CLOCK)
    rate_hz = (len(ticks) - 1) / ((ticks[-1].frame - ticks[0].frame) / jack.sample_rate_hz)
    assert rate_hz == pytest.approx(24 * 100 / 60, rel=0.02)  # 40 ticks a second at 100 bpm


def test_a_virtual_port_is_there_for_another_program_to_connect(jack: ServerSettings) -> None:
    dump = MidiDump("eco-daw")
    outputs = midi_outputs('name = "eco-virtual"\nvirtual = true\napi = "jack"\n'
                           'notes = [{from = "p*.heart.beat", pitch = 40}]\n')
    try:
        wait_open(outputs)
        daw = open_client("eco-test-daw")
        try:
            daw.connect("eco-virtual:eco-virtual", dump.port)  # as a DAW's user connects it
        finally:
            daw.close()
        outputs.event("p3.heart.beat", 70.0, 0.0)
        time.sleep(0.2)
    finally:
        outputs.close()
    assert [(m.channel, m.data[1]) for m in of(dump.stop(), NOTE_ON)] == [(2, 40)]


def test_a_receiver_that_goes_away_is_retried_and_sending_resumes(jack: ServerSettings,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "installation.outputs.midi")
    first = MidiDump("eco-synth")
    outputs = midi_outputs('port = "eco-synth"\nnotes = [{from = "p*.heart.beat", length_s = 0.02}]\n')
    second = None
    try:
        wait_open(outputs)
        outputs.event("p1.heart.beat", 70.0, 0.0)
        time.sleep(0.1)
        before = first.stop()  # the synth is switched off
        deadline = time.monotonic() + 5.0
        while outputs.midi_states()[0][1].open:
            assert time.monotonic() < deadline, "the vanished port was not noticed"
            outputs.event("p2.heart.beat", 70.0, 0.0)  # into the void: dropped, never raised
            time.sleep(0.05)
        for _ in range(3):
            outputs.event("p2.heart.beat", 70.0, 0.0)
        second = MidiDump("eco-synth")  # and on again
        wait_open(outputs)
        outputs.event("p3.heart.beat", 70.0, 0.0)
        time.sleep(0.1)
        state = outputs.midi_states()[0][1]
    finally:
        outputs.close()
        after = second.stop() if second is not None else []
    assert [m.channel for m in of(before, NOTE_ON)] == [0]
    assert [m.channel for m in of(after, NOTE_ON)] == [2]  # nothing from while it was gone
    assert state.dropped >= 3 and state.notes >= 2
    lost = [r.getMessage() for r in caplog.records if "lost" in r.getMessage()]
    assert len(lost) == 1 and "'eco-synth:input' is gone" in lost[0]
    assert any("open again (eco-synth:input)" in r.getMessage() for r in caplog.records)


def test_a_rehearsal_plays_each_simulated_wearers_beats_on_their_channel(jack: ServerSettings,
                                                                        tmp_path: Path) -> None:
    dump = MidiDump("eco-show")
    text = DEFAULT_SHOW.read_text() + ('\n[[outputs]]\nkind = "midi"\nport = "eco-show"\n'
                                       'notes = [{from = "p*.heart.beat", pitch = 36, velocity = [30, 110], '
                                       'value_range = [40, 140], length_s = 0.05}]\n')
    show = parse_show(text, "midi.toml", DEFAULT_SHOW)
    try:
        summary = perform(show, LaunchOptions(duration_s=8.0, participants=2, seed=5, audio="none", visuals="none",
                                              live_edit=False, runs_dir=tmp_path), rehearsal=True,
                          notify=lambda _: None)
    finally:
        got = dump.stop()
    ons = of(got, NOTE_ON)
    for channel, wearer in [(0, "p1"), (1, "p2")]:
        mine = [m for m in ons if m.channel == channel]
        assert abs(len(mine) - summary.beats[wearer]) <= 1 and len(mine) > 3, (wearer, len(mine), summary.beats)
        assert all(m.data[1] == 36 and 30 <= m.data[2] <= 110 for m in mine)
    assert {m.channel for m in ons} == {0, 1}
    assert abs(len(of(got, NOTE_OFF)) - len(ons)) <= 1  # every note ended (one may be lost in a late JACK cycle)


def test_devices_lists_the_midi_ports_and_why_a_system_is_missing(jack: ServerSettings) -> None:
    dump = MidiDump("eco-listed")
    try:
        done = ecosymphony("devices")
    finally:
        dump.stop()
    rows = [" ".join(line.replace("│", " ").split()) for line in done.stdout.splitlines()]
    assert "jack eco-listed:input" in rows, done.stdout
    alsa = "alsa (none: no ALSA sequencer" if not os.path.exists(ALSA_SEQ) else "alsa "
    assert any(row.startswith(alsa) for row in rows), done.stdout
    assert 'Send to one: [[outputs]] kind = "midi"' in done.stdout
