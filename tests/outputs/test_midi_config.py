"""``[[outputs]] kind = "midi"`` in a show file: refused with the key and a clear reason, checked
against what the show produces, listed by ``check``."""

from __future__ import annotations

from pathlib import Path

import pytest

from installation.cli import main
from installation.config import ConfigError, MidiOutputConfig, parse_show
from installation.runtime.launch import prepare_show
from tests.helpers import DEFAULT_SHOW


def with_midi(entry: str) -> str:
    return DEFAULT_SHOW.read_text() + '\n[[outputs]]\nkind = "midi"\n' + entry


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('clock = true\n', 'outputs[0]: port = "..." names the port to send to (ecosymphony devices lists them), '
                           'or virtual = true makes one of our own'),
        ('port = "synth"\nvirtual = true\nclock = true\n',
         'outputs[0]: give either port = "..." (a port that exists) or virtual = true (a port of our own, named by '
         'name), not both'),
        ('port = "synth"\n', "outputs[0]: nothing to send: give notes = [...], cc = [...] and/or clock = true"),
        ('prot = "synth"\nclock = true\n', "outputs[0].prot: unknown key; did you mean 'port'?"),
        ('port = "synth"\napi = "jak"\nclock = true\n',
         "outputs[0].api: Input should be 'auto', 'jack' or 'alsa' (got 'jak'); did you mean 'jack'?"),
        ('port = "synth"\nchannels = {p1 = 17}\nclock = true\n',
         "outputs[0].channels.p1: Input should be less than or equal to 16 (got 17)"),
        ('port = "synth"\nchannels = {p1 = 0}\nclock = true\n',
         "outputs[0].channels.p1: Input should be greater than or equal to 1 (got 0)"),
        ('port = "synth"\nchannels = {alice = 2}\nclock = true\n',
         "outputs[0].channels: wearer slots are named p1, p2, ... (never a person's name), got 'alice'"),
        ('port = "synth"\nnotes = [{from = "p*.heart.beat", pich = 60}]\n',
         "outputs[0].notes[0].pich: unknown key; did you mean 'pitch'?"),
        ('port = "synth"\nnotes = [{from = "p*.heart.beat", velocity = [20, 200]}]\n',
         "outputs[0].notes[0].velocity[1]: Input should be less than or equal to 127 (got 200)"),
        ('port = "synth"\nnotes = [{from = "p*.heart.beat", value_range = [60, 60]}]\n',
         "outputs[0].notes[0].value_range: needs two different ends, got [60.0, 60.0]"),
        ('port = "synth"\nnotes = [{from = "p*.heart.beat", pitch_range = [72, 48]}]\n',
         "outputs[0].notes[0].pitch_range: lowest note first, got [72, 48]"),
        ('port = "synth"\nnotes = [{from = "p*.heart.beat", scale = "dorain"}]\n',
         "outputs[0].notes[0].scale: Input should be 'chromatic', 'major', 'minor', 'pentatonic', 'minor-pentatonic' "
         "or 'whole-tone' (got 'dorain')"),
        ('port = "synth"\ncc = [{from = "group.sync"}]\n', "outputs[0].cc[0].cc: Field required"),
        ('port = "synth"\ncc = [{from = "group.sync", cc = 123}]\n',
         "outputs[0].cc[0].cc: Input should be less than or equal to 119 (got 123)"),
        ('port = "synth"\ncc = [{from = "group.sync", cc = 1, chanel = 2}]\n',
         "outputs[0].cc[0].chanel: unknown key; did you mean 'channel'?"),
        ('port = "synth"\nclock = true\nclock_bpm_range = [120, 60]\n',
         "outputs[0].clock_bpm_range: needs 10 <= low < high <= 400 beats per minute, got [120.0, 60.0]"),
    ],
)
def test_schema_problems_are_refused_with_their_key(entry: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_show(with_midi(entry), "show.toml")
    assert str(err.value).splitlines()[1:] == [f"  - {message}"]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('port = "synth"\nnotes = [{from = "p*.heart.beet"}]\n',
         "show.toml: outputs[0].notes[0].from: 'p*.heart.beet' matches nothing the show produces; "
         "did you mean 'p*.heart.beat'?"),
        ('port = "synth"\nnotes = [{from = "p*.heart.bpm"}]\n',
         "show.toml: outputs[0].notes[0].from: 'p*.heart.bpm' is not an event (p*.heart.bpm: feature)"),
        ('port = "synth"\nnotes = [{from = "p*.heart.beat", pitch_from = "p*.eda.arousl"}]\n',
         "show.toml: outputs[0].notes[0].pitch_from: 'p*.eda.arousl' matches nothing the show produces; "
         "did you mean 'p*.eda.arousal'?"),
        ('port = "synth"\ncc = [{from = "p*.eda.scr", cc = 1}]\n',
         "show.toml: outputs[0].cc[0].from: 'p*.eda.scr' is not a feature (p*.eda.scr: event)"),
        ('port = "synth"\nclock = true\nclock_from = "group.bpm"\n',
         "show.toml: outputs[0].clock_from: 'group.bpm' matches nothing the show produces; "
         "did you mean 'group.heart.bpm'?"),
    ],
)
def test_addresses_that_do_not_fit_are_refused_with_a_hint(entry: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        prepare_show(parse_show(with_midi(entry), "show.toml", DEFAULT_SHOW))
    assert str(err.value).replace(str(DEFAULT_SHOW), "show.toml").splitlines() == [message]


def test_a_valid_midi_output_loads_with_its_defaults() -> None:
    show = prepare_show(parse_show(with_midi(
        'virtual = true\nnotes = [{from = "p*.heart.beat", velocity = 90}]\ncc = [{from = "p*.eda.arousal", cc = 1}]\n'
        'clock = true\n'), "show.toml", DEFAULT_SHOW)).show
    midi = show.outputs[0]
    assert isinstance(midi, MidiOutputConfig)
    assert (midi.api, midi.channel, midi.channels, midi.clock_from) == ("auto", 1, {}, "group.heart.bpm")
    assert (midi.notes[0].pitch, midi.notes[0].velocity, midi.notes[0].length_s) == (60, (90, 90), 0.1)
    assert (midi.cc[0].in_range, midi.cc[0].rate_hz, midi.cc[0].channel) == ((0.0, 1.0), 20.0, None)


def test_check_lists_a_midi_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "show.toml"
    path.write_text(with_midi('port = "Synth"\nnotes = [{from = "p*.heart.beat"}]\ncc = [{from = "group.sync", '
                              'cc = 7}]\nclock = true\n').replace(
        'patch = "eco_symphony.py"', f'patch = "{DEFAULT_SHOW.parent / "eco_symphony.py"}"'))
    assert main(["check", str(path)]) == 0
    assert ("output 0: midi port 'Synth' (auto): notes on p*.heart.beat, cc 7 from group.sync, clock from "
            "group.heart.bpm") in capsys.readouterr().out
