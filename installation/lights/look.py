"""The look (pure, numpy): the fixtures' parameters and triggers, and the time, -> DMX bytes per universe.

Each fixture has an ``intensity`` (0..1, 0 until a mapping sets it), a ``hue`` (0..1 round
the colour wheel) and a ``saturation`` (0..1, 1 by default). A ``pulse`` (a trigger; its value,
0..1, is its strength) adds a flash that fades with the fixture's ``pulse_s`` time constant. A
strip also has a ``wave`` (a trigger: a pulse that travels from its first pixel to its last in
``wave_s``) and one ``segment.p*`` per wearer: the strip is cut into equal segments, one per
wearer in slot order, each lit by its wearer's value (0..1) on top of the intensity.

A fixture's level (per pixel for a strip) is the sum of these, clipped to 0..1. Colour
channels carry the colour times the level; a fixture with a ``dimmer`` channel carries its
colour at full value and the level on the dimmer; ``white`` (rgbw) takes the colour's common
part; ``amber``, ``uv``, ``strobe`` and ``unused`` channels stay at 0 (the show never strobes).

Per frame, :meth:`Look.render` gives every fixture's brightness (its brightest pixel) to a
brightness hook (the flash limiter), and scales the fixture's channels by what comes back.
"""

from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from installation.addresses import WEARER_RE, slot_number
from installation.config import FixtureConfig
from installation.lights.layout import UNIVERSE_SIZE, Patch, patch_fixture

#: What the brightness hook is: per-fixture brightness (0..1) in, the brightness to show out.
BrightnessHook = Callable[[np.ndarray], np.ndarray]
#: A wave's width along the strip (standard deviation, a fraction of its length; at least 1.5 pixels).
WAVE_WIDTH = 1.0 / 24.0


def hex_rgb(colour: str) -> tuple[float, float, float]:
    """``"#ffb070"`` -> (1.0, 0.69, 0.44)."""
    return tuple(int(colour[i:i + 2], 16) / 255.0 for i in (1, 3, 5))  # type: ignore[return-value]


@dataclass(slots=True)
class _Fixture:
    """One fixture's state."""

    patch: Patch
    pulse_s: float
    wave_s: float
    intensity: float = 0.0
    hue: float = 0.5
    saturation: float = 1.0
    pulse_strength: float = 0.0
    pulse_at_s: float = -math.inf
    waves: list[tuple[float, float]] = field(default_factory=list)  # (start_s, strength)
    segments: np.ndarray | None = None  # strip: one value per wearer
    pixel_segment: np.ndarray | None = None  # strip: each pixel's segment index
    roles: dict[str, list[int]] = field(default_factory=dict)  # channel name -> offsets in the fixture

    def pulse(self, now_s: float) -> float:
        if self.pulse_strength <= 0.0:
            return 0.0
        return self.pulse_strength * math.exp(-(now_s - self.pulse_at_s) / self.pulse_s)

    def levels(self, now_s: float) -> np.ndarray:
        """Level per pixel (one value for a fixture that is not a strip), 0..1."""
        n = self.patch.pixels
        base = self.intensity + self.pulse(now_s)
        if self.segments is None:
            return np.array([min(1.0, max(0.0, base))])
        level = np.full(n, base)
        if self.segments.size:
            level += self.segments[self.pixel_segment]
        if self.waves:
            idx = np.arange(n, dtype=float)
            width = max(1.5, n * WAVE_WIDTH)
            alive = []
            for start_s, strength in self.waves:
                pos = (now_s - start_s) / self.wave_s * max(n - 1, 1)
                if pos - 4.0 * width > n or now_s - start_s > 1.5 * self.wave_s:  # it has left the strip
                    continue
                alive.append((start_s, strength))
                level += strength * np.exp(-0.5 * ((idx - pos) / width) ** 2)
            self.waves = alive
        return np.clip(level, 0.0, 1.0)


class Look:
    """Every fixture's state, rendered to DMX frames.

    Parameters
    ----------
    fixtures : sequence of FixtureConfig
        The show's ``[[fixtures]]`` (checked: they fit their universes).
    universes : sequence of int
        Every universe a lighting output sends (each gets a frame, dark where no fixture is).
    wearers : list of str
        Wearer slots of the session: a strip's segments, one each, in slot order.
    """

    def __init__(self, fixtures: Sequence[FixtureConfig], universes: Sequence[int], wearers: Sequence[str]) -> None:
        slots = sorted((w for w in wearers if WEARER_RE.fullmatch(w) and w != "p*"), key=slot_number)
        self.wearer_index = {w: i for i, w in enumerate(slots)}
        self.universes = sorted(set(universes) | {f.universe for f in fixtures})
        self.fixtures: dict[str, _Fixture] = {}
        for cfg in fixtures:
            p = patch_fixture(cfg)
            fx = _Fixture(p, cfg.pulse_s, cfg.wave_s, hue=cfg.hue)
            for k, role in enumerate(p.channels[:3] if cfg.layout == "strip" else p.channels):
                fx.roles.setdefault(role, []).append(k)
            if cfg.layout == "strip":
                fx.segments = np.zeros(len(slots))
                m = max(len(slots), 1)
                fx.pixel_segment = np.minimum((np.arange(p.pixels) * m) // p.pixels, m - 1)
            self.fixtures[cfg.name] = fx
        self.order = list(self.fixtures.values())

    # ---- parameters --------------------------------------------------------------------------
    def set(self, address: str, value: float) -> bool:
        """A continuous parameter (``wash1.intensity``, ``strip.segment.p2``; no ``light.``); False if unknown."""
        name, _, what = address.partition(".")
        fx = self.fixtures.get(name)
        if fx is None or value != value:
            return False
        v = min(1.0, max(0.0, float(value)))
        if what == "intensity":
            fx.intensity = v
        elif what == "hue":
            fx.hue = float(value) % 1.0
        elif what == "saturation":
            fx.saturation = v
        elif what.startswith("segment.") and fx.segments is not None:
            i = self.wearer_index.get(what.removeprefix("segment."))
            if i is None:
                return False
            fx.segments[i] = v
        else:
            return False
        return True

    def trigger(self, address: str, value: float, now_s: float) -> bool:
        """A trigger (``wash1.pulse``, ``strip.wave``) of strength ``value`` (0..1) at ``now_s``; False if unknown."""
        name, _, what = address.partition(".")
        fx = self.fixtures.get(name)
        if fx is None:
            return False
        strength = 1.0 if value != value else min(1.0, max(0.0, float(value)))
        if what == "pulse":
            fx.pulse_strength, fx.pulse_at_s = max(fx.pulse(now_s), strength), now_s
        elif what == "wave" and fx.segments is not None:
            fx.waves.append((now_s, strength))
            del fx.waves[:-16]  # a burst of beats never grows the list without bound
        else:
            return False
        return True

    # ---- frames ------------------------------------------------------------------------------
    def blank(self) -> dict[int, np.ndarray]:
        """Every universe dark."""
        return {u: np.zeros(UNIVERSE_SIZE, np.uint8) for u in self.universes}

    def render(self, now_s: float, hook: BrightnessHook | None = None) -> tuple[dict[int, np.ndarray], np.ndarray]:
        """DMX frames at ``now_s`` (universe -> 512 bytes), and the brightness each fixture was given.

        ``hook``: per-fixture brightness (its brightest pixel, 0..1) -> the brightness to show
        (the flash limiter); each fixture's channels are scaled by the ratio.
        """
        levels = [fx.levels(now_s) for fx in self.order]
        brightness = np.array([float(lv.max()) if lv.size else 0.0 for lv in levels])
        shown = brightness
        if hook is not None and brightness.size:
            shown = np.clip(np.asarray(hook(brightness), dtype=float), 0.0, 1.0)
            ratio = np.divide(shown, brightness, out=np.zeros_like(shown), where=brightness > 0.0)
            levels = [lv * r for lv, r in zip(levels, ratio)]
        frames = self.blank()
        for fx, lv in zip(self.order, levels):
            rgb = colorsys.hsv_to_rgb(fx.hue, fx.saturation, 1.0)
            _write(frames[fx.patch.universe], fx, lv, rgb)
        return frames, shown

    def steady(self, level: float, colour: tuple[float, float, float]) -> dict[int, np.ndarray]:
        """Every fixture at one level and colour (the house look)."""
        frames = self.blank()
        for fx in self.order:
            _write(frames[fx.patch.universe], fx, np.full(fx.patch.pixels, level), colour)
        return frames


def _write(frame: np.ndarray, fx: _Fixture, levels: np.ndarray, rgb: tuple[float, float, float]) -> None:
    """One fixture's channels into its universe's frame (channels past 512 are dropped)."""
    p = fx.patch
    r, g, b = rgb
    roles = fx.roles
    if "dimmer" in roles:  # the colour at full value, the level on the dimmer
        colour_scale, dimmer = np.ones_like(levels), levels
    else:
        colour_scale, dimmer = levels, levels
    w = min(r, g, b) if "white" in roles else 0.0
    value = {"red": r - w, "green": g - w, "blue": b - w, "white": w}
    width = len(p.channels) // p.pixels
    block = np.zeros((p.pixels, width))
    for role, offsets in roles.items():
        if role == "dimmer":
            block[:, offsets] = dimmer[:, None]
        elif role in value:
            block[:, offsets] = (colour_scale * value[role])[:, None]
    out = np.rint(block.ravel() * 255.0).astype(np.uint8)
    end = min(p.start + out.size, UNIVERSE_SIZE)
    if end > p.start:
        frame[p.start:end] = out[: end - p.start]
