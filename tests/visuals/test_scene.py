"""Pixel tests of the bioluminescent scene, drawn with SDL's dummy video driver."""

from __future__ import annotations

import numpy as np
import pygame
import pytest

from installation.visuals.scene import BioluminescentScene

WEARERS = ["p1", "p2", "p3", "p4"]


@pytest.fixture(autouse=True)
def display() -> None:
    pygame.display.init()
    yield
    pygame.display.quit()


def frame(scene: BioluminescentScene) -> np.ndarray:
    surface = pygame.Surface(scene.size_px)
    scene.draw(surface)
    return pygame.surfarray.array3d(surface).astype(float)  # (width, height, rgb)


def region(pixels: np.ndarray, scene: BioluminescentScene, wearer: str, radius_frac: float = 0.06) -> np.ndarray:
    x, y = scene.position_of(wearer)
    r = max(2, int(radius_frac * scene.unit_px))
    return pixels[x - r : x + r, y - r : y + r]


def settled(size: tuple[int, int] = (640, 360)) -> BioluminescentScene:
    scene = BioluminescentScene(size, WEARERS)
    scene.update(3.0)
    return scene


def test_beat_brightens_that_wearers_organism_only() -> None:
    scene = settled()
    before = frame(scene)
    scene.trigger("p2.pulse", 1.0)
    scene.update(1 / 60)
    after = frame(scene)
    assert region(after, scene, "p2").mean() > 1.3 * region(before, scene, "p2").mean()
    assert region(after, scene, "p4").mean() == pytest.approx(region(before, scene, "p4").mean(), rel=0.05)


def test_pulse_fades_back() -> None:
    scene = settled()
    rest = region(frame(scene), scene, "p1").mean()
    scene.trigger("p1.pulse", 1.0)
    scene.update(1 / 60)
    flare = region(frame(scene), scene, "p1").mean()
    scene.update(2.0)
    assert region(frame(scene), scene, "p1").mean() == pytest.approx(rest, rel=0.1)
    assert flare > rest


@pytest.mark.parametrize(("hue", "warm"), [(0.5, False), (0.95, True)])
def test_hue_shifts_colour(hue: float, warm: bool) -> None:
    scene = settled()
    scene.set("p3.hue", hue)
    scene.update(5.0)  # colour glides, then settles
    r, g, _ = region(frame(scene), scene, "p3").reshape(-1, 3).mean(axis=0)
    assert bool(r > g) is warm, (r, g)


def test_low_glow_dims() -> None:
    scene = settled()
    bright = region(frame(scene), scene, "p1").mean()
    scene.set("p1.glow", 0.0)
    scene.update(5.0)
    assert region(frame(scene), scene, "p1").mean() < 0.85 * bright


@pytest.mark.parametrize("size", [(320, 240), (1920, 1080), (600, 900)])
def test_any_size_keeps_organisms_on_screen(size: tuple[int, int]) -> None:
    scene = settled(size)
    pixels = frame(scene)
    assert pixels.shape[:2] == size
    for w in WEARERS:
        x, y = scene.position_of(w)
        assert 0 < x < size[0] and 0 < y < size[1]
        assert region(pixels, scene, w).mean() > pixels.mean()  # the organism glows above the field


def test_unknown_wearer_is_ignored() -> None:
    scene = settled()
    scene.trigger("p9.pulse", 1.0)
    scene.set("p9.hue", 0.1)
    scene.set("p1.unknown", 3.0)
    frame(scene)


def test_absent_wearer_fades_to_the_background() -> None:
    scene = settled()
    lit = region(frame(scene), scene, "p2").mean()
    scene.set("p2.presence", 0.0)
    scene.trigger("p2.pulse", 1.0)  # even a beat does not light a wearer who is not there
    scene.update(4.0)
    gone = region(frame(scene), scene, "p2").mean()
    assert gone < 0.3 * lit
