"""``[[outputs]]`` in a show file: refused with the key and a clear reason, listed by ``check``."""

from __future__ import annotations

from pathlib import Path

import pytest

from installation.cli import main
from installation.config import ConfigError, LslOutputConfig, OscOutputConfig, parse_show
from installation.runtime.launch import prepare_show

from tests.helpers import DEFAULT_SHOW


def with_outputs(extra: str) -> str:
    return DEFAULT_SHOW.read_text() + "\n" + extra


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('[[outputs]]\nkind = "dmx"\n', "outputs[0].kind: unknown kind 'dmx'; one of: 'osc', 'lsl', 'midi', 'sacn', 'artnet'"),
        ('[[outputs]]\nkind = "lls"\nsend = ["group.sync"]\n',
         "outputs[0].kind: unknown kind 'lls'; one of: 'osc', 'lsl', 'midi', 'sacn', 'artnet'; did you mean 'lsl'?"),
        ('[[outputs]]\nport = 9000\n', "outputs[0].kind: missing; one of: 'osc', 'lsl', 'midi', 'sacn', 'artnet'"),
        ('[[outputs]]\nkind = "osc"\nport = 9000\nsend = ["group.sync"]\nrate_hz = 0\n',
         "outputs[0].rate_hz: Input should be greater than 0 (got 0)"),
        ('[[outputs]]\nkind = "lsl"\nsend = ["group.sync"]\nrate_hz = 5000\n',
         "outputs[0].rate_hz: Input should be less than or equal to 1000 (got 5000)"),
        ('[[outputs]]\nkind = "osc"\nport = 9000\nsend = ["group.sync"]\nrate = 10\n',
         "outputs[0].rate: unknown key; did you mean 'rate_hz'?"),
        ('[[outputs]]\nkind = "lsl"\nsend = ["group.sync"]\nstream_type = "HR"\n',
         "outputs[0].stream_type: unknown key; valid keys: kind, name, type, send, rate_hz"),
        ('[[outputs]]\nkind = "osc"\nsend = ["group.sync"]\n', "outputs[0].port: Field required"),
        ('[[outputs]]\nkind = "osc"\nport = 9000\nhost = "desk.local"\nsend = ["group.sync"]\n',
         "outputs[0].host: not an IP address (use 127.0.0.1 for this machine, 0.0.0.0 for every network) (got 'desk.local')"),
        ('[[outputs]]\nkind = "osc"\nport = 9000\n',
         'outputs[0]: send = [...] lists what to send, e.g. ["p*.heart.bpm", "group.sync"]'),
        ('[[outputs]]\nkind = "osc"\nport = 9000\nsend = ["group.sync"]\nwearers = ["p1"]\n',
         "outputs[0]: wearers sets device indices for the emotibit and openbci formats; the plain format names "
         "every wearer in its addresses"),
        ('[[outputs]]\nkind = "osc"\nport = 9000\nformat = "openbci"\nwearers = ["p1", "p2"]\n',
         "outputs[0]: the openbci format carries one wearer (the OpenBCI GUI sends one pulse); give one slot, "
         "e.g. wearers = [\"p1\"], got ['p1', 'p2']"),
        ('[[outputs]]\nkind = "osc"\nport = 9000\nformat = "emotibit"\nwearers = ["alice"]\n',
         "outputs[0].wearers: wearer slots are named p1, p2, ... (never a person's name), got 'alice'"),
        ('[[outputs]]\nkind = "osc"\nport = 9000\nformat = "emotibit"\nprefix = "/eco"\n',
         "outputs[0]: prefix is for the plain format; the emotibit format's addresses are fixed"),
        ('[[outputs]]\nkind = "osc"\nport = 9000\nsend = ["group.sync"]\nprefix = "eco/"\n',
         "outputs[0].prefix: an OSC path such as '/eco' (a leading slash, none at the end), got 'eco/'"),
        ('[[outputs]]\nkind = "osc"\nport = 9000\nformat = "midi"\n',
         "outputs[0].format: Input should be 'plain', 'emotibit' or 'openbci' (got 'midi')"),
        ('[[outputs]]\nkind = "lsl"\nsend = []\n',
         "outputs[0].send: List should have at least 1 item after validation, not 0"),
    ],
)
def test_schema_problems_are_refused_with_their_key(extra: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_show(with_outputs(extra), "show.toml")
    assert str(err.value).splitlines()[1:] == [f"  - {message}"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('[[outputs]]\nkind = "lsl"\nsend = ["group.sync"]\n\n[[outputs]]\nkind = "osc"\nport = 9000\n'
         'send = ["p*.heart.bmp"]\n',
         "show.toml: outputs[1].send[0]: 'p*.heart.bmp' matches nothing the show produces; did you mean 'p*.heart.bpm'?"),
        ('[[outputs]]\nkind = "osc"\nport = 9000\nsend = ["group.sync", "sound.drone.brightnes"]\n',
         "show.toml: outputs[0].send[1]: 'sound.drone.brightnes' matches nothing the show produces; "
         "did you mean 'sound.drone.brightness'?"),
        ('[[outputs]]\nkind = "osc"\nport = 9000\nformat = "emotibit"\nsend = ["group.sync"]\n',
         "show.toml: outputs[0].send[0]: the emotibit format has no address for 'group.sync'; it carries "
         "p*.heart.bpm (HR), p*.eda.scl (EDA), p*.eda.scr_rate (SCR:FREQ), p*.eda.scr (SCR:AMP and SCR:RIS)"),
        ('[[outputs]]\nkind = "lsl"\nsend = ["p*.heart.beat"]\n',
         "show.toml: outputs[0].send[0]: 'p*.heart.beat' is an event; an LSL output carries features and "
         "parameters at a steady rate"),
    ],
)
def test_patterns_that_match_nothing_are_refused_with_a_hint(extra: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        prepare_show(parse_show(with_outputs(extra), "show.toml", DEFAULT_SHOW))
    assert str(err.value).replace(str(DEFAULT_SHOW), "show.toml").splitlines() == [message]


def test_valid_outputs_load_with_their_defaults() -> None:
    show = prepare_show(parse_show(with_outputs(
        '[[outputs]]\nkind = "osc"\nport = 9000\nsend = ["p*.heart.bpm", "group.sync", "sound.drone.*"]\n\n'
        '[[outputs]]\nkind = "osc"\nport = 12345\nformat = "emotibit"\n\n'
        '[[outputs]]\nkind = "lsl"\nsend = ["p*.eda.arousal"]\n'), "show.toml", DEFAULT_SHOW)).show
    plain, emotibit, lsl = show.outputs
    assert isinstance(plain, OscOutputConfig) and (plain.host, plain.rate_hz, plain.format) == ("127.0.0.1", 30.0, "plain")
    assert isinstance(emotibit, OscOutputConfig) and emotibit.send == [] and emotibit.wearers is None
    assert isinstance(lsl, LslOutputConfig) and (lsl.name, lsl.type, lsl.rate_hz) == ("ecosymphony-features", "Features", 10.0)


def test_check_lists_the_outputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "show.toml"
    path.write_text(with_outputs(
        '[[outputs]]\nkind = "osc"\nhost = "192.168.1.50"\nport = 9000\nsend = ["p*.heart.bpm", "group.sync"]\n\n'
        '[[outputs]]\nkind = "osc"\nport = 12345\nformat = "emotibit"\nwearers = ["p3", "p1"]\nrate_hz = 15\n\n'
        '[[outputs]]\nkind = "lsl"\nname = "eco"\nsend = ["p*.eda.arousal"]\n').replace(
        'patch = "eco_symphony.py"', f'patch = "{DEFAULT_SHOW.parent / "eco_symphony.py"}"'))
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "output 0: osc 192.168.1.50:9000 at 30 Hz: p*.heart.bpm, group.sync" in out
    assert ("output 1: osc 127.0.0.1:12345 emotibit at 15 Hz: p*.heart.bpm, p*.eda.scl, p*.eda.scr_rate, p*.eda.scr "
            "(devices: 0=p3, 1=p1)") in out
    assert "output 2: lsl stream 'eco' (type Features) at 10 Hz: p*.eda.arousal" in out
