"""Flash safety of the real light rig: 8 washes pulsing with hearts at 180 bpm plus group flares,
rendered by :class:`LightRig` at 40 Hz, measured on the DMX frames it hands to the sender."""

from __future__ import annotations

import numpy as np
import pytest

from installation.config import parse_show
from installation.lights.flash import count_flashes
from installation.lights.rig import LightRig
from tests.helpers import DEFAULT_SHOW

RATE_HZ = 40.0
WASHES = 8


def _show(flash_limit: bool, max_flashes_per_s: float) -> str:
    fixtures = "".join(f'''
[[fixtures]]
name = "wash{i + 1}"
universe = 1
address = {1 + 3 * i}
layout = "rgb"
hue = {i / WASHES:.3f}
''' for i in range(WASHES))
    return DEFAULT_SHOW.read_text() + f'''
[[outputs]]
kind = "sacn"
host = "127.0.0.1"
universes = [1]

[lights]
flash_limit = {str(flash_limit).lower()}
max_flashes_per_s = {max_flashes_per_s}
''' + fixtures


def _storm_frames(flash_limit: bool, max_flashes_per_s: float = 3.0, seconds: float = 8.0) -> np.ndarray:
    """Each wash's brightness (its brightest channel, 0..1, from the 8-bit frame) at 40 Hz while its
    wearer's heart beats at 180 bpm (the eight out of phase) and a group flare pulses every wash 4 times a second."""
    rig = LightRig(parse_show(_show(flash_limit, max_flashes_per_s), "flash.toml", DEFAULT_SHOW), [f"p{i + 1}" for i in range(WASHES)])
    beat_s, flare_s = 60.0 / 180.0, 0.25
    next_beat = [i * beat_s / WASHES for i in range(WASHES)]
    next_flare = 0.1
    rows = []
    for k in range(int(seconds * RATE_HZ)):  # simulated time: the rig's own render step, frame by frame
        now_s = k / RATE_HZ
        for i in range(WASHES):
            while next_beat[i] <= now_s:
                rig.look.trigger(f"wash{i + 1}.pulse", 1.0, next_beat[i])
                next_beat[i] += beat_s
        while next_flare <= now_s:
            for i in range(WASHES):
                rig.look.trigger(f"wash{i + 1}.pulse", 1.0, next_flare)
            next_flare += flare_s
        rig.fed(now_s)
        frame = rig.frame(now_s)[1]
        rows.append([frame[3 * i: 3 * i + 3].max() / 255.0 for i in range(WASHES)])
    return np.array(rows)


@pytest.mark.parametrize(("flash_limit", "max_flashes_per_s"), [(False, 3.0), (True, 3.0), (True, 2.0)])
def test_the_rig_keeps_every_fixture_within_the_flash_limit(flash_limit: bool, max_flashes_per_s: float) -> None:
    worst = count_flashes(_storm_frames(flash_limit, max_flashes_per_s), RATE_HZ).max(axis=0)
    if flash_limit:
        assert worst.max() <= max_flashes_per_s, worst
    else:  # the storm does flash: the limited runs could fail
        assert worst.min() > 3.0, worst


def test_the_limiter_keeps_the_heartbeats() -> None:
    """Limited, each wash still pulses: most of its frames are not dark, and it still rises and falls."""
    levels = _storm_frames(True)
    assert (levels.max(axis=0) > 0.9).all()
    assert (levels.std(axis=0) > 0.05).all(), levels.std(axis=0)
