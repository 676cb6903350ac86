"""Tiles of a projector wall: which slice of the whole scene a render node shows.

A wall of ``count`` projectors side by side, each ``width_px`` wide, with
``overlap_px`` columns shared by neighbours, is ``count * width - (count - 1) *
overlap`` pixels wide. The scene is laid out once at that wall size (every node
computes the same layout) and each node draws only its own window onto it (a
viewport offset, not the whole wall: the cost stays that of one projector).

In an overlap both projectors light the same spot of the screen. Each fades its
edge out with a ramp so that the two lights add up to the light of one: the ramp
is linear in light and is sent as pixel values with the projector's gamma
(``pixel = light ** (1 / gamma)``), the usual soft-edge blend. Pure: no window.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

#: Display gamma the blend ramps assume (sRGB-like projectors).
BLEND_GAMMA = 2.2


class TileError(ValueError):
    """A tile or overlap that cannot be: the message says which and why."""


@dataclass(frozen=True, slots=True)
class Tile:
    """Tile ``index`` (from 1) of ``count`` horizontal tiles, with ``overlap_px`` shared columns."""

    index: int = 1
    count: int = 1
    overlap_px: int = 0

    def wall_px(self, tile_px: tuple[int, int]) -> tuple[int, int]:
        """The whole wall's size in pixels, for tiles of ``tile_px`` (width, height) each."""
        w, h = tile_px
        return self.count * w - (self.count - 1) * self.overlap_px, h

    def origin_px(self, tile_px: tuple[int, int]) -> tuple[int, int]:
        """Where this tile's top-left corner sits on the wall, in pixels."""
        return (self.index - 1) * (tile_px[0] - self.overlap_px), 0

    def blend(self, width_px: int) -> np.ndarray:
        """Per column of this tile, the pixel gain 0..1 (1 outside the overlaps; shape ``(width_px,)``).

        A left overlap (any tile but the first) rises, a right one (any but the last)
        falls, so that two neighbours' light (gain ** gamma) adds up to 1 in each column.
        """
        gain = np.ones(width_px, dtype=np.float64)
        n = self.overlap_px
        if n <= 0 or self.count == 1:
            return gain
        light = (np.arange(n, dtype=np.float64) + 0.5) / n  # rising ramp, in light
        ramp = light ** (1.0 / BLEND_GAMMA)
        if self.index > 1:
            gain[:n] = ramp
        if self.index < self.count:
            gain[width_px - n :] = ramp[::-1]
        return gain


def parse_tile(text: str, overlap_px: int = 0, width_px: int | None = None) -> Tile:
    """``"2/3"`` -> tile 2 of 3; checks the overlap against the tile width when given.

    Raises
    ------
    TileError
        The text is not ``I/N`` with ``1 <= I <= N <= 64``, or the overlap does not fit.
    """
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not m:
        raise TileError(f"--tile must look like 2/3 (the 2nd of 3 tiles from the left), got {text!r}")
    index, count = int(m.group(1)), int(m.group(2))
    if not 1 <= index <= count <= 64:
        raise TileError(f"--tile {text}: needs 1 <= tile <= tiles <= 64")
    if overlap_px < 0:
        raise TileError(f"--overlap must be 0 or more pixels, got {overlap_px}")
    if width_px is not None and count > 1 and overlap_px * 2 > width_px:
        raise TileError(f"--overlap {overlap_px} is more than half of the tile's {width_px} pixels")
    return Tile(index, count, overlap_px if count > 1 else 0)
