"""Show-file loading and validation: friendly errors that name the file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from installation.config import ConfigError, load_show, parse_show

from tests.helpers import REPO

MINIMAL = '[[mappings]]\nfrom = "p*.heart.beat"\nto = "sound.p*.pulse"\n'


def test_minimal_show_gets_defaults() -> None:
    show = parse_show(MINIMAL)
    assert show.sound.ceiling_db == -1.0
    assert show.visual.size_px == (1280, 720)
    assert show.visual.display == 0 and not show.visual.fullscreen
    assert show.mappings[0].source == "p*.heart.beat"
    assert show.mappings[0].target == "sound.p*.pulse"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (MINIMAL + "curv = 'linear'\n", ["show.toml", "mappings[0].curv", "did you mean 'curve'"]),
        ("[sound]\nceilng_db = -3\n" + MINIMAL, ["sound.ceilng_db", "did you mean 'ceiling_db'"]),
        (MINIMAL + "curve = 'wobbly'\n", ["mappings[0].curve", "'linear'", "'wobbly'"]),
        ("[sound]\nceiling_db = 6\n" + MINIMAL, ["sound.ceiling_db", "less than or equal to 0"]),
        ("[visual]\nsize = 'big'\n" + MINIMAL, ["visual.size", "1280x720", "'big'"]),
        ("[visual]\ndisplay = -1\n" + MINIMAL, ["visual.display", "greater than or equal to 0"]),
        ("[visual]\nscreen = 1\n" + MINIMAL, ["visual.screen", "did you mean"]),
        ("[[sources]]\nkind = 'midi'\n" + MINIMAL, ["sources[0]", "'simulated', 'serial', 'osc', 'lsl'"]),
        ("[[sources]]\nkind = 'lsl'\n" + MINIMAL, ["sources[0]", "exactly one of stream_name or stream_type"]),
        ("[[sources]]\nkind = 'osc'\nprot = 1\n" + MINIMAL, ["sources[0].prot", "did you mean 'port'"]),
        ("[[sources]]\nkind = 'osc'\nhost = 'localhost'\n" + MINIMAL, ["sources[0].host", "not an IP address"]),
        ("[[sources]]\nkind = 'serial'\nport = 'COM3'\nwearers = ['alice']\n" + MINIMAL, ["sources[0].wearers", "never a person's name"]),
        ("[[sources]]\nkind = 'serial'\nport = 'COM3'\nformat = 'csv'\n" + MINIMAL, ["sources[0]", "needs columns"]),
        ("[[sources]]\nkind = 'serial'\nport = 'COM3'\nformat = 'emotibit'\n" + MINIMAL, ["sources[0].format", "'native'"]),
        ("[[sources]]\nkind = 'serial'\n" + MINIMAL, ["sources[0].port", "Field required"]),
        ("[core]\nppg_band_hz = [5.0, 0.5]\n" + MINIMAL, ["core.ppg_band_hz", "low < high"]),
        (MINIMAL + "in_range = [1.0, 1.0]\n", ["mappings[0].in_range", "two different ends"]),
        ("[show]\ntitle = 'x'\n", ["at least one [[mappings]]"]),
        ("[show\n", ["show.toml", "not valid TOML"]),
        ("[sound]\nfade_in_s = 'slow'\n" + MINIMAL, ["sound.fade_in_s", "number"]),
    ],
)
def test_bad_show_names_file_and_key(text: str, expected: list[str]) -> None:
    with pytest.raises(ConfigError) as err:
        parse_show(text, "show.toml")
    for fragment in expected:
        assert fragment in str(err.value), str(err.value)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such show file"):
        load_show(tmp_path / "nope.toml")


def test_every_shipped_show_loads() -> None:
    shows = sorted((REPO / "patches").glob("*.toml"))
    assert shows, "patches/ holds no show file"
    for path in shows:
        show = load_show(path)
        assert show.resolve(show.sound.patch).is_file(), f"{path}: patch file missing"


def test_sources_of_every_kind() -> None:
    show = parse_show(
        "[[sources]]\nkind = 'serial'\nport = 'match:usb:2341:0043'\nformat = 'pulsesensor-visualizer'\nwearers = ['p1', 'p2']\n"
        "[[sources]]\nkind = 'osc'\nport = 12345\nwearers = ['p3']\nrates_hz = { ppg = 25.0, eda = 15.0 }\n"
        "[[sources]]\nkind = 'simulated'\nwearers = 2\n" + MINIMAL
    )
    kinds = [s.kind for s in show.sources]
    assert kinds == ["serial", "osc", "simulated"]
    assert show.sources[1].host == "127.0.0.1" and show.sources[1].rates_hz == {"ppg": 25.0, "eda": 15.0}
