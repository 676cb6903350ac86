"""The look (pure): parameters and triggers -> the DMX bytes of each layout, the pulse's decay, a
strip's segments and wave, the brightness hook, the house look."""

from __future__ import annotations

import math

import numpy as np
import pytest

from installation.config import FixtureConfig
from installation.lights.look import Look
from installation.lights.layout import fixture_channels


def fx(name: str = "f", **kw: object) -> FixtureConfig:
    return FixtureConfig.model_validate({"name": name, "universe": 1, "address": 5, **kw})


@pytest.mark.parametrize("layout, hue, expected", [
    ({"layout": "dimmer"}, 0.0, [128]),
    ({"layout": "rgb"}, 0.0, [128, 0, 0]),
    ({"layout": "rgb"}, 0.5, [0, 128, 128]),
    ({"layout": "rgbw"}, 0.0, [128, 0, 0, 0]),
    ({"layout": "rgb+dimmer"}, 1.0 / 3.0, [0, 255, 0, 128]),
    ({"channels": ["dimmer", "red", "green", "blue", "strobe", "unused"]}, 0.0, [128, 255, 0, 0, 0, 0]),
    ({"layout": "strip", "pixels": 2}, 0.0, [128, 0, 0, 128, 0, 0]),
])
def test_each_layout_at_half_intensity(layout: dict[str, object], hue: float, expected: list[int]) -> None:
    look = Look([fx(hue=hue, **layout)], [1], ["p1"])
    assert look.set("f.intensity", 0.5)
    frames, brightness = look.render(0.0)
    assert frames[1][4:4 + len(expected)].tolist() == expected
    assert frames[1][:4].tolist() == [0, 0, 0, 0] and not frames[1][4 + len(expected):].any()
    assert brightness.tolist() == [0.5]


def test_rgbw_takes_the_common_part_on_white() -> None:
    look = Look([fx(layout="rgbw")], [1], [])
    look.set("f.intensity", 1.0)
    look.set("f.saturation", 0.0)
    assert look.render(0.0)[0][1][4:8].tolist() == [0, 0, 0, 255]


def test_a_pulse_flashes_and_fades_with_its_time_constant() -> None:
    look = Look([fx(layout="dimmer", pulse_s=0.2)], [1], [])
    assert look.trigger("f.pulse", 1.0, 10.0)
    at = [int(look.render(10.0 + t)[0][1][4]) for t in (0.0, 0.2, 0.4, 2.0)]
    assert at == [255, round(255 * math.exp(-1)), round(255 * math.exp(-2)), 0]
    look.trigger("f.pulse", 0.2, 10.2)  # a weaker pulse never darkens one still bright
    assert int(look.render(10.2)[0][1][4]) == round(255 * math.exp(-1))


def test_a_strips_segments_follow_their_wearers_and_a_wave_travels() -> None:
    look = Look([fx(layout="strip", pixels=12, hue=0.0)], [1], ["p2", "p1", "p3"])
    look.set("f.segment.p2", 1.0)  # the second segment in slot order: pixels 4..7
    reds = look.render(0.0)[0][1][4:4 + 36:3]
    assert reds.tolist() == [0] * 4 + [255] * 4 + [0] * 4
    assert not look.set("f.segment.p9", 1.0)
    look.set("f.segment.p2", 0.0)
    look.trigger("f.wave", 1.0, 0.0)
    peaks = [int(np.argmax(look.render(t)[0][1][4:4 + 36:3])) for t in (0.0, 0.75, 1.5)]
    assert peaks[0] == 0 and 4 <= peaks[1] <= 7 and peaks[2] == 11


def test_the_brightness_hook_scales_each_fixture() -> None:
    look = Look([fx("a", layout="dimmer"), fx("b", layout="dimmer", address=9)], [1], [])
    look.set("a.intensity", 1.0)
    look.set("b.intensity", 0.5)
    frames, shown = look.render(0.0, lambda b: np.minimum(b, 0.25))
    assert frames[1][4] == 64 and frames[1][8] == 64 and shown.tolist() == [0.25, 0.25]


def test_the_house_look_and_a_blank_frame() -> None:
    look = Look([fx(layout="rgb+dimmer")], [1, 7], [])
    house = look.steady(0.5, (1.0, 0.5, 0.0))
    assert house[1][4:8].tolist() == [255, 128, 0, 128] and not house[7].any()
    assert set(look.blank()) == {1, 7}


@pytest.mark.parametrize("cfg, count", [({"layout": "strip", "pixels": 170}, 510), ({"layout": "rgbw"}, 4),
                                        ({"channels": ["red", "unused"]}, 2)])
def test_channel_counts(cfg: dict[str, object], count: int) -> None:
    assert len(fixture_channels(fx(**cfg))) == count
