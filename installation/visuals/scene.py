"""The bioluminescent scene: one glowing organism per wearer, drawn with pygame.

Pure drawing: the scene holds its animation state, takes parameter values and
triggers, advances with :meth:`update` and paints a surface with :meth:`draw`.
It owns no window and no loop (see :mod:`installation.visuals.renderer`).

Parameters (address after ``visual.``)
--------------------------------------
``p*.pulse``  trigger: the organism flares (value = strength 0..1) and fades
``p*.hue``    0..1: colour on the colour wheel (0.5 teal, 0.8 violet, 0.95 rose)
``p*.glow``   0..1: resting brightness
``p*.presence`` 0..1: how much the organism is there at all (map signal quality
              here: a wearer whose sensor fails fades away)
``bloom``     0..1: ambient glow of the whole field
"""

from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pygame

from installation.addresses import ParameterKind

PULSE_DECAY_S = 0.35
HUE_BINS = 48


@dataclass(slots=True)
class Organism:
    """Animation state of one wearer's organism."""

    x: float
    y: float
    hue: float = 0.5
    glow: float = 0.6
    presence: float = 1.0
    presence_shown: float = 1.0
    pulse: float = 0.0
    phase: float = 0.0
    hue_shown: float = 0.5
    glow_shown: float = 0.6
    tendrils: list[float] = field(default_factory=list)


def _glow_sprite(radius_px: int) -> pygame.Surface:
    """A white radial glow, bright core fading to black, for additive blits."""
    size = 2 * radius_px + 1
    y, x = np.mgrid[-radius_px : radius_px + 1, -radius_px : radius_px + 1]
    r = np.sqrt(x * x + y * y) / radius_px
    intensity = np.clip(np.exp(-4.0 * r * r) - np.exp(-4.0), 0.0, None) / (1.0 - math.exp(-4.0))
    level = (255.0 * intensity).astype(np.uint8)
    rgb = np.repeat(level.T[:, :, None], 3, axis=2)
    surf = pygame.Surface((size, size))
    pygame.surfarray.blit_array(surf, rgb)
    return surf


def _background(size: tuple[int, int]) -> pygame.Surface:
    w, h = size
    ys = np.linspace(0.0, 1.0, h)
    col = np.stack([2 + 6 * ys, 6 + 14 * ys, 16 + 22 * ys], axis=1).astype(np.uint8)
    arr = np.broadcast_to(col[None, :, :], (w, h, 3)).copy()
    surf = pygame.Surface(size)
    pygame.surfarray.blit_array(surf, arr)
    return surf


class BioluminescentScene:
    """Glowing organisms that pulse on heartbeats and shift colour with arousal.

    Parameters
    ----------
    size_px : tuple of int
        Surface size (width, height) in pixels; everything scales with it.
    wearers : list of str
        Wearer slots, one organism each.
    seed : int
        Seed for the drifting spores.
    """

    PARAMETERS: ClassVar[dict[str, ParameterKind]] = {
        "p*.pulse": "trigger",
        "p*.hue": "continuous",
        "p*.glow": "continuous",
        "p*.presence": "continuous",
        "bloom": "continuous",
    }

    def __init__(self, size_px: tuple[int, int], wearers: list[str], seed: int = 0) -> None:
        self.size_px = size_px
        self.wearers = list(wearers)
        w, h = size_px
        self.unit_px = min(w, h)
        self.bloom = 0.3
        self.time_s = 0.0
        self.organisms: dict[str, Organism] = {}
        n = len(self.wearers)
        for i, wearer in enumerate(self.wearers):
            if n == 1:
                x, y = w / 2, h / 2
            else:
                a = 2 * math.pi * i / n - math.pi / 2
                x, y = w / 2 + 0.34 * w * math.cos(a), h / 2 + 0.3 * h * math.sin(a)
            self.organisms[wearer] = Organism(x, y, phase=i * 1.7, tendrils=[i * 0.9 + k * 2 * math.pi / 7 for k in range(7)])
        self._core = _glow_sprite(max(8, int(0.11 * self.unit_px)))
        self._spark = _glow_sprite(max(3, int(0.025 * self.unit_px)))
        self._haze = _glow_sprite(max(16, int(0.35 * self.unit_px)))
        self._background = _background(size_px)
        self._tinted: dict[tuple[int, int], pygame.Surface] = {}
        rng = np.random.default_rng(seed)
        self._spores = rng.uniform(0.0, 1.0, size=(60, 3))

    def position_of(self, wearer: str) -> tuple[int, int]:
        """Centre of the wearer's organism in pixels."""
        o = self.organisms[wearer]
        return int(o.x), int(o.y)

    def set(self, address: str, value: float) -> None:
        """Set a continuous parameter (address without ``visual.``)."""
        if address == "bloom":
            self.bloom = min(1.0, max(0.0, value))
            return
        wearer, _, name = address.partition(".")
        o = self.organisms.get(wearer)
        if o is None:
            return
        if name == "hue":
            o.hue = value % 1.0
        elif name == "glow":
            o.glow = min(1.0, max(0.0, value))
        elif name == "presence":
            o.presence = min(1.0, max(0.0, value))

    def trigger(self, address: str, value: float) -> None:
        """Fire a trigger (``p1.pulse``) with strength ``value`` 0..1."""
        wearer, _, name = address.partition(".")
        o = self.organisms.get(wearer)
        if o is not None and name == "pulse":
            o.pulse = max(o.pulse, min(1.0, max(0.0, value)))

    def update(self, dt_s: float) -> None:
        """Advance the animation by ``dt_s`` seconds."""
        self.time_s += dt_s
        decay = math.exp(-dt_s / PULSE_DECAY_S)
        ease = 1.0 - math.exp(-dt_s / 0.5)
        for o in self.organisms.values():
            o.pulse *= decay
            o.glow_shown += (o.glow - o.glow_shown) * ease
            o.presence_shown += (o.presence - o.presence_shown) * ease
            dh = (o.hue - o.hue_shown + 0.5) % 1.0 - 0.5
            o.hue_shown = (o.hue_shown + dh * ease) % 1.0
        self._spores[:, 1] -= dt_s * (0.01 + 0.02 * self._spores[:, 2])
        self._spores[:, 1] %= 1.0

    def _tint(self, sprite: pygame.Surface, hue: float, level: float, key: int) -> pygame.Surface:
        hue_bin = int(hue * HUE_BINS) % HUE_BINS
        base = self._tinted.get((key, hue_bin))
        if base is None:
            r, g, b = colorsys.hsv_to_rgb(hue_bin / HUE_BINS, 0.75, 1.0)
            base = sprite.copy()
            base.fill((int(255 * r), int(255 * g), int(255 * b)), special_flags=pygame.BLEND_RGB_MULT)
            self._tinted[(key, hue_bin)] = base
        out = base.copy()
        v = int(255 * min(1.0, max(0.0, level)))
        out.fill((v, v, v), special_flags=pygame.BLEND_RGB_MULT)
        return out

    def draw(self, surface: pygame.Surface) -> None:
        """Paint the whole scene onto ``surface`` (same size as the scene)."""
        surface.blit(self._background, (0, 0))
        add = pygame.BLEND_RGB_ADD
        w, h = self.size_px
        spark_r = self._spark.get_width() // 2
        spore = self._tint(self._spark, 0.52, 0.25 + 0.3 * self.bloom, key=1)
        for sx, sy, _ in self._spores:
            surface.blit(spore, (int(sx * w) - spark_r, int(sy * h) - spark_r), special_flags=add)
        for o in self.organisms.values():
            if o.presence_shown < 0.01:
                continue
            level = (0.25 + 0.5 * o.glow_shown + 0.6 * o.pulse) * o.presence_shown
            breath = 1.0 + 0.04 * math.sin(0.6 * self.time_s + o.phase)
            haze = self._tint(self._haze, o.hue_shown, (0.15 + 0.25 * self.bloom + 0.2 * o.pulse) * o.presence_shown, key=2)
            hr = haze.get_width() // 2
            surface.blit(haze, (int(o.x) - hr, int(o.y) - hr), special_flags=add)
            reach = 0.09 * self.unit_px * breath * (1.0 + 0.35 * o.pulse)
            spark = self._tint(self._spark, (o.hue_shown + 0.05) % 1.0, min(1.0, level), key=1)
            for k, angle0 in enumerate(o.tendrils):
                angle = angle0 + 0.15 * math.sin(0.4 * self.time_s + k + o.phase)
                for step in (0.45, 0.75, 1.0):
                    px = o.x + math.cos(angle) * reach * step * (1.0 + 0.6 * step)
                    py = o.y + math.sin(angle) * reach * step * (1.0 + 0.6 * step)
                    surface.blit(spark, (int(px) - spark_r, int(py) - spark_r), special_flags=add)
            core = self._tint(self._core, o.hue_shown, min(1.0, level), key=0)
            cr = core.get_width() // 2
            surface.blit(core, (int(o.x) - cr, int(o.y) - cr), special_flags=add)
            if o.pulse * o.presence_shown > 0.05:
                flare = self._tint(self._core, (o.hue_shown + 0.08) % 1.0, o.pulse * o.presence_shown, key=0)
                surface.blit(flare, (int(o.x) - cr, int(o.y) - cr), special_flags=add)
