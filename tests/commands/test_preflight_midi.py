"""Preflight's MIDI check: judged with a table, and probed for real on JACK's dummy driver."""

from __future__ import annotations

from typing import Iterator

import pytest

from installation.commands.preflight import MidiProbe, judge_midi, probe_midi
from installation.config import MidiOutputConfig
from installation.sound.jack_server import ServerSettings
from tests.outputs.midi_peers import MidiDump, jack_for_tests


@pytest.mark.parametrize(("wanted", "probe", "result", "words"), [
    ("synth", MidiProbe("jack", ("synth:input",)), "GO", "'synth:input' on jack"),
    ("match:*usb*", MidiProbe("alsa", ("USB Uno MIDI 1",)), "GO", "'USB Uno MIDI 1' on alsa"),
    ("synth", MidiProbe("jack", ("drums:input",)), "NO-GO",
     "no jack port matches (ports: 'drums:input'): plug the interface in or start the receiver"),
    ("synth", MidiProbe("jack", ()), "NO-GO", "(ports: none)"),
    ("synth", MidiProbe(problem="no MIDI system: jack: ...; alsa: ..."), "NO-GO", "no MIDI system"),
    (None, MidiProbe("jack", (), made=True), "GO", "can be made on jack"),
    (None, MidiProbe("jack", (), problem="the virtual port cannot be made: x"), "NO-GO", "cannot be made"),
])
def test_judging_a_midi_output(wanted: str | None, probe: MidiProbe, result: str, words: str) -> None:
    check = judge_midi("outputs[2]", wanted, probe)
    assert (check.check, check.result) == ("midi out", result) and words in check.detail
    assert check.target == "outputs[2] " + (f"port {wanted!r}" if wanted else "virtual port")


@pytest.fixture(scope="module")
def jack() -> Iterator[ServerSettings]:
    yield from jack_for_tests()


def midi(**fields: object) -> MidiOutputConfig:
    return MidiOutputConfig.model_validate({"kind": "midi", "api": "jack", "clock": True, **fields})


def test_probing_finds_a_port_that_is_there_and_makes_a_virtual_one(jack: ServerSettings) -> None:
    dump = MidiDump("eco-preflight")
    try:
        there = judge_midi("outputs[0]", "eco-pre", probe_midi(midi(port="eco-pre")))
    finally:
        dump.stop()
    gone = judge_midi("outputs[0]", "eco-pre", probe_midi(midi(port="eco-pre")))
    virtual = judge_midi("outputs[1]", None, probe_midi(midi(virtual=True, name="eco-pre-virtual")))
    assert (there.result, there.detail) == ("GO", "'eco-preflight:input' on jack")
    assert gone.result == "NO-GO" and "no jack port matches" in gone.detail
    assert (virtual.result, virtual.detail) == ("GO", "can be made on jack (connect it to the DAW or synth)")
