"""Finding a MIDI port by name, saying why a MIDI system cannot be used, and a JACK server that restarts."""

from __future__ import annotations

import logging
import time

import pytest

from installation.config import parse_show
from installation.outputs import midi_ports
from installation.outputs.fanout import Outputs
from installation.outputs.midi_ports import MidiPort, MidiUnavailable, choose_api, match_port
from installation.sound.jack_server import DummyJackServer, open_client, server_running
from tests.helpers import DEFAULT_SHOW
from tests.outputs.midi_peers import MidiDump, require_jack_tools
from tests.outputs.test_midi import wait_open

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


def test_a_virtual_port_is_made_again_when_the_jack_server_restarts(caplog: pytest.LogCaptureFixture) -> None:
    require_jack_tools()
    if server_running():
        pytest.skip("a JACK server that this test did not start is running; the test stops and restarts its own")
    caplog.set_level(logging.INFO, "installation.outputs.midi")
    show = parse_show(DEFAULT_SHOW.read_text() + '\n[[outputs]]\nkind = "midi"\nname = "eco-restart"\nvirtual = true\n'
                      'api = "jack"\nnotes = [{from = "p*.heart.beat", pitch = 50}]\n', "midi.toml")
    server = DummyJackServer()
    server.start()
    outputs = Outputs(show.outputs, ["p1"])
    dump = None
    try:
        wait_open(outputs)
        server.stop()
        deadline = time.monotonic() + 5.0
        while outputs.midi_states()[0][1].open:
            assert time.monotonic() < deadline, "the JACK server's going was not noticed"
            outputs.event("p1.heart.beat", 70.0, 0.0)  # dropped, never raised
            time.sleep(0.05)
        server = DummyJackServer()
        server.start()
        wait_open(outputs)
        dump = MidiDump("eco-restart-dump")
        look = open_client("eco-test-look")
        try:
            look.connect("eco-restart:eco-restart", dump.port)
        finally:
            look.close()
        outputs.event("p1.heart.beat", 70.0, 0.0)
        time.sleep(0.2)
    finally:
        outputs.close()
        got = dump.stop() if dump is not None else []
        server.stop()
    assert [(m.status, m.data[1]) for m in got if m.status == 0x90] == [(0x90, 50)]
    messages = [r.getMessage() for r in caplog.records]
    assert sum("lost" in m for m in messages) == 1 and any("open again (eco-restart)" in m for m in messages)
