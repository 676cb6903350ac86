"""The console's MIDI line: judged with a table, and read from a running session that plays to JACK."""

from __future__ import annotations

import io
import math
from typing import Iterator

import pytest
from rich.console import Console

from installation.config import parse_show
from installation.outputs.midi import MidiState
from installation.runtime.console import OperatorConsole, midi_line
from installation.runtime.launch import prepare_show
from installation.runtime.session import Session
from installation.sensors.simulated import SimulatedAudience
from installation.sound.jack_server import ServerSettings
from tests.helpers import DEFAULT_SHOW
from tests.outputs.midi_peers import MidiDump, jack_for_tests


@pytest.mark.parametrize(("rows", "line"), [
    ([("outputs[0] midi synth", MidiState(True, "synth:input", "", 12, 30, 0, math.nan), 2.5)],
     "outputs[0] midi synth: open synth:input, 2.5 notes/s"),
    ([("outputs[0] midi synth", MidiState(True, "synth:input", "", 12, 30, 0, 71.6), 0.0)],
     "outputs[0] midi synth: open synth:input, 0.0 notes/s, clock 72 bpm"),
    ([("outputs[1] midi x", MidiState(False, "", "'x:input' is gone", 3, 9, 4, math.nan), 0.0),
      ("outputs[2] midi virtual eco", MidiState(True, "eco", "", 0, 0, 0, math.nan), 0.0)],
     "outputs[1] midi x: RETRYING ('x:input' is gone), 4 dropped   outputs[2] midi virtual eco: open eco, 0.0 notes/s"),
])
def test_the_midi_line(rows: list[tuple[str, MidiState, float]], line: str) -> None:
    assert midi_line(rows) == line


@pytest.fixture(scope="module")
def jack() -> Iterator[ServerSettings]:
    yield from jack_for_tests()


def test_the_console_shows_a_midi_output_open_and_its_notes_a_second(jack: ServerSettings) -> None:
    dump = MidiDump("eco-console")
    text = DEFAULT_SHOW.read_text() + ('\n[[outputs]]\nkind = "midi"\nport = "eco-console"\n'
                                       'notes = [{from = "p*.heart.beat", length_s = 0.05}]\n')
    prepared = prepare_show(parse_show(text, "midi.toml", DEFAULT_SHOW))
    session = Session(prepared.show, prepared.mapper, [SimulatedAudience(2, seed=3)], ["p1", "p2"], None, None)
    screen = io.StringIO()
    operator = OperatorConsole(session, console=Console(file=screen, width=160, height=30), keys=False)
    try:
        with session:
            session.run(6.0)
            operator.refresh()  # the first look: counting starts
            session.run(2.0)
            operator.refresh()
            rendered = Console(file=io.StringIO(), width=160)
            with rendered.capture() as captured:
                rendered.print(operator._render())
    finally:
        got = dump.stop()
    line = next(row for row in captured.get().splitlines() if row.startswith("midi "))
    notes_per_s = float(line.split(", ")[1].split()[0])
    assert line.startswith("midi outputs[0] midi eco-console: open eco-console:input, ")
    assert 0.5 < notes_per_s < 6.0, line  # two wearers' hearts: about 2 notes a second
    assert len([m for m in got if m.status == 0x90]) > 5
