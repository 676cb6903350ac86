"""Mapping validation against known addresses, and applying mappings."""

from __future__ import annotations

import math
import re

import pytest

from installation.config import ConfigError, Mapping
from installation.dsp.events import Event
from installation.mapping.mapper import Mapper, compile_mappings

PARAMETERS = {
    "sound.p*.pulse": "trigger",
    "sound.drone.brightness": "continuous",
    "visual.p*.hue": "continuous",
    "visual.p*.pulse": "trigger",
}


def m(source: str, target: str, **kw: object) -> Mapping:
    return Mapping.model_validate({"from": source, "to": target, **kw})


@pytest.mark.parametrize(
    ("mapping", "expected"),
    [
        (m("p*.eda.arousl", "visual.p*.hue"), ["mappings[0].from", "unknown feature", "did you mean 'p*.eda.arousal'"]),
        (m("p*.eda.arousal", "visual.p*.hoe"), ["mappings[0].to", "unknown parameter", "did you mean 'visual.p*.hue'"]),
        (m("p2.eda.arousal", "visual.p*.hue"), ["names every wearer (p*)", "one wearer's"]),
        (m("p*.heart.beat", "sound.drone.brightness"), ["can only drive a trigger"]),
        (m("p*.heart.bpm", "sound.p*.pulse"), ["is a trigger", "p*.heart.beat"]),
        (m("lights.heart.bpm", "sound.drone.brightness"), ["unknown feature 'lights.heart.bpm'"]),
    ],
)
def test_bad_mappings_are_refused_with_a_hint(mapping: Mapping, expected: list[str]) -> None:
    with pytest.raises(ConfigError) as err:
        compile_mappings([mapping], PARAMETERS, "show.toml")
    text = str(err.value)
    assert text.startswith("show.toml: mappings[0]")
    for fragment in expected:
        assert fragment in text, text


def test_all_problems_are_reported_at_once() -> None:
    with pytest.raises(ConfigError) as err:
        compile_mappings([m("p*.x", "visual.p*.hue"), m("p*.heart.beat", "sound.p*.pulse"), m("p*.y", "visual.p*.hue")], PARAMETERS)
    assert "mappings[0]" in str(err.value) and "mappings[2]" in str(err.value) and "mappings[1]" not in str(err.value)


FEATURES = {
    "p1.eda.arousal": 0.0,
    "p2.eda.arousal": 1.0,
    "p3.eda.arousal": math.nan,  # not known yet: left out
    "group.eda.arousal": 0.5,
}


@pytest.mark.parametrize(
    ("mapping", "expected"),
    [
        (m("p*.eda.arousal", "visual.p*.hue", out_range=[0.4, 0.9]), {"visual.p1.hue": 0.4, "visual.p2.hue": 0.9}),
        (m("p2.eda.arousal", "visual.p2.hue"), {"visual.p2.hue": 1.0}),
        (m("p2.eda.arousal", "sound.drone.brightness", out_range=[1.0, 0.0]), {"sound.drone.brightness": 0.0}),
        (m("group.eda.arousal", "sound.drone.brightness", out_range=[0.0, 10.0]), {"sound.drone.brightness": 5.0}),
        (m("p*.eda.arousal", "sound.drone.brightness"), {"sound.drone.brightness": 1.0}),  # last wearer wins
        (m("group.eda.arousal", "visual.p*.hue"), {"visual.p1.hue": 0.5, "visual.p2.hue": 0.5, "visual.p3.hue": 0.5}),
    ],
)
def test_apply_features(mapping: Mapping, expected: dict[str, float]) -> None:
    mapper = Mapper(compile_mappings([mapping], PARAMETERS))
    assert mapper.apply_features(FEATURES) == pytest.approx(expected)


def test_events_fire_their_wearers_triggers_only() -> None:
    mapper = Mapper(
        compile_mappings(
            [m("p*.heart.beat", "sound.p*.pulse", in_range=[60, 120]), m("p2.heart.beat", "visual.p2.pulse")],
            PARAMETERS,
        )
    )
    beat = Event("p2.heart.beat", 90.0, 1.0, 1.1, 5.0)
    assert mapper.apply_event(beat) == [("sound.p2.pulse", pytest.approx(0.5)), ("visual.p2.pulse", 1.0)]
    assert mapper.apply_event(Event("p1.heart.beat", math.nan, 1.0, 1.1, 5.0)) == [("sound.p1.pulse", 0.0)]
    assert mapper.apply_features({"p1.heart.bpm": 70.0}) == {}


PAIR_PARAMETERS = {**PARAMETERS, "visual.thread.p*.p*": "continuous"}


@pytest.mark.parametrize(
    ("mapping", "expected"),
    [
        (m("group.sync.p*.p*", "visual.p*.hue"), "must drive a pair parameter"),
        (m("group.sync.p*.p*", "sound.drone.brightness"), "must drive a pair parameter"),
        (m("group.sync.p1.p*", "visual.thread.p*.p*"), "name both wearers of a pair"),
        (m("group.sync.p3.p1", "sound.drone.brightness"), "name the lower slot first (group.sync.p1.p3)"),
        (m("group.sync.p1.p2", "visual.p*.hue"), "names every wearer (p*)"),
        (m("group.sync.p*.q*", "visual.thread.p*.p*"), "unknown feature"),
    ],
)
def test_pair_mappings_are_checked(mapping: Mapping, expected: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(expected)):
        compile_mappings([mapping], PAIR_PARAMETERS, "show.toml")


def test_every_pair_drives_its_own_thread() -> None:
    mapper = Mapper(compile_mappings([m("group.sync.p*.p*", "visual.thread.p*.p*", out_range=[0.0, 0.5]),
                                      m("group.sync.p1.p3", "sound.drone.brightness")], PAIR_PARAMETERS))
    features = {"group.sync.p1.p2": 1.0, "group.sync.p1.p3": 0.5, "group.sync.p2.p3": 0.0,
                "p1.quality": 1.0, "p2.quality": 1.0, "p3.quality": 1.0}
    out = mapper.apply_features(features, 0.0, ["p2", "p1", "p3"])
    assert out == {"visual.thread.p1.p2": 0.5, "visual.thread.p1.p3": 0.25, "visual.thread.p2.p3": 0.0,
                   "sound.drone.brightness": 0.5}


# ---- the Link session's features and events ----------------------------------------------------
@pytest.mark.parametrize(
    ("mapping", "expected"),
    [
        (m("link.phse", "visual.p*.hue"), ["mappings[0].from", "did you mean 'link.phase'"]),
        (m("link.beat", "sound.drone.brightness"), ["can only drive a trigger"]),
        (m("link.phase", "sound.p*.pulse"), ["is a trigger"]),
        (m("p*.link.beat", "sound.p*.pulse"), ["unknown feature"]),
    ],
)
def test_bad_link_mappings_are_refused_with_a_hint(mapping: Mapping, expected: list[str]) -> None:
    with pytest.raises(ConfigError) as err:
        compile_mappings([mapping], PARAMETERS, "show.toml")
    for part in expected:
        assert part in str(err.value)


def test_link_phase_drives_parameters_and_link_beat_every_wearers_trigger() -> None:
    mapper = Mapper(compile_mappings([
        m("link.phase", "sound.drone.brightness", out_range=[0.2, 0.6]),
        m("link.beat", "sound.p*.pulse", in_range=[0, 3], out_range=[1.0, 0.4]),  # the downbeat strongest
        m("link.downbeat", "visual.p1.pulse"),
        m("p*.heart.beat", "visual.p*.pulse"),
    ], PARAMETERS))
    values = mapper.apply_features({"link.phase": 0.5, "p1.quality": 1.0}, 0.0, ["p1", "p2"])
    assert values["sound.drone.brightness"] == pytest.approx(0.4)
    downbeat = mapper.apply_event(Event("link.beat", 0.0, 1.0, 1.0, 1.0))
    assert downbeat == [("sound.p1.pulse", pytest.approx(1.0)), ("sound.p2.pulse", pytest.approx(1.0))]
    third = mapper.apply_event(Event("link.beat", 3.0, 2.0, 2.0, 2.0))
    assert [v for _, v in third] == [pytest.approx(0.4)] * 2
    assert mapper.apply_event(Event("link.downbeat", 7.0, 1.0, 1.0, 1.0)) == [("visual.p1.pulse", pytest.approx(1.0))]
    # a wearer's beat still reaches only that wearer, and no Link mapping
    assert mapper.apply_event(Event("p2.heart.beat", 70.0, 1.0, 1.0, 1.0)) == [("visual.p2.pulse", pytest.approx(1.0))]
