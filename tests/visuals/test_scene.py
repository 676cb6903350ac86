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
    scene, untouched = settled(), settled()
    scene.trigger("p9.pulse", 1.0)
    scene.set("p9.hue", 0.1)
    scene.set("p1.unknown", 3.0)
    scene.update(1 / 60)
    untouched.update(1 / 60)
    assert "p9" not in scene.organisms
    np.testing.assert_array_equal(frame(scene), frame(untouched))  # not one pixel changed


def test_absent_wearer_fades_to_the_background() -> None:
    scene = settled()
    lit = region(frame(scene), scene, "p2").mean()
    scene.set("p2.presence", 0.0)
    scene.trigger("p2.pulse", 1.0)  # even a beat does not light a wearer who is not there
    scene.update(4.0)
    gone = region(frame(scene), scene, "p2").mean()
    assert gone < 0.3 * lit


def total(pixels: np.ndarray) -> float:
    return float(pixels.sum())


def test_synchrony_brightens_the_thread_between_two_wearers_only() -> None:
    scene = settled()
    before = frame(scene)
    scene.set("thread.p1.p2", 1.0)
    scene.update(4.0)
    after = frame(scene)

    def around(pixels: np.ndarray, a: str, b: str) -> np.ndarray:
        x, y = scene.thread_midpoint(a, b)
        r = int(0.04 * scene.unit_px)
        return pixels[x - r : x + r, y - r : y + r]

    assert total(around(after, "p1", "p2")) > 1.5 * total(around(before, "p1", "p2"))
    assert total(around(after, "p3", "p4")) == pytest.approx(total(around(before, "p3", "p4")), rel=0.15)


def test_pair_addresses_work_either_way_round() -> None:
    scene = settled()
    scene.set("thread.p2.p1", 0.7)
    assert scene.thread_targets[("p1", "p2")] == 0.7


@pytest.mark.parametrize(
    ("address", "value", "dimmer"),
    [
        ("p2.presence", 0.1, 0.4),  # a quiet sensor: almost gone
        ("p2.stress", 1.0, 0.8),    # stressed: wilts and dims
        ("p2.glow", 0.0, 0.85),     # calm and dim
    ],
)
def test_low_presence_stress_or_glow_dims_that_organism(address: str, value: float, dimmer: float) -> None:
    scene = settled()
    lit = total(region(frame(scene), scene, "p2"))
    scene.set(address, value)
    scene.update(4.0)
    pixels = frame(scene)
    assert total(region(pixels, scene, "p2")) < dimmer * lit
    assert total(region(pixels, scene, "p4")) > 0.9 * total(region(frame(settled()), scene, "p4"))


def test_blackout_gives_an_all_black_frame() -> None:
    scene = settled()
    scene.set("blackout", 1.0)
    scene.trigger("p1.pulse", 1.0)
    scene.trigger("flare", 1.0)
    scene.update(4.0)
    assert frame(scene).max() == 0.0
    scene.set("blackout", 0.0)
    scene.update(4.0)
    assert frame(scene).mean() > 1.0


def test_group_synchrony_and_flare_brighten_the_field() -> None:
    scene = settled()
    calm = frame(scene).mean()
    scene.set("sync", 1.0)
    scene.update(4.0)
    bloomed = frame(scene).mean()
    scene.trigger("flare", 1.0)
    scene.update(1 / 60)
    assert bloomed > 1.2 * calm
    assert frame(scene).mean() > 1.1 * bloomed


@pytest.mark.parametrize(("palette", "channel"), [(0.0, 0), (0.33, 1), (0.66, 2)])
def test_palette_tints_the_water(palette: float, channel: int) -> None:
    scene = settled()
    scene.set("palette", palette)
    scene.set("particles", 0.0)
    scene.update(5.0)
    corner = frame(scene)[: scene.size_px[0] // 8, -scene.size_px[1] // 8 :].reshape(-1, 3).mean(axis=0)
    assert int(np.argmax(corner)) == channel, corner


def test_particles_add_specks_of_light() -> None:
    def drawn(particles: float) -> np.ndarray:
        scene = settled()
        scene.set("particles", particles)
        scene.update(4.0)
        return frame(scene)

    specks = (drawn(1.0) - drawn(0.0)).max(axis=2)
    assert (specks > 10).sum() > 300 and specks.min() >= 0


@pytest.mark.parametrize("count", [1, 2, 8, 32])
@pytest.mark.parametrize("size", [(320, 180), (1280, 720), (1920, 1080), (720, 1280)])
def test_any_number_of_wearers_fits_any_size(count: int, size: tuple[int, int]) -> None:
    wearers = [f"p{i + 1}" for i in range(count)]
    scene = BioluminescentScene(size, wearers)
    scene.update(2.0)
    side, up, down = 1.6 * scene.organism_px, scene.organism_px, scene.reach_px()
    for w in wearers:
        x, y = scene.position_of(w)
        assert side <= x <= size[0] - side and up <= y <= size[1] - down, (w, x, y, side, up, down)
    positions = [scene.position_of(w) for w in wearers]
    if count > 1:  # no two organisms on top of each other
        gaps = [np.hypot(a[0] - b[0], a[1] - b[1]) for i, a in enumerate(positions) for b in positions[i + 1 :]]
        assert min(gaps) > 1.2 * scene.organism_px


@pytest.mark.parametrize("size", [(320, 240), (1600, 900), (500, 800)])
def test_resize_keeps_the_animation_and_fills_the_new_size(size: tuple[int, int]) -> None:
    scene = settled()
    scene.set("p1.hue", 0.95)
    scene.update(3.0)
    scene.resize(size)
    pixels = frame(scene)
    assert pixels.shape[:2] == size
    assert scene.organisms["p1"].hue_shown == pytest.approx(0.95, abs=0.02)
    for w in WEARERS:
        x, y = scene.position_of(w)
        assert 0 < x < size[0] and 0 < y < size[1]
        assert region(pixels, scene, w).mean() > pixels.mean()


def test_too_small_a_size_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 16x16"):
        BioluminescentScene((8, 8), WEARERS)


def test_the_same_seed_draws_the_same_picture() -> None:
    a, b = settled(), settled()
    for scene in (a, b):
        scene.trigger("p1.pulse", 1.0)
        scene.update(0.1)
    assert np.array_equal(frame(a), frame(b))


# ---- render nodes: a tile of the wall, a shared clock, settling at once ----------------------------
def _drawn(scene: BioluminescentScene) -> np.ndarray:
    surface = pygame.Surface(scene.view_px())
    scene.draw(surface)
    return pygame.surfarray.array3d(surface).astype(np.int16)


@pytest.mark.parametrize("origin, width", [(0, 160), (160, 160), (320, 160), (200, 120)])
def test_a_view_draws_that_slice_of_the_whole_scene(origin: int, width: int) -> None:
    whole, tile = (BioluminescentScene((480, 160), ["p1", "p2", "p3", "p4"]) for _ in range(2))
    tile.set_view((origin, 0), (width, 160))
    for s in (whole, tile):
        s.trigger("p2.pulse", 1.0)
        s.follow(1.25, 2.0, 0.1)
    full, part = _drawn(whole), _drawn(tile)
    assert part.shape[:2] == (width, 160)
    assert np.abs(full[origin:origin + width] - part).mean() < 0.5
    elsewhere = (origin + width) % 480
    assert np.abs(full[elsewhere:elsewhere + width] - part).mean() > 3.0 if elsewhere + width <= 480 else True


def test_following_a_clock_gives_the_same_picture_however_it_got_there() -> None:
    a, b = (BioluminescentScene((320, 180), ["p1", "p2"]) for _ in range(2))
    for t in np.linspace(0.0, 3.0, 91):  # a node drawing 30 frames a second from the start
        a.follow(float(t), 0.9 * float(t), 0.02 * float(t))
    b.follow(3.0, 2.7, 0.06)  # a node that joined just now
    assert np.abs(_drawn(a) - _drawn(b)).mean() < 0.5
    b.follow(3.5, 3.4, 0.09)
    assert np.abs(_drawn(a) - _drawn(b)).mean() > 0.5  # and the picture does move with the clock


def test_settle_shows_every_target_at_once() -> None:
    scene = BioluminescentScene((320, 180), ["p1", "p2"])
    for address, value in (("p1.presence", 0.2), ("p2.hue", 0.9), ("bloom", 0.8), ("thread.p1.p2", 0.7)):
        scene.set(address, value)
    scene.settle()
    o = scene.organisms
    assert (o["p1"].presence_shown, o["p2"].hue_shown, scene.shown["bloom"]) == (0.2, 0.9, 0.8)
    assert scene.thread_shown[("p1", "p2")] == 0.7
