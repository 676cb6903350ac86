"""Finding a MIDI port by name, and saying why a MIDI system cannot be used (without JACK or ALSA running)."""

from __future__ import annotations

import pytest

from installation.outputs import midi_ports
from installation.outputs.midi_ports import MidiPort, MidiUnavailable, choose_api, match_port

PORTS = ["Midi Through:Midi Through Port-0 14:0", "USB Uno MIDI Interface:USB Uno MIDI Interface MIDI 1 20:0",
         "system:midi_playback_1", "synth:input"]


@pytest.mark.parametrize(("wanted", "found"), [
    ("synth:input", "synth:input"),  # the whole name
    ("usb uno", PORTS[1]),  # a part of it, any case
    ("match:*Through*", PORTS[0]),  # a glob, as serial ports are matched
    ("match:system:*", "system:midi_playback_1"),
    ("match:synth", None),  # a glob matches the whole name
    ("korg", None),
])
def test_a_port_is_found_by_name_part_or_glob(wanted: str, found: str | None) -> None:
    assert match_port(wanted, PORTS) == found


def test_without_jack_or_alsa_the_reason_names_both(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(midi_ports, "ALSA_SEQ", "/nonexistent/snd/seq")
    monkeypatch.setattr(midi_ports.jack_server, "server_running", lambda: False)
    with pytest.raises(MidiUnavailable) as err:
        choose_api("auto")
    assert str(err.value) == ("no MIDI system: jack: no JACK server is running (start one, e.g. jackd -d dummy, or "
                              "use ALSA); alsa: no ALSA sequencer (/nonexistent/snd/seq is missing: load the snd-seq "
                              "kernel module, or use JACK)")
    with pytest.raises(MidiUnavailable, match="no ALSA sequencer"):
        MidiPort("alsa", "synth").open()
    listed = midi_ports.output_ports("jack")
    assert listed.names == [] and "no JACK server is running" in listed.problem


def test_auto_takes_jack_when_a_server_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(midi_ports, "ALSA_SEQ", "/nonexistent/snd/seq")
    monkeypatch.setattr(midi_ports.jack_server, "server_running", lambda: True)
    assert choose_api("auto") == "jack"
