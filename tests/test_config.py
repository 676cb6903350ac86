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
        ("[[sources]]\nkind = 'lsl'\n" + MINIMAL, ["sources[0]", "exactly one of stream_name, stream_type or hubs"]),
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


@pytest.mark.parametrize(
    ("text", "nearest"),
    [
        (MINIMAL + "curve = 'Linear'\n", "did you mean 'linear'?"),
        (MINIMAL + "curve = 's-curv'\n", "did you mean 's-curve'?"),
        (MINIMAL + "fallback = 'hld'\n", "did you mean 'hold'?"),
        (MINIMAL + "quantize = { scale = 'pentatonc' }\n", "did you mean 'pentatonic'?"),
        ("[sound]\nbackend = 'jak'\n" + MINIMAL, "did you mean 'jack'?"),
        ("[visual]\nscene = 'bioluminescnt'\n" + MINIMAL, "did you mean 'bioluminescent'?"),
        ("[core]\nppg_polarity = 'invert'\n" + MINIMAL, "did you mean 'inverted'?"),
        ("[[sources]]\nkind = 'simulated'\nheart = 'eccg'\n" + MINIMAL, "did you mean 'ecg'?"),
        ("[[sources]]\nkind = 'serial'\nport = 'COM3'\nformat = 'grove_gsr'\n" + MINIMAL, "did you mean 'grove-gsr'?"),
        ("[[sources]]\nkind = 'serial'\nport = 'COM3'\nplotter_columns = 'signl'\n" + MINIMAL, "did you mean 'signal'?"),
        ("[[sources]]\nkind = 'osc'\nrates_hz = { ppgg = 25.0 }\n" + MINIMAL, "did you mean 'ppg'?"),
        ("[[sources]]\nkind = 'lsl'\nstream_type = 'PPG'\nsignal = 'edaa'\n" + MINIMAL, "did you mean 'eda'?"),
        ("[[outputs]]\nkind = 'osc'\nport = 9000\nsend = ['group.sync']\nformat = 'plan'\n" + MINIMAL, "did you mean 'plain'?"),
    ],
)
def test_enumerated_value_names_the_nearest_choice(text: str, nearest: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_show(text, "show.toml")
    assert nearest in str(err.value), str(err.value)


def test_enumerated_value_far_from_every_choice_gets_no_guess() -> None:
    with pytest.raises(ConfigError) as err:
        parse_show(MINIMAL + "curve = 'wobbly'\n", "show.toml")
    assert "'s-curve'" in str(err.value) and "did you mean" not in str(err.value)


SHIPPED_PATCH = (REPO / "patches" / "eco_symphony.py").resolve()


@pytest.mark.parametrize(
    ("patch", "beside", "expected"),
    [
        ("eco_symphony.py", [], SHIPPED_PATCH),                    # a show copied away still finds it
        ("eco_symphony", [], SHIPPED_PATCH),                       # without .py too
        ("eco_symphony.py", ["eco_symphony.py"], "eco_symphony.py"),  # the show's own copy comes first
        ("eco_symphony", ["eco_symphony.py"], "eco_symphony.py"),
        ("mine.py", ["mine.py"], "mine.py"),
        ("sub/mine.py", ["sub/mine.py"], "sub/mine.py"),           # a path: relative to the show file
        ("./eco_symphony.py", [], "eco_symphony.py"),              # a path that is not there: as given, never the shipped one
        (str(SHIPPED_PATCH), [], SHIPPED_PATCH),                   # absolute
    ],
)
def test_patch_path(tmp_path: Path, patch: str, beside: list[str], expected: str | Path) -> None:
    for name in beside:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("# a patch\n")
    show = tmp_path / "show.toml"
    show.write_text(f'[sound]\npatch = "{patch}"\n' + MINIMAL)
    found = load_show(show).patch_path()
    assert found == (expected if isinstance(expected, Path) else (tmp_path / expected).resolve())


def test_unknown_patch_name_says_where_it_looked(tmp_path: Path) -> None:
    show = tmp_path / "show.toml"
    show.write_text('[sound]\npatch = "eco_symphny"\n' + MINIMAL)
    with pytest.raises(ConfigError) as err:
        load_show(show).patch_path()
    message = str(err.value)
    assert str(tmp_path.resolve() / "eco_symphny") in message and "no such patch file" in message
    assert str((REPO / "patches").resolve()) in message and "eco_symphony" in message.rsplit("eco_symphny", 1)[1]


@pytest.mark.parametrize("name", ["default.toml", "meditation.toml", "gathering.toml"])
def test_shipped_show_copied_to_another_folder_is_ready(tmp_path: Path, name: str) -> None:
    from installation.runtime.launch import prepare_show

    copy = tmp_path / "elsewhere" / name
    copy.parent.mkdir()
    copy.write_text((REPO / "patches" / name).read_text())
    prepared = prepare_show(load_show(copy))
    assert prepared.show.patch_path() == SHIPPED_PATCH


@pytest.mark.parametrize(
    ("text", "refused", "then"),
    [
        # a refused entry is stood in for: the entries after it keep their index
        (MINIMAL + "curve = 's-curv'\n" + '[[mappings]]\nto = "visual.bloom"\n'
         '[[mappings]]\nfrom = "p*.eda.arousl"\nto = "visual.p*.hue"\n',
         ["mappings[0].curve", "mappings[1].from: Field required"], ["mappings[2].from: unknown feature 'p*.eda.arousl'"]),
        ('[sound]\nceilng_db = -3\n[sound.settings]\nscale = "pentatonc"\n[[sources]]\nkind = "midi"\n' + MINIMAL
         + '[[mappings]]\nfrom = "group.sync"\nto = "sound.drone.brigthness"\n',
         ["sound.ceilng_db", "sources[0].kind"], ["sound.settings.scale", "mappings[1].to: unknown parameter"]),
        (MINIMAL + 'name = "a"\n[[scenes]]\nname = "s"\nmappings = ["b"]\nset = { "visual.blom" = 1.0 }\n',
         ["scenes[0].mappings: no mapping is named 'b'"], ["scenes[0].set: 'visual.blom'"]),
        ('[[outputs]]\nkind = "osc"\nport = 9000\nrate_hz = 0\nsend = ["p*.heart.bpmm"]\n' + MINIMAL,
         ["outputs[0].rate_hz"], ["outputs[0].send[0]: 'p*.heart.bpmm'"]),
    ],
)
def test_check_finds_what_the_schema_refuses_and_what_the_rest_breaks(
    tmp_path: Path, text: str, refused: list[str], then: list[str]
) -> None:
    from installation.config import load_show_for_check
    from installation.runtime.launch import prepare_show

    path = tmp_path / "show.toml"
    path.write_text(f'[sound]\npatch = "{SHIPPED_PATCH}"\n' + text if "[sound]" not in text
                    else text.replace("[sound]\n", f'[sound]\npatch = "{SHIPPED_PATCH}"\n', 1))
    show, error = load_show_for_check(path)
    assert error is not None and show is not None
    for fragment in refused:
        assert fragment in str(error), str(error)
    with pytest.raises(ConfigError) as later:
        prepare_show(show)
    for fragment in then:
        assert fragment in str(later.value), str(later.value)
    assert not any(fragment in str(later.value) for fragment in refused)


@pytest.mark.parametrize(
    ("text", "message"),
    [("[show\n", "not valid TOML"), ("[show]\ntitle = 'x'\n", "at least one [[mappings]]"), ("mappings = 3\n", "mappings")],
)
def test_check_with_nothing_left_to_check(tmp_path: Path, text: str, message: str) -> None:
    from installation.config import load_show_for_check

    path = tmp_path / "show.toml"
    path.write_text(text)
    show, error = load_show_for_check(path)
    assert show is None and error is not None and message in str(error)


def test_check_of_a_valid_show_is_the_show() -> None:
    from installation.config import load_show_for_check

    show, error = load_show_for_check(REPO / "patches" / "default.toml")
    assert error is None and show == load_show(REPO / "patches" / "default.toml")


# ---- [link] -----------------------------------------------------------------------------------
def test_link_is_off_by_default_and_joins_quietly() -> None:
    link = parse_show(MINIMAL).link
    assert not link.enabled and not link.lead
    assert (link.feature, link.quantum, link.min_bpm < link.max_bpm) == ("group.heart.bpm", 4, True)


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ("enabeld = true", ["link.enabeld", "unknown key", "did you mean 'enabled'"]),
        ("quantm = 3", ["link.quantm", "did you mean 'quantum'"]),
        ("feature = 'group.heart.bmp'", ["link.feature", "did you mean 'group.heart.bpm'"]),
        ("feature = 'p*.heart.bpm'", ["link.feature", "name one wearer ('p1.heart.bpm')"]),
        ("min_bpm = 120\nmax_bpm = 90", ["link.max_bpm", "must be above min_bpm (120)", "90"]),
        ("max_bpm = 1200", ["link.max_bpm", "less than or equal to 999"]),
        ("min_bpm = 10", ["link.min_bpm", "greater than or equal to 20"]),
        ("quantum = 0", ["link.quantum", "greater than or equal to 1"]),
        ("smooth_s = -1", ["link.smooth_s", "greater than or equal to 0"]),
        ("lead = 'maybe'", ["link.lead", "valid boolean"]),
    ],
)
def test_bad_link_section_names_the_key(section: str, expected: list[str]) -> None:
    with pytest.raises(ConfigError) as err:
        parse_show(f"[link]\n{section}\n" + MINIMAL, "show.toml")
    for part in ["show.toml", *expected]:
        assert part in str(err.value)


@pytest.mark.parametrize("feature", ["group.heart.bpm", "p3.heart.bpm", "group.sync", "p1.eda.arousal"])
def test_link_follows_a_group_or_one_wearers_feature(feature: str) -> None:
    assert parse_show(f"[link]\nenabled = true\nfeature = '{feature}'\n" + MINIMAL).link.feature == feature


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[visual]\nserve_host = 'projectors'\n" + MINIMAL, ["visual.serve_host", "not an IP address"]),
        ("[visual]\nserve_allow = ['10.0.0.1', 'node-2']\n" + MINIMAL, ["visual.serve_allow", "not an IP address"]),
        ("[visual]\nserve_port = 0\n" + MINIMAL, ["visual.serve_port", "greater than or equal to 1"]),
        ("[visual]\nserv = true\n" + MINIMAL, ["visual.serv", "did you mean 'serve'"]),
    ],
)
def test_bad_render_node_settings_name_the_key(text: str, expected: list[str]) -> None:
    with pytest.raises(ConfigError) as err:
        parse_show(text, "show.toml")
    for fragment in expected:
        assert fragment in str(err.value), str(err.value)


def test_render_nodes_are_off_and_on_loopback_unless_the_show_opens_them() -> None:
    v = parse_show(MINIMAL).visual
    assert not v.serve and v.serve_host == "127.0.0.1" and v.serve_allow is None
    opened = parse_show("[visual]\nserve = true\nserve_host = '0.0.0.0'\nserve_allow = ['192.168.10.21']\n" + MINIMAL).visual
    assert opened.serve and opened.serve_host == "0.0.0.0" and opened.serve_allow == ["192.168.10.21"]
