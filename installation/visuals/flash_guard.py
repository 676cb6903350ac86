"""Flash safety on the screen: no region of a quarter of the screen or more flashes more than 3 times a second.

The definition is :mod:`installation.dsp.flash`'s (WCAG 2.x general flash
threshold, after ITU-R BT.1702 and Ofcom): a flash is a pair of opposing changes
of 10 % or more in relative luminance with the darker state below 0.80.

Which regions
-------------
The guidelines judge the area a flash covers: a flash counts when it covers a
quarter of the central field of view. We watch every **region of a quarter of
the screen**: windows half as wide and half as tall as the screen, on a 3 x 3
grid at steps of a quarter of the width and height (the four quadrants, the
centre quarter, and the four windows between them), plus the whole screen. Any
quarter-screen window overlaps one of these by at least 9/16 of its area, and
the scene's light comes in smooth glows much larger than the step, so a region in
between cannot flash while all its neighbours keep still. A region's brightness is
the mean relative luminance of its pixels (sRGB linearised). The guard samples the
frame on a grid of 160 points across (160 x 88 at 16:9; within 0.01 of every
pixel's mean on the scene, inside the limiter's headroom of 0.02), sums it in 4 x 4
blocks of a sixteenth of the screen, and adds up each region from its blocks.

What it does
------------
Each frame is drawn as the scene wants it, measured, and checked against a
:class:`~installation.dsp.flash.FlashLimiter` with one channel per region. When
a region would flash once more than its budget allows (only a *rise* can: the
limiter keeps room for every fall, so the picture is never held bright), the frame
is drawn again with the heart pulses and flares held back
(``scene.transient_gain``, lowered just enough, from a straight-line estimate
between the frame with and without them). If the picture rises even without its
pulses (the operator lifting a blackout, a show's own fast changes), the whole
picture is dimmed (``scene.level``) for as long as needed, so a blackout hammered
on and off fades back instead of flickering. Frames are never blanked, and the
operator's blackout (a fall) always goes through at once.

The bioluminescent scene as drawn today swings less than the 10 % threshold in
any quarter of the screen with its pulses and flares alone (the organisms are
small and the water dark); the guard is what keeps it so when shows, scenes or
operators make it brighter.
"""

from __future__ import annotations

import logging
import time
from typing import Protocol

import numpy as np
import pygame

from installation.dsp.flash import MAX_FLASHES_PER_S, FlashLimiter, check_max_flashes, relative_luminance

log = logging.getLogger(__name__)

#: Width of the frame's sample grid used to measure regions (points; a multiple of 4).
SAMPLE_WIDTH_PX = 160
#: The pulses are lowered to this share of the straight-line estimate of what fits (room for the estimate's error).
GAIN_MARGIN = 0.8


class Steerable(Protocol):
    """What the guard needs of a scene: it draws, and scales its pulses and its whole picture."""

    transient_gain: float
    level: float

    def draw(self, surface: pygame.Surface) -> None: ...


def quarter_regions() -> np.ndarray:
    """The regions watched, as fractions of the screen: rows of (x0, y0, x1, y1), the whole screen last.

    Returns
    -------
    ndarray, shape (10, 4)
    """
    steps = (0.0, 0.25, 0.5)
    rows = [(x, y, x + 0.5, y + 0.5) for y in steps for x in steps]
    rows.append((0.0, 0.0, 1.0, 1.0))
    return np.array(rows)


def region_luminance(rgb: np.ndarray, regions: np.ndarray) -> np.ndarray:
    """Mean relative luminance of each region of an sRGB frame.

    Parameters
    ----------
    rgb : ndarray of uint8, shape (width, height, 3)
        The frame (or an evenly sampled copy of it), indexed [x, y] as pygame's surfarray is.
    regions : ndarray, shape (regions, 4)
        (x0, y0, x1, y1) as fractions of the frame.

    Returns
    -------
    ndarray, shape (regions,)
    """
    y = relative_luminance(rgb)
    w, h = y.shape
    out = np.empty(len(regions))
    for i, (x0, y0, x1, y1) in enumerate(regions):
        xa, xb = int(round(x0 * w)), max(int(round(x0 * w)) + 1, int(round(x1 * w)))
        ya, yb = int(round(y0 * h)), max(int(round(y0 * h)) + 1, int(round(y1 * h)))
        out[i] = y[xa:xb, ya:yb].mean()
    return out


def _regions_from_blocks(blocks: np.ndarray) -> np.ndarray:
    """The regions of :func:`quarter_regions` from the means of a 4 x 4 grid of blocks ([row, column])."""
    pairs = blocks[:-1, :] + blocks[1:, :]  # two rows of blocks: half the height
    quads = (pairs[:, :-1] + pairs[:, 1:]) / 4.0  # and two columns: a quarter of the screen, [row 0..2, column 0..2]
    return np.concatenate([quads.ravel(), [blocks.mean()]])


class ScreenFlashGuard:
    """Draws a scene within the flash budget of every quarter-screen region.

    Parameters
    ----------
    size_px : tuple of int
        Frame size (width, height) in pixels.
    max_flashes_per_s : float
        Above 0, at most 3 (``[visual] max_flashes_per_s``).

    Attributes
    ----------
    frames, limited_frames, redraws : int
        Frames drawn; of them, those held back; extra draws that cost.
    measure_s : float
        Seconds spent measuring frames and consulting the limiter (the guard's own cost, draws aside).
    gain, level : float
        ``transient_gain`` and ``level`` of the last frame.
    """

    def __init__(self, size_px: tuple[int, int], max_flashes_per_s: float = MAX_FLASHES_PER_S) -> None:
        self.max_flashes_per_s = check_max_flashes(max_flashes_per_s, "visual.max_flashes_per_s")
        self.regions = quarter_regions()
        self.limiter = FlashLimiter(len(self.regions), self.max_flashes_per_s)
        self.frames = 0
        self.limited_frames = 0
        self.redraws = 0
        self.measure_s = 0.0
        self.gain = 1.0
        self.level = 1.0
        self._warned = False
        self.resize(size_px)

    def resize(self, size_px: tuple[int, int]) -> None:
        """A new frame size (the regions are fractions of it: the history is kept)."""
        w, h = int(size_px[0]), int(size_px[1])
        self._sample_px = (SAMPLE_WIDTH_PX, max(4, 4 * round(SAMPLE_WIDTH_PX * h / w / 4)))

    def measure(self, surface: pygame.Surface) -> np.ndarray:
        """Mean relative luminance of each region of ``surface`` (sampled on a coarse grid)."""
        started = time.perf_counter()
        w, h = self._sample_px
        small = pygame.transform.scale(surface, (w, h))  # nearest: an even sample of the pixels
        rgb = np.frombuffer(pygame.image.tobytes(small, "RGB"), np.uint8).reshape(h, w, 3)
        blocks = relative_luminance(rgb).reshape(4, h // 4, 4, w // 4).mean(axis=(1, 3))  # [row, column]
        out = _regions_from_blocks(blocks)
        self.measure_s += time.perf_counter() - started
        return out

    def _try(self, scene: Steerable, surface: pygame.Surface, gain: float, level: float) -> np.ndarray:
        scene.transient_gain, scene.level = gain, level
        if level <= 0.0:
            surface.fill((0, 0, 0))
        else:
            scene.draw(surface)
        self.redraws += 1
        return self.measure(surface)

    def draw(self, scene: Steerable, surface: pygame.Surface, now_s: float, black: bool = False) -> None:
        """Draw ``scene`` onto ``surface`` for the frame at ``now_s`` (seconds), held back if it would flash.

        ``black``: the operator's blackout; the frame is black (always allowed), and counted.
        """
        self.frames += 1
        if black:
            surface.fill((0, 0, 0))
            self.limiter.observe(self.measure(surface), now_s)
            return
        started = time.perf_counter()
        _, hi = self.limiter.bounds(now_s)
        self.measure_s += time.perf_counter() - started
        gain = level = 1.0
        shown = self._try(scene, surface, 1.0, 1.0)
        self.redraws -= 1  # the first draw is not an extra one
        if np.any(shown > hi):
            self.limited_frames += 1
            full = shown
            gain = 0.0
            shown = self._try(scene, surface, 0.0, 1.0)
            if np.all(shown <= hi):
                rise = full - shown
                steep = rise > 1e-6
                fit = float(np.min((hi[steep] - shown[steep]) / rise[steep])) if steep.any() else 1.0
                guess = GAIN_MARGIN * min(1.0, max(0.0, fit))
                if guess > 0.05:
                    tried = self._try(scene, surface, guess, 1.0)
                    if np.all(tried <= hi):
                        gain, shown = guess, tried
                    else:
                        shown = self._try(scene, surface, 0.0, 1.0)
            else:  # even without its pulses the picture rises too fast: dim all of it
                level = self._dim(scene, surface, shown, hi)
                shown = self.measure(surface)
        scene.transient_gain, scene.level = 1.0, 1.0
        self.gain, self.level = gain, level
        if np.any(shown > hi + 1e-3) and not self._warned:
            self._warned = True
            log.warning("flash guard: a frame brighter than the flash budget allows was shown (regions %s)",
                        np.flatnonzero(shown > hi + 1e-3).tolist())
        started = time.perf_counter()
        self.limiter.observe(shown, now_s)
        self.measure_s += time.perf_counter() - started

    def _dim(self, scene: Steerable, surface: pygame.Surface, undimmed: np.ndarray, hi: np.ndarray) -> float:
        """Draw the picture (without pulses) as bright as fits under ``hi``; return the level used."""
        # Drawn values scale with the level; luminance with about its 2.2th power.
        over = undimmed > 1e-6
        level = float(np.min((np.maximum(hi[over], 0.0) / undimmed[over]) ** (1 / 2.2))) if over.any() else 1.0
        level = min(1.0, 0.9 * level)
        for _ in range(4):
            if level < 0.02:
                break
            if np.all(self._try(scene, surface, 0.0, level) <= hi):
                return level
            level *= 0.6
        self._try(scene, surface, 0.0, 0.0)
        return 0.0

    def report(self) -> dict[str, float]:
        """Figures for the visuals process's final report."""
        return {"flash_frames": self.frames, "flash_limited_frames": self.limited_frames, "flash_redraws": self.redraws,
                "flash_guard_ms_per_frame": 1000.0 * self.measure_s / max(1, self.frames)}
