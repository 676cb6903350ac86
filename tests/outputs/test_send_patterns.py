"""Send patterns: what they select, and what a show can produce."""

from __future__ import annotations

import pytest

from installation.outputs.select import OutputSpec, Selection, catalogue, check_send, matches

PARAMETERS = {"sound.drone.level": "continuous", "sound.drone.brightness": "continuous", "sound.p*.pulse": "trigger",
              "visual.p*.hue": "continuous"}


@pytest.mark.parametrize(
    ("patterns", "address", "selected"),
    [
        (["p*.heart.bpm"], "p1.heart.bpm", True),
        (["p*.heart.bpm"], "p12.heart.bpm", True),
        (["p*.heart.bpm"], "group.heart.bpm", False),
        (["p2.heart.bpm"], "p1.heart.bpm", False),
        (["group.sync"], "group.sync", True),
        (["group.sync"], "group.sync.p1.p2", False),
        (["group.sync*"], "group.sync.p1.p2", True),
        (["sound.drone.*"], "sound.drone.level", True),
        (["sound.drone.*"], "sound.p1.level", False),
        (["p*.heart.*"], "p3.heart.beat", True),
        (["a", "p1.eda.*"], "p1.eda.scl", True),
    ],
)
def test_selection(patterns: list[str], address: str, selected: bool) -> None:
    s = Selection(patterns)
    assert s(address) is selected
    assert s(address) is selected  # remembered


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("p*.heart.bpm", ["p*.heart.bpm"]),
        ("p7.heart.bpm", ["p*.heart.bpm"]),
        ("group.sync.p2.p5", ["group.sync.p*.p*"]),
        ("sound.drone.*", ["sound.drone.level", "sound.drone.brightness"]),
        ("sound.p3.pulse", ["sound.p*.pulse"]),
        ("p*.heart.bmp", []),
    ],
)
def test_matches_against_the_templates(pattern: str, expected: list[str]) -> None:
    assert matches(pattern, catalogue(PARAMETERS)) == expected


@pytest.mark.parametrize(
    ("spec", "problems"),
    [
        (OutputSpec("osc", "plain", ("p*.heart.bpm", "group.sync", "sound.drone.*", "p*.heart.beat")), []),
        (OutputSpec("osc", "plain", ("p*.heart.bmp",)),
         ["show.toml: outputs[1].send[0]: 'p*.heart.bmp' matches nothing the show produces; did you mean 'p*.heart.bpm'?"]),
        (OutputSpec("osc", "plain", ("group.sync", "zzz")),
         ["show.toml: outputs[1].send[1]: 'zzz' matches nothing the show produces"]),
        (OutputSpec("osc", "emotibit", ("p*.heart.*", "p*.eda.*")), []),
        (OutputSpec("osc", "emotibit", ("p*.heart.rmssd",)),
         ["show.toml: outputs[1].send[0]: the emotibit format has no address for 'p*.heart.rmssd'; it carries "
          "p*.heart.bpm (HR), p*.eda.scl (EDA), p*.eda.scr_rate (SCR:FREQ), p*.eda.scr (SCR:AMP and SCR:RIS)"]),
        (OutputSpec("osc", "openbci", ("group.sync",)),
         ["show.toml: outputs[1].send[0]: the openbci format has no address for 'group.sync'; it carries "
          "p*.heart.bpm (/openbci/pulse/bpm), p*.heart.beat (/openbci/pulse/ibi)"]),
        (OutputSpec("lsl", "", ("p*.heart.*", "visual.p*.hue")), []),
        (OutputSpec("lsl", "", ("sound.p*.pulse",)),
         ["show.toml: outputs[1].send[0]: 'sound.p*.pulse' is an event; an LSL output carries features and "
          "parameters at a steady rate"]),
    ],
)
def test_check_send(spec: OutputSpec, problems: list[str]) -> None:
    assert check_send(spec, "show.toml: outputs[1]", catalogue(PARAMETERS)) == problems
