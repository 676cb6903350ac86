"""Scenes: sets of mappings with crossfades, chosen by key or by a rule."""

from __future__ import annotations

import pytest

from installation.config import ConfigError, parse_show
from installation.runtime.launch import prepare_show

from tests.helpers import REPO

SHOW = """
[sound]
patch = "{patch}"
[[mappings]]
name = "bright"
from = "group.eda.arousal"
to = "sound.drone.brightness"
out_range = [0.8, 0.8]
[[mappings]]
name = "dark"
from = "group.eda.arousal"
to = "sound.drone.brightness"
out_range = [0.2, 0.2]
[[mappings]]
from = "group.eda.arousal"
to = "visual.bloom"
[[scenes]]
name = "calm"
mappings = ["dark"]
key = "1"
crossfade_s = 2.0
set = {{ "sound.reverb.mix" = 0.7 }}
[[scenes]]
name = "together"
mappings = ["bright"]
key = "2"
crossfade_s = 2.0
set = {{ "sound.reverb.mix" = 0.1 }}
when = {{ feature = "group.sync", above = 0.8, for_s = 5.0 }}
"""


@pytest.fixture
def mapper(tmp_path):
    patch = REPO / "patches" / "eco_symphony.py"
    return prepare_show(parse_show(SHOW.format(patch=patch), "scenes.toml")).mapper


def test_first_scene_plays_and_unnamed_mappings_always_play(mapper) -> None:
    out = mapper.apply_features({"group.eda.arousal": 0.5, "group.sync": 0.1}, 0.0, [])
    assert out == {"sound.drone.brightness": 0.2, "visual.bloom": 0.5, "sound.reverb.mix": 0.7}


def test_key_selects_and_crossfades(mapper) -> None:
    mapper.apply_features({"group.eda.arousal": 0.5}, 0.0, [])
    assert mapper.scenes.select(mapper.scenes.by_key("2"), 10.0)
    half = mapper.apply_features({"group.eda.arousal": 0.5}, 11.0, [])
    assert half["sound.drone.brightness"] == pytest.approx(0.5) and half["sound.reverb.mix"] == pytest.approx(0.4)
    done = mapper.apply_features({"group.eda.arousal": 0.5}, 12.5, [])
    assert done["sound.drone.brightness"] == pytest.approx(0.8) and done["sound.reverb.mix"] == pytest.approx(0.1)


def test_rule_switches_after_the_condition_holds(mapper) -> None:
    for t in range(0, 5):
        mapper.apply_features({"group.eda.arousal": 0.5, "group.sync": 0.9}, float(t), [])
    assert mapper.scenes.current == "calm"
    mapper.apply_features({"group.eda.arousal": 0.5, "group.sync": 0.9}, 5.0, [])
    assert mapper.scenes.current == "together"


def test_a_dip_restarts_the_rule_clock(mapper) -> None:
    for t, sync in [(0, 0.9), (3, 0.5), (4, 0.9), (8, 0.9)]:
        mapper.apply_features({"group.eda.arousal": 0.5, "group.sync": sync}, float(t), [])
    assert mapper.scenes.current == "calm"


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (('mappings = ["dark"]', 'mappings = ["drak"]'), "no mapping is named 'drak'; did you mean 'dark'"),
        (('"sound.reverb.mix" = 0.7', '"sound.reverb.mixx" = 0.7'), "scenes[0].set: 'sound.reverb.mixx' is not a continuous parameter; did you mean 'sound.reverb.mix'"),
        (('feature = "group.sync", above = 0.8', 'feature = "group.sync"'), "exactly one of above or below"),
        (('key = "1"', 'key = "F1"'), "scenes[0].key"),
    ],
)
def test_bad_scenes_are_refused(tmp_path, change, fragment) -> None:
    patch = REPO / "patches" / "eco_symphony.py"
    text = SHOW.format(patch=patch).replace(*change)
    with pytest.raises(ConfigError) as err:
        prepare_show(parse_show(text, "scenes.toml"))
    assert fragment in str(err.value)
