"""Tiles of a projector wall: the slice each node shows, and the edge blend."""

from __future__ import annotations

import numpy as np
import pytest

from installation.visuals.tiles import BLEND_GAMMA, Tile, TileError, parse_tile


@pytest.mark.parametrize("text, overlap, wall, origin", [
    ("1/1", 0, (1280, 720), (0, 0)),
    ("2/3", 0, (3840, 720), (1280, 0)),
    ("3/3", 0, (3840, 720), (2560, 0)),
    ("2/3", 128, (3584, 720), (1152, 0)),
    ("1/2", 64, (2496, 720), (0, 0)),
])
def test_the_wall_and_where_a_tile_sits_on_it(text: str, overlap: int, wall: tuple[int, int], origin: tuple[int, int]) -> None:
    tile = parse_tile(text, overlap, 1280)
    assert tile.wall_px((1280, 720)) == wall
    assert tile.origin_px((1280, 720)) == origin


@pytest.mark.parametrize("text, overlap, message", [
    ("2", 0, "must look like 2/3"),
    ("a/b", 0, "must look like 2/3"),
    ("4/3", 0, "1 <= tile <= tiles"),
    ("0/3", 0, "1 <= tile <= tiles"),
    ("1/2", -5, "0 or more"),
    ("1/2", 700, "more than half"),
])
def test_tiles_that_cannot_be_are_refused_with_the_reason(text: str, overlap: int, message: str) -> None:
    with pytest.raises(TileError, match=message):
        parse_tile(text, overlap, 1280)


def test_a_single_tile_has_no_overlap() -> None:
    assert parse_tile("1/1", 50).overlap_px == 0


@pytest.mark.parametrize("index, left, right", [(1, False, True), (2, True, True), (3, True, False)])
def test_the_blend_fades_only_the_edges_shared_with_a_neighbour(index: int, left: bool, right: bool) -> None:
    gain = Tile(index, 3, 40).blend(200)
    assert (gain[0] < 0.5) == left and (gain[-1] < 0.5) == right
    assert np.all(gain[60:140] == 1.0)


def test_two_neighbours_light_adds_up_to_one_across_the_overlap() -> None:
    width, overlap = 200, 40
    left, right = Tile(1, 2, overlap).blend(width), Tile(2, 2, overlap).blend(width)
    light = left[width - overlap:] ** BLEND_GAMMA + right[:overlap] ** BLEND_GAMMA  # the same screen columns
    assert np.allclose(light, 1.0)
    assert np.all(np.diff(right[:overlap]) > 0)
