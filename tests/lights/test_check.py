"""The show file's lighting sections: schema errors that name the key and the nearest name, the
fixtures' checks (overlaps, past 512, a universe no output sends), their parameters as mapping
targets, and the default show's commented lighting section."""

from __future__ import annotations

import re

import pytest

from installation.config import ConfigError, parse_show
from installation.lights.check import check_fixtures, light_parameters
from installation.runtime.launch import prepare_show
from tests.helpers import DEFAULT_SHOW

BASE = DEFAULT_SHOW.read_text()
SACN = '[[outputs]]\nkind = "sacn"\nuniverses = [1]\n'


def fixture(name: str, universe: int = 1, address: int = 1, layout: str = "rgb", extra: str = "") -> str:
    return f'[[fixtures]]\nname = "{name}"\nuniverse = {universe}\naddress = {address}\nlayout = "{layout}"\n{extra}\n'


@pytest.mark.parametrize("extra, message", [
    ('[[outputs]]\nkind = "sacn"\nuniverses = [0]\n', "outputs[0].universes: sACN universes run from 1 to 63999"),
    ('[[outputs]]\nkind = "artnet"\nhost = "10.0.0.9"\nuniverses = [32768]\n', "Art-Net universes run from 0 to 32767"),
    ('[[outputs]]\nkind = "sacm"\nuniverses = [1]\n', "outputs[0].kind: unknown kind 'sacm'; one of: 'osc', 'lsl', 'midi', 'sacn', 'artnet'; did you mean 'sacn'?"),
    ('[[outputs]]\nkind = "sacn"\nunivrses = [1]\n', "outputs[0].univrses: unknown key; did you mean 'universes'?"),
    ('[[outputs]]\nkind = "sacn"\nuniverses = [1]\npriority = 201\n', "outputs[0].priority"),
    ('[[outputs]]\nkind = "sacn"\nuniverses = [1]\nrate_hz = 60\n', "outputs[0].rate_hz"),
    (SACN + fixture("wash", layout="rgbww"), "fixtures[0].layout: Input should be"),
    (SACN + '[[fixtures]]\nname = "w"\nuniverse = 1\nchanels = ["red"]\n', "fixtures[0].chanels: unknown key; did you mean 'channels'?"),
    (SACN + '[[fixtures]]\nname = "w"\nuniverse = 1\nchannels = ["red", "strobo"]\n', "did you mean 'strobe'?"),
    (SACN + fixture("strip", layout="strip"), "a strip needs pixels = N"),
    (SACN + fixture("w", address=513), "fixtures[0].address"),
    ('[lights]\nmax_flashes_per_s = 4\n', "lights.max_flashes_per_s: Input should be less than or equal to 3"),
])
def test_the_schema_names_the_key(extra: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_show(BASE + "\n" + extra, "show.toml")
    assert message in str(err.value)


@pytest.mark.parametrize("fixtures, outputs, expected", [
    (fixture("a") + fixture("b", address=3), SACN, [r"fixtures\[1\]\.address: channels 3\.\.5 overlap fixtures\[0\] 'a' \(1\.\.3\) in universe 1"]),
    (fixture("a") + fixture("b", address=4), SACN, []),
    (fixture("s", address=400, layout="strip", extra="pixels = 40"), SACN, [r"fixtures\[0\]\.address: its 120 channels run from 400 to 519, past 512; start it at 393"]),
    (fixture("a", universe=2), SACN, [r"fixtures\[0\]\.universe: no lighting output sends universe 2; did you mean 1\?"]),
    (fixture("a", universe=0), "", [r"fixtures\[0\]\.universe: no lighting output sends universe 0: add an \[\[outputs\]\]"]),
    (fixture("a") + fixture("a", address=10), SACN, [r"fixtures\[1\]\.name: 'a' is already the name of fixtures\[0\]"]),
    (fixture("a", universe=0), '[[outputs]]\nkind = "artnet"\nhost = "10.0.0.9"\nuniverses = [0]\n', []),
])
def test_check_fixtures(fixtures: str, outputs: str, expected: list[str]) -> None:
    show = parse_show(BASE + "\n" + outputs + fixtures, "show.toml")
    problems = check_fixtures(show.fixtures, show.outputs, "show.toml")
    assert len(problems) == len(expected), problems
    for problem, pattern in zip(problems, expected):
        assert re.search(pattern, problem), problem


def test_fixture_parameters_are_mapping_targets_and_misspellings_get_a_suggestion() -> None:
    lights = SACN + fixture("wash1") + fixture("strip", address=10, layout="strip", extra="pixels = 10")
    assert light_parameters(parse_show(BASE + lights, "s").fixtures)["light.strip.segment.p*"] == "continuous"
    good = lights + '[[mappings]]\nfrom = "p*.heart.beat"\nto = "light.wash1.pulse"\n' \
        '[[mappings]]\nfrom = "p*.eda.arousal"\nto = "light.strip.segment.p*"\n' \
        '[[mappings]]\nfrom = "p*.heart.beat"\nto = "light.strip.wave"\n'
    prepared = prepare_show(parse_show(BASE + good, "s", DEFAULT_SHOW))
    assert {m.target for m in prepared.mapper.mappings} >= {"light.wash1.pulse", "light.strip.segment.p*", "light.strip.wave"}
    bad = lights + '[[mappings]]\nfrom = "group.sync"\nto = "light.wash1.intensty"\n'
    with pytest.raises(ConfigError, match=r"unknown parameter 'light\.wash1\.intensty'; did you mean 'light\.wash1\.intensity'\?"):
        prepare_show(parse_show(BASE + bad, "s", DEFAULT_SHOW))


def test_the_default_shows_lighting_section_parses_and_compiles_when_uncommented() -> None:
    text = BASE
    start = text.index('# [[outputs]]\n# kind = "sacn"')  # the lighting section, below its explanation
    body = "\n".join(line[2:] if line.startswith("# ") else ("" if line == "#" else line)
                     for line in text[start:].splitlines())
    show = parse_show(text[:start] + body, "default.toml", DEFAULT_SHOW)
    assert [f.name for f in show.fixtures] == ["wash1", "wash2", "wash3", "wash4", "strip"]
    prepared = prepare_show(show)
    assert sum(m.target.startswith("light.") for m in prepared.mapper.mappings) == 5
    assert check_fixtures(show.fixtures, show.outputs) == []
    assert prepare_show(parse_show(BASE, "default.toml", DEFAULT_SHOW)).show.fixtures == []  # commented: no lights


def test_ecosymphony_check_names_the_fixture_keys_and_lists_the_lighting_outputs(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.helpers import ecosymphony

    bad = tmp_path / "bad.toml"
    bad.write_text(BASE + SACN + fixture("a") + fixture("b", address=2) + fixture("c", universe=0, address=20)
                   + '[[mappings]]\nfrom = "p*.heart.beat"\nto = "light.a.puls"\n')
    done = ecosymphony("check", str(bad))
    assert done.returncode == 2
    for expected in ("fixtures[1].address: channels 2..4 overlap fixtures[0] 'a' (1..3) in universe 1",
                     "fixtures[2].universe: no lighting output sends universe 0; did you mean 1?",
                     "unknown parameter 'light.a.puls'; did you mean 'light.a.pulse'?"):
        assert expected in done.stderr.replace("\n", " ") or expected in done.stderr, done.stderr
    good = tmp_path / "good.toml"
    good.write_text(BASE + SACN + '[[outputs]]\nkind = "artnet"\nhost = "10.0.0.9"\nuniverses = [0]\n' + fixture("a"))
    done = ecosymphony("check", str(good))
    assert done.returncode == 0, done.stderr
    assert "sacn multicast 239.255.x.y:5568 at 40 Hz: universes 1 (numbered from 1)" in done.stdout
    assert "artnet 10.0.0.9:6454 at 40 Hz: universes 0 (numbered from 0)" in done.stdout
