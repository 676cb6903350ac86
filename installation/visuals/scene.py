"""The bioluminescent scene: one luminous organism per wearer, joined by mycelium threads.

Pure drawing: the scene holds its animation state, takes parameter values and
triggers, advances with :meth:`BioluminescentScene.update` and paints a surface
with :meth:`BioluminescentScene.draw`. It owns no window and no loop (see
:mod:`installation.visuals.process`). Everything scales from the surface size.

Each wearer is a jellyfish-like organism: a bell that flares on every heartbeat,
tendrils that sway, a colour and a glow that follow their arousal; stress makes it
wilt (tendrils droop, colour pales, light dims) and a wearer whose sensor goes
quiet fades away. Threads of light join every two organisms, as bright as those
two hearts are in step; the whole field blooms when the group synchronises.
Spores drift upward through a deep-water gradient.

Parameters (address after ``visual.``)
--------------------------------------
``p*.pulse``       trigger: the organism flares (value = strength 0..1) and fades
``p*.hue``         0..1: colour on the colour wheel (0.5 teal, 0.8 violet, 0.95 rose)
``p*.glow``        0..1: resting brightness
``p*.presence``    0..1: how much the organism is there at all (map signal quality
                   here: a wearer whose sensor fails fades away)
``p*.stress``      0..1: wilting (tendrils droop, colour pales, light dims)
``p*.size``        0..1: size of the organism (0.5 = normal)
``thread.p*.p*``   0..1: brightness of the thread between two wearers (map the pair's
                   heart-rhythm synchrony ``group.sync.p*.p*`` here)
``threads``        0..1: brightness of every thread at once (1 = as their pairs say)
``bloom``          0..1: ambient glow of the whole field
``sync``           0..1: group synchrony: the field blooms and the spores flare
``palette``        0..1: hue of the water (0.6 deep blue; scenes change it)
``drift``          0..1: speed of the drift and sway (0.3 = slow)
``particles``      0..1: how many spores drift through the field
``blackout``       0..1: fade the whole picture to black (1 = black)
``flare``          trigger: the whole field flashes (value = strength 0..1)

Continuous values glide to their targets (about half a second), so a scene
change in the show file crossfades the picture as it does the sound.

Two attributes are the flash guard's (:mod:`installation.visuals.flash_guard`), not
the show's: ``transient_gain`` (0..1) scales what the heart pulses and the flares add
to the picture, and ``level`` (0..1) scales the whole picture; both are 1 unless a
region of the screen would flash too often.
"""

from __future__ import annotations

import colorsys
import math
from collections import OrderedDict
from itertools import repeat
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pygame

from installation.addresses import ParameterKind, wearer_pairs

PULSE_DECAY_S = 0.35
FLARE_DECAY_S = 0.6
EASE_S = 0.5
HUE_BINS = 48
SAT_BINS = 4
LEVEL_BINS = 32
MAX_TINT_RADIUS_PX = 96
GLOW_SCALE = 2  # the soft glow layer is drawn at 1/GLOW_SCALE of the frame size, then enlarged
SPRITE_BUDGET_BYTES = 96 * 1024 * 1024
MAX_SPORES = 220
MAX_THREAD_SPARKS = 1600
TENDRILS = 7
TENDRIL_STEPS = (0.22, 0.34, 0.46, 0.58, 0.7, 0.82, 0.92, 1.0)
# Per tendril (rows) and step along it (columns): position across the bell, index, step, how far it bends.
_TENDRIL_U = np.linspace(0.0, 1.0, TENDRILS)[:, None]
_TENDRIL_K = np.arange(TENDRILS, dtype=float)[:, None]
_TENDRIL_STEP = np.array(TENDRIL_STEPS)[None, :]
_TENDRIL_BEND = _TENDRIL_STEP * (1.0 + 0.4 * np.arange(len(TENDRIL_STEPS)))[None, :]

#: Defaults of the scene-wide parameters.
FIELD_DEFAULTS: dict[str, float] = {
    "bloom": 0.3, "sync": 0.0, "palette": 0.6, "drift": 0.3, "particles": 0.5, "blackout": 0.0, "threads": 1.0,
}


@dataclass(slots=True)
class Organism:
    """Animation state of one wearer's organism (targets and the values shown)."""

    index: int
    x: float
    y: float
    hue: float = 0.5
    glow: float = 0.6
    presence: float = 1.0
    stress: float = 0.0
    size: float = 0.5
    hue_shown: float = 0.5
    glow_shown: float = 0.6
    presence_shown: float = 1.0
    stress_shown: float = 0.0
    size_shown: float = 0.5
    pulse: float = 0.0
    phase: float = 0.0


def _profile(kind: str, radius_px: int) -> np.ndarray:
    """Intensity 0..1 of a sprite kind, shape (2r+1, 2r+1), indexed [x, y]."""
    y, x = np.mgrid[-radius_px : radius_px + 1, -radius_px : radius_px + 1].astype(np.float32) / max(1, radius_px)
    r2 = x * x + y * y
    if kind == "bell":  # a dome: bright rim over the top, soft underside, a nucleus
        yy = np.where(y > 0, y * 1.8, y)
        rb2 = x * x + yy * yy
        rim = np.exp(-((np.sqrt(rb2) - 0.62) / 0.16) ** 2) * np.clip((0.3 - y) / 0.45, 0.0, 1.0)
        out = 0.55 * np.exp(-3.5 * rb2) + 0.55 * rim + 0.6 * np.exp(-30.0 * r2)
    else:  # a round glow fading to black at the edge
        out = (np.exp(-4.0 * r2) - math.exp(-4.0)) / (1.0 - math.exp(-4.0))
    return np.clip(out * (r2 <= 1.0), 0.0, 1.0).T.astype(np.float32)


class SpriteBank:
    """Tinted sprites, made on first use and kept within a memory budget.

    Dimming a sprite per frame (a multiply blend) costs milliseconds; blitting a
    ready one additively costs microseconds. Hue, saturation and level are
    quantised, so a handful of sprites serve a whole show.

    Parameters
    ----------
    budget_bytes : int
        Least recently used sprites are dropped beyond this.
    """

    def __init__(self, budget_bytes: int = SPRITE_BUDGET_BYTES) -> None:
        self.budget_bytes = budget_bytes
        self._profiles: dict[str, tuple[np.ndarray, np.ndarray, int, int]] = {}
        self._cache: OrderedDict[tuple[str, int, int, int], pygame.Surface] = OrderedDict()
        self._bytes = 0

    def add_kind(self, name: str, kind: str, radius_px: int, levels: int = LEVEL_BINS) -> None:
        """Register a sprite shape (``kind`` "glow" or "bell") under ``name``, with ``levels`` brightness steps.

        A large sprite is tinted at most ``MAX_TINT_RADIUS_PX`` and enlarged (smoothly) to its
        size: a soft glow loses nothing, and a new tint costs a fraction of a millisecond.
        """
        radius_px = max(1, radius_px)
        profile = _profile(kind, min(radius_px, MAX_TINT_RADIUS_PX))
        self._profiles[name] = (profile[:, :, None], (0.6 * profile**3)[:, :, None], radius_px, levels)
        for key in [k for k in self._cache if k[0] == name]:
            self._drop(key)

    def radius_px(self, name: str) -> int:
        return self._profiles[name][2]

    def _drop(self, key: tuple[str, int, int, int]) -> None:
        surf = self._cache.pop(key)
        self._bytes -= surf.get_width() * surf.get_height() * 4

    def get(self, name: str, hue: float, saturation: float, level: float) -> pygame.Surface | None:
        """The sprite tinted ``hue`` (0..1) at ``saturation`` and ``level`` (0..1); None when black."""
        profile, hot, radius_px, levels = self._profiles[name]
        level_bin = int(min(1.0, max(0.0, level)) * levels + 0.5)
        if level_bin == 0:
            return None
        key = (name, int(hue % 1.0 * HUE_BINS + 0.5) % HUE_BINS, int(min(1.0, max(0.0, saturation)) * (SAT_BINS - 1) + 0.5), level_bin)
        surf = self._cache.get(key)
        if surf is not None:
            self._cache.move_to_end(key)
            return surf
        colour = np.array(colorsys.hsv_to_rgb(key[1] / HUE_BINS, key[2] / (SAT_BINS - 1), 1.0), np.float32)
        scale = 255.0 * level_bin / levels
        # Hot centres whiten: bright light looks white, as it does on a camera.
        rgb = profile * (colour * scale) + hot * ((1.0 - colour) * scale)
        surf = pygame.Surface(profile.shape[:2])
        pygame.surfarray.blit_array(surf, np.minimum(rgb, 255.0).astype(np.uint8))
        if 2 * radius_px + 1 != surf.get_width():
            surf = pygame.transform.smoothscale(surf, (2 * radius_px + 1, 2 * radius_px + 1))
        self._cache[key] = surf
        self._bytes += surf.get_width() * surf.get_height() * 4
        while self._bytes > self.budget_bytes and len(self._cache) > 1:
            self._drop(next(iter(self._cache)))
        return surf


def _gradient(size_px: tuple[int, int], hue: float, level: float) -> pygame.Surface:
    """Deep water: dark at the top, a little lighter below, tinted ``hue``; ``level`` 0..1 scales it."""
    w, h = size_px
    ys = np.linspace(0.0, 1.0, h, dtype=np.float32)
    r, g, b = colorsys.hsv_to_rgb(hue % 1.0, 0.8, 1.0)
    base = np.stack([r * (6 + 30 * ys), g * (8 + 34 * ys), b * (14 + 40 * ys)], axis=1) * level
    column = pygame.Surface((1, h))
    pygame.surfarray.blit_array(column, np.clip(base, 0, 255).astype(np.uint8)[None, :, :])
    return pygame.transform.scale(column, (w, h))


def layout(count: int, size_px: tuple[int, int]) -> list[tuple[float, float]]:
    """Centres (x, y) in pixels of ``count`` organisms, spread over a surface of ``size_px``.

    One sits in the middle, two side by side; up to ten make a ring; more fill an
    ellipse on a sunflower spiral (no two too close, none near an edge). Everything
    sits a little above the middle: the tendrils hang down.
    """
    w, h = size_px
    cy = 0.46 * h
    if count <= 0:
        return []
    if count == 1:
        return [(w / 2, cy)]
    if count == 2:
        return [(0.3 * w, cy), (0.7 * w, cy)]
    if count <= 10:
        return [(w / 2 + 0.32 * w * math.cos(2 * math.pi * i / count - math.pi / 2),
                 cy + 0.28 * h * math.sin(2 * math.pi * i / count - math.pi / 2)) for i in range(count)]
    golden = math.pi * (3.0 - math.sqrt(5.0))
    out = []
    for i in range(count):
        rho = math.sqrt((i + 0.5) / count)
        a = i * golden
        out.append((w / 2 + 0.40 * w * rho * math.cos(a), cy + 0.34 * h * rho * math.sin(a)))
    return out


class BioluminescentScene:
    """Luminous organisms that pulse on heartbeats, joined by threads of synchrony.

    Parameters
    ----------
    size_px : tuple of int
        Surface size (width, height) in pixels; everything scales with it.
    wearers : list of str
        Wearer slots, one organism each.
    seed : int
        Seed of the spores' and threads' randomness (the drawing is repeatable for a seed).
    """

    PARAMETERS: ClassVar[dict[str, ParameterKind]] = {
        "p*.pulse": "trigger",
        "p*.hue": "continuous",
        "p*.glow": "continuous",
        "p*.presence": "continuous",
        "p*.stress": "continuous",
        "p*.size": "continuous",
        "thread.p*.p*": "continuous",
        "threads": "continuous",
        "bloom": "continuous",
        "sync": "continuous",
        "palette": "continuous",
        "drift": "continuous",
        "particles": "continuous",
        "blackout": "continuous",
        "flare": "trigger",
    }

    def __init__(self, size_px: tuple[int, int], wearers: list[str], seed: int = 0) -> None:
        self.wearers = list(wearers)
        self.time_s = 0.0
        self.sway_s = 0.0
        self.flare = 0.0
        self.transient_gain = 1.0
        self.level = 1.0
        self.targets = dict(FIELD_DEFAULTS)
        self.shown = dict(FIELD_DEFAULTS)
        self.organisms: dict[str, Organism] = {
            w: Organism(i, 0.0, 0.0, phase=i * 1.7)
            for i, w in enumerate(self.wearers)
        }
        self.pairs: list[tuple[str, str]] = wearer_pairs(self.wearers)
        self.thread_targets: dict[tuple[str, str], float] = {p: 0.0 for p in self.pairs}
        self.thread_shown: dict[tuple[str, str], float] = {p: 0.0 for p in self.pairs}
        rng = np.random.default_rng(seed)
        self._spores = rng.uniform(0.0, 1.0, size=(MAX_SPORES, 4)).astype(np.float32)
        self._spores_at_rest = self._spores.copy()  # where the spores start (a followed clock moves them from here)
        self.view_origin_px = (0, 0)
        self.view_size_px: tuple[int, int] | None = None  # None: the whole scene
        self._thread_bend = {p: float(rng.uniform(-0.25, 0.25)) for p in self.pairs}
        self._sprites = SpriteBank()
        self._backgrounds: OrderedDict[tuple[int, int], pygame.Surface] = OrderedDict()
        self.resize(size_px)

    # ---- geometry ----------------------------------------------------------------
    def resize(self, size_px: tuple[int, int]) -> None:
        """Lay the scene out for a new surface size, keeping its animation state."""
        w, h = int(size_px[0]), int(size_px[1])
        if w < 16 or h < 16:
            raise ValueError(f"scene size must be at least 16x16 pixels, got {w}x{h}")
        self.size_px = (w, h)
        self.unit_px = min(w, h)
        n = max(1, len(self.wearers))
        # Organisms shrink as the field fills, so that 32 wearers fit as well as 4.
        self.organism_px = self.unit_px * min(0.11, 0.2 / math.sqrt(n))
        for o, (x, y) in zip(self.organisms.values(), layout(len(self.wearers), self.size_px)):
            o.x, o.y = x, y
        s = self._sprites
        s.add_kind("bell", "bell", int(self.organism_px))
        s.add_kind("spark", "glow", max(2, int(0.14 * self.organism_px)))
        s.add_kind("thread", "glow", max(2, int(0.012 * self.unit_px)))
        s.add_kind("thread_soft", "glow", max(1, int(0.012 * self.unit_px) // GLOW_SCALE))
        s.add_kind("spore", "glow", max(2, int(0.008 * self.unit_px)))
        s.add_kind("haze", "glow", max(4, int(2.6 * self.organism_px / GLOW_SCALE)), levels=24)
        s.add_kind("field", "glow", max(8, int(0.55 * max(w, h) / GLOW_SCALE)), levels=16)
        # Small organisms (a crowd) need fewer dots to read as tendrils.
        self._tendril_steps = slice(None) if self.organism_px >= 40 else slice(1, None, 2)
        vw, vh = self.view_px()
        self._glow = pygame.Surface((max(1, vw // GLOW_SCALE), max(1, vh // GLOW_SCALE)))
        self._backgrounds.clear()
        self._neighbours = self._near_pairs(3)

    def set_view(self, origin_px: tuple[int, int], size_px: tuple[int, int] | None) -> None:
        """Draw only the window of ``size_px`` at ``origin_px`` of the scene (a tile of a projector wall;
        the scene keeps its own size and layout). ``None``: the whole scene. A window spans the
        scene's whole height (tiles sit side by side)."""
        self.view_origin_px = (int(origin_px[0]), int(origin_px[1])) if size_px is not None else (0, 0)
        self.view_size_px = (int(size_px[0]), int(size_px[1])) if size_px is not None else None
        self.resize(self.size_px)

    def view_px(self) -> tuple[int, int]:
        """The size of what :meth:`draw` paints, in pixels (the view, or the whole scene)."""
        return self.view_size_px if self.view_size_px is not None else self.size_px

    def _near_pairs(self, k: int) -> set[tuple[str, str]]:
        """Pairs in which one organism is among the other's ``k`` nearest (all pairs when few)."""
        if len(self.pairs) <= 45:
            return set(self.pairs)
        out = set()
        for name, o in self.organisms.items():
            others = sorted((math.hypot(o.x - p.x, o.y - p.y), other) for other, p in self.organisms.items() if other != name)
            for _, other in others[:k]:
                out.add((name, other) if (name, other) in self.thread_targets else (other, name))
        return out

    def position_of(self, wearer: str) -> tuple[int, int]:
        """Centre of the wearer's organism (its bell) in pixels."""
        o = self.organisms[wearer]
        return int(o.x), int(o.y)

    def thread_midpoint(self, a: str, b: str) -> tuple[int, int]:
        """The middle of the thread between wearers ``a`` and ``b`` (at rest), in pixels."""
        pair = (a, b) if (a, b) in self.thread_targets else (b, a)
        (x0, y0), (x1, y1) = self.position_of(pair[0]), self.position_of(pair[1])
        bend = self._thread_bend[pair]
        mx, my = (x0 + x1) / 2 - (y1 - y0) * bend, (y0 + y1) / 2 + (x1 - x0) * bend
        return int(0.25 * x0 + 0.5 * mx + 0.25 * x1), int(0.25 * y0 + 0.5 * my + 0.25 * y1)

    def reach_px(self) -> float:
        """How far an organism's tendrils reach below its centre, in pixels (at normal size);
        its bell reaches ``organism_px`` above, and the tendrils about 1.5 times that to the sides."""
        return 1.9 * self.organism_px

    # ---- parameters ----------------------------------------------------------------
    def set(self, address: str, value: float) -> None:
        """Set a continuous parameter (address without ``visual.``); unknown ones are ignored."""
        if not math.isfinite(value):
            return
        if address in self.targets:
            self.targets[address] = value % 1.0 if address == "palette" else min(1.0, max(0.0, value))
            return
        head, _, name = address.partition(".")
        if head == "thread":
            a, _, b = name.partition(".")
            pair = (a, b) if (a, b) in self.thread_targets else (b, a)
            if pair in self.thread_targets:
                self.thread_targets[pair] = min(1.0, max(0.0, value))
            return
        o = self.organisms.get(head)
        if o is None:
            return
        if name == "hue":
            o.hue = value % 1.0
        elif name in ("glow", "presence", "stress", "size"):
            setattr(o, name, min(1.0, max(0.0, value)))

    def trigger(self, address: str, value: float) -> None:
        """Fire a trigger (``p1.pulse``, ``flare``) with strength ``value`` 0..1."""
        v = min(1.0, max(0.0, value)) if math.isfinite(value) else 1.0
        if address == "flare":
            self.flare = max(self.flare, v)
            return
        wearer, _, name = address.partition(".")
        o = self.organisms.get(wearer)
        if o is not None and name == "pulse":
            o.pulse = max(o.pulse, v)

    # ---- animation ---------------------------------------------------------------------
    def update(self, dt_s: float) -> None:
        """Advance the animation by ``dt_s`` seconds (values glide towards their targets)."""
        dt_s = max(0.0, dt_s)
        self.time_s += dt_s
        self._ease(dt_s)
        drift = self.shown["drift"]
        self.sway_s += dt_s * (0.3 + 2.0 * drift)
        sp = self._spores
        sp[:, 1] -= dt_s * (0.004 + 0.05 * drift) * (0.4 + sp[:, 2])
        sp[:, 0] += dt_s * 0.01 * drift * np.sin(self.sway_s * 0.5 + 6.0 * sp[:, 3])
        sp[:, :2] %= 1.0

    def follow(self, time_s: float, sway_s: float, rise: float) -> None:
        """Advance the animation to a shared clock's reading (a render node following its conductor:
        :class:`installation.visuals.scene_clock.SceneClock`). The motion is then a function of the
        reading alone, so nodes that started at different times show the same picture; values,
        pulses and flares glide and fade over the time since the last reading (at most a second)."""
        dt_s = min(1.0, max(0.0, time_s - self.time_s))
        self.time_s, self.sway_s = time_s, sway_s
        self._ease(dt_s)
        rest, sp = self._spores_at_rest, self._spores
        sp[:, 1] = (rest[:, 1] - rise * (0.4 + rest[:, 2])) % 1.0
        sp[:, 0] = (rest[:, 0] + 0.02 * np.sin(0.25 * sway_s + 6.0 * rest[:, 3])) % 1.0

    def settle(self) -> None:
        """Show every value at its target at once (a render node that just joined: no glide from nothing)."""
        self.shown.update(self.targets)
        for o in self.organisms.values():
            o.hue_shown, o.glow_shown, o.presence_shown = o.hue, o.glow, o.presence
            o.stress_shown, o.size_shown = o.stress, o.size
        self.thread_shown.update(self.thread_targets)

    def _ease(self, dt_s: float) -> None:
        """Values glide towards their targets and pulses fade, over ``dt_s`` seconds."""
        decay = math.exp(-dt_s / PULSE_DECAY_S)
        ease = 1.0 - math.exp(-dt_s / EASE_S)
        self.flare *= math.exp(-dt_s / FLARE_DECAY_S)
        for k, target in self.targets.items():
            if k == "palette":
                d = (target - self.shown[k] + 0.5) % 1.0 - 0.5
                self.shown[k] = (self.shown[k] + d * ease) % 1.0
            else:
                self.shown[k] += (target - self.shown[k]) * ease
        for o in self.organisms.values():
            o.pulse *= decay
            o.glow_shown += (o.glow - o.glow_shown) * ease
            o.presence_shown += (o.presence - o.presence_shown) * ease
            o.stress_shown += (o.stress - o.stress_shown) * ease
            o.size_shown += (o.size - o.size_shown) * ease
            dh = (o.hue - o.hue_shown + 0.5) % 1.0 - 0.5
            o.hue_shown = (o.hue_shown + dh * ease) % 1.0
        for p, target in self.thread_targets.items():
            self.thread_shown[p] += (target - self.thread_shown[p]) * ease

    def _centre(self, o: Organism) -> tuple[float, float]:
        """The organism's centre with its slow drift."""
        a = 0.012 * self.unit_px
        return (o.x + a * math.sin(0.21 * self.sway_s + o.phase), o.y + a * math.cos(0.17 * self.sway_s + 1.3 * o.phase))

    # ---- drawing ---------------------------------------------------------------------------
    def draw(self, surface: pygame.Surface) -> None:
        """Paint the whole scene onto ``surface`` (the scene's size)."""
        sh = self.shown
        master = (1.0 - sh["blackout"]) * self.level
        if master <= 0.01:
            surface.fill((0, 0, 0))
            return
        sprites = self._sprites
        add = pygame.BLEND_RGB_ADD
        w, h = self.size_px
        ox, oy = self.view_origin_px
        view = self.view_px()
        sync = sh["sync"]
        flare = self.flare * self.transient_gain
        field_level = min(1.0, (0.55 + 0.25 * sh["bloom"] + 0.5 * sync + 0.4 * flare)) * master
        centres = {name: self._centre(o) for name, o in self.organisms.items()}
        if ox or oy:  # a tile: everything in the view's own pixels
            centres = {name: (x - ox, y - oy) for name, (x, y) in centres.items()}
        glow = self._glow
        glow.blit(self._background(sh["palette"], field_level), (0, 0))
        self._draw_glow_layer(glow, centres, master)
        bright_threads = self._draw_threads(glow, centres, master)  # faint ones go into the soft layer
        if surface.get_size() == view and surface.get_bitsize() == glow.get_bitsize():
            pygame.transform.scale(glow, view, surface)  # enlarged straight onto the frame
        else:
            surface.blit(pygame.transform.scale(glow, view), (0, 0))
        # Spores: marine snow drifting up; more and brighter when the field blooms.
        count = int(MAX_SPORES * min(1.0, sh["particles"] + 0.3 * sync))
        spore = sprites.get("spore", (sh["palette"] - 0.08) % 1.0, 0.5, (0.35 + 0.3 * sh["bloom"] + 0.5 * sync + 0.5 * flare) * master)
        if spore is not None and count:
            r = sprites.radius_px("spore")
            twinkle = 0.5 + 0.5 * np.sin(self.time_s * (0.8 + self._spores[:count, 3]) + 9.0 * self._spores[:count, 2])
            pts = self._spores[:count]
            keep = twinkle > 0.25
            xs = (pts[keep, 0] * w).astype(int) - r - ox
            ys = (pts[keep, 1] * h).astype(int) - r - oy
            surface.blits([(spore, (x, y), None, add) for x, y in zip(xs.tolist(), ys.tolist())], doreturn=False)
        surface.blits(bright_threads, doreturn=False)
        for name, o in self.organisms.items():
            self._draw_organism(surface, o, centres[name], master)

    def _background(self, palette: float, level: float) -> pygame.Surface:
        key = (int(palette % 1.0 * HUE_BINS + 0.5) % HUE_BINS, int(level * LEVEL_BINS + 0.5))
        bg = self._backgrounds.get(key)
        if bg is None:
            bg = _gradient(self._glow.get_size(), key[0] / HUE_BINS, key[1] / LEVEL_BINS)
            self._backgrounds[key] = bg
            while len(self._backgrounds) > 6:
                self._backgrounds.popitem(last=False)
        else:
            self._backgrounds.move_to_end(key)
        return bg

    def _draw_glow_layer(self, glow: pygame.Surface, centres: dict[str, tuple[float, float]], master: float) -> None:
        """Soft light into the half-size layer ``glow``: each organism's haze and the field's bloom
        (smooth light loses nothing at half size, and costs a quarter)."""
        sprites = self._sprites
        blits = []
        sh = self.shown
        bloom_level = (0.12 * sh["bloom"] + 0.35 * sh["sync"] + 0.35 * self.flare * self.transient_gain) * master
        field = sprites.get("field", (sh["palette"] + 0.04) % 1.0, 0.7, bloom_level)
        if field is not None:
            r = sprites.radius_px("field")
            ox, oy = self.view_origin_px
            w, h = self.size_px
            blits.append((field, ((w // 2 - ox) // GLOW_SCALE - r, (h // 2 - oy) // GLOW_SCALE - r)))
        r = sprites.radius_px("haze")
        for name, o in self.organisms.items():
            there = o.presence_shown * master
            if there < 0.01:
                continue
            level = (0.18 + 0.2 * o.glow_shown + 0.25 * sh["bloom"] + 0.35 * o.pulse * self.transient_gain) * there * (1.0 - 0.5 * o.stress_shown)
            haze = sprites.get("haze", o.hue_shown, 0.8 - 0.4 * o.stress_shown, level)
            if haze is not None:
                x, y = centres[name]
                blits.append((haze, (int(x) // GLOW_SCALE - r, int(y) // GLOW_SCALE - r)))
        glow.blits([(s, p, None, pygame.BLEND_RGB_ADD) for s, p in blits], doreturn=False)

    def _draw_threads(self, glow: pygame.Surface, centres: dict[str, tuple[float, float]],
                      master: float) -> list[tuple[pygame.Surface, tuple[int, int], None, int]]:
        """Mycelium: a beaded, gently bending thread between two organisms, lit by their synchrony.

        Every pair gets a faint thread (with many wearers, only near neighbours do);
        any pair in step lights up wherever it is. Faint threads are drawn into the
        half-size soft layer ``glow``; the blits of the bright ones (full size) are returned.
        """
        sprites = self._sprites
        gain = self.shown["threads"] * master
        if gain <= 0.01 or not self.pairs:
            return []
        lit: list[tuple[float, tuple[str, str]]] = []
        for pair in self.pairs:
            a, b = self.organisms[pair[0]], self.organisms[pair[1]]
            sync = self.thread_shown[pair]
            if sync < 0.05 and pair not in self._neighbours:
                continue
            level = (0.06 + 0.94 * sync) * min(a.presence_shown, b.presence_shown) * gain
            if level > 0.015:
                lit.append((level, pair))
        if not lit:
            return []
        m = len(lit)
        ends = np.array([centres[p[0]] + centres[p[1]] for _, p in lit], dtype=np.float64)  # x0 y0 x1 y1
        bends = np.array([self._thread_bend[p] for _, p in lit])
        x0, y0, x1, y1 = ends.T
        lengths = np.hypot(x1 - x0, y1 - y0)
        r = sprites.radius_px("thread")
        spacing_px = max(1.4 * r, float(lengths.sum()) / MAX_THREAD_SPARKS)
        steps = np.maximum(3, (lengths / spacing_px).astype(int))
        t_now = self.sway_s
        bend = bends + 0.05 * np.sin(0.3 * t_now + 3.0 * bends)
        mx, my = (x0 + x1) / 2 - (y1 - y0) * bend, (y0 + y1) / 2 + (x1 - x0) * bend
        which = np.repeat(np.arange(m), steps - 1)
        first = np.repeat(np.cumsum(steps - 1) - (steps - 1), steps - 1)
        t = (np.arange(which.size) - first + 1) / steps[which]
        u = 1.0 - t
        wobble = 0.006 * self.unit_px * np.sin(17.0 * t + 0.7 * t_now + 5.0 * bend[which])
        xs = (u * u * x0[which] + 2 * u * t * mx[which] + t * t * x1[which] + wobble).astype(int) - r
        ys = (u * u * y0[which] + 2 * u * t * my[which] + t * t * y1[which] - wobble).astype(int) - r
        dots = []
        soft = []
        beads = []
        rs = sprites.radius_px("thread_soft")
        for (level, pair) in lit:
            a, b = self.organisms[pair[0]], self.organisms[pair[1]]
            hue = a.hue_shown + ((b.hue_shown - a.hue_shown + 0.5) % 1.0 - 0.5) / 2
            faint = level < 0.3
            dots.append(None if faint else sprites.get("thread", hue, 0.45, level))
            soft.append(sprites.get("thread_soft", hue, 0.45, level) if faint else None)
            beads.append(sprites.get("spark", hue, 0.3, min(1.0, 1.6 * level)) if level > 0.2 else None)
        add = pygame.BLEND_RGB_ADD
        soft_xs = ((xs + r) // GLOW_SCALE - rs).tolist()
        soft_ys = ((ys + r) // GLOW_SCALE - rs).tolist()
        xl, yl = xs.tolist(), ys.tolist()
        soft_blits: list[tuple[pygame.Surface, tuple[int, int], None, int]] = []
        blits: list[tuple[pygame.Surface, tuple[int, int], None, int]] = []
        ends_at = np.cumsum(steps - 1).tolist()
        begin = 0
        for i, end in enumerate(ends_at):  # one sprite per thread: its dots' blits are zipped in C
            k = end - begin
            if soft[i] is not None:
                soft_blits += zip(repeat(soft[i], k), zip(soft_xs[begin:end], soft_ys[begin:end]), repeat(None, k), repeat(add, k))
            elif dots[i] is not None:
                blits += zip(repeat(dots[i], k), zip(xl[begin:end], yl[begin:end]), repeat(None, k), repeat(add, k))
            begin = end
        glow.blits(soft_blits, doreturn=False)
        for i, bead in enumerate(beads):  # nutrients travel along a lit thread
            if bead is None:
                continue
            v = (0.25 * t_now + bends[i] * 3.0) % 1.0
            bx = (1 - v) ** 2 * x0[i] + 2 * (1 - v) * v * mx[i] + v * v * x1[i]
            by = (1 - v) ** 2 * y0[i] + 2 * (1 - v) * v * my[i] + v * v * y1[i]
            br = bead.get_width() // 2
            blits.append((bead, (int(bx) - br, int(by) - br), None, add))
        return blits

    def _draw_organism(self, surface: pygame.Surface, o: Organism, centre: tuple[float, float], master: float) -> None:
        there = o.presence_shown * master
        if there < 0.01:
            return
        sprites = self._sprites
        x, y = centre
        stress = o.stress_shown
        pulse = o.pulse * self.transient_gain
        saturation = 0.8 - 0.5 * stress
        level = (0.3 + 0.45 * o.glow_shown + 0.5 * pulse) * there * (1.0 - 0.55 * stress)
        if stress > 0.3:  # a stressed organism flickers
            level *= 1.0 - 0.25 * stress * (0.5 + 0.5 * math.sin(23.0 * self.time_s + o.phase))
        scale = (0.6 + 0.8 * o.size_shown) * (1.0 + 0.18 * pulse) * (1.0 - 0.2 * stress)
        breath = 1.0 + 0.05 * math.sin(1.1 * self.sway_s + o.phase)
        reach = 1.15 * self.organism_px * scale * breath * (1.0 - 0.3 * stress)
        spark_r = sprites.radius_px("spark")
        spark = sprites.get("spark", (o.hue_shown + 0.04) % 1.0, saturation, min(1.0, 0.8 * level))
        blits = []
        if spark is not None:
            spread = (1.0 - 0.75 * stress) * 1.1  # wilting: the tendrils hang straight down
            u = _TENDRIL_U
            base_angle = math.pi / 2 + (u - 0.5) * spread
            sway = (0.22 - 0.12 * stress) * np.sin(0.9 * self.sway_s + 1.3 * _TENDRIL_K + o.phase)
            cols = self._tendril_steps
            angle = base_angle + sway * _TENDRIL_BEND[:, cols]
            step = _TENDRIL_STEP[:, cols]
            px = x + (u - 0.5) * 0.9 * self.organism_px * scale + np.cos(angle) * reach * step
            py = (y + 0.15 * self.organism_px * scale) + np.sin(angle) * reach * step * (1.0 + 0.6 * stress)
            add = pygame.BLEND_RGB_ADD
            blits = [(spark, (sx, sy), None, add) for sx, sy in zip((px.astype(int) - spark_r).ravel().tolist(),
                                                                    (py.astype(int) - spark_r).ravel().tolist())]
        bell = sprites.get("bell", o.hue_shown, saturation, min(1.0, level))
        if bell is not None:
            br = bell.get_width() // 2
            blits.append((bell, (int(x) - br, int(y) - br), None, pygame.BLEND_RGB_ADD))
        if pulse * there > 0.04:
            flare = sprites.get("bell", (o.hue_shown + 0.06) % 1.0, saturation * 0.6, pulse * there)
            if flare is not None:
                br = flare.get_width() // 2
                blits.append((flare, (int(x) - br, int(y) - br), None, pygame.BLEND_RGB_ADD))
        surface.blits(blits, doreturn=False)
