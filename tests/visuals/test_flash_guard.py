"""The screen's flash guard: rendered frames of a scripted worst case, measured region by region."""

from __future__ import annotations

import numpy as np
import pygame
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from installation.dsp.flash import count_flashes
from installation.visuals.flash_guard import ScreenFlashGuard, quarter_regions, region_luminance
from installation.visuals.storm import Storm, render_storm, storm_frames

FPS = 60.0


@pytest.fixture(autouse=True)
def display() -> None:
    pygame.display.init()
    yield
    pygame.display.quit()


def test_regions_are_quarters_of_the_screen_and_the_whole() -> None:
    regions = quarter_regions()
    areas = (regions[:, 2] - regions[:, 0]) * (regions[:, 3] - regions[:, 1])
    assert areas[:-1].tolist() == [0.25] * 9 and areas[-1] == 1.0
    assert {(0.0, 0.0), (0.5, 0.0), (0.0, 0.5), (0.5, 0.5), (0.25, 0.25)} <= {tuple(r[:2]) for r in regions}


@pytest.mark.parametrize(
    ("fill", "where", "expected"),
    [
        ((255, 255, 255), (0, 0, 1, 1), [1.0] * 10),
        ((255, 255, 255), (0, 0, 0.5, 0.5), [1.0, 0.5, 0.0, 0.5, 0.25, 0.0, 0.0, 0.0, 0.0, 0.25]),
        ((255, 0, 0), (0, 0, 1, 1), [0.2126] * 10),
    ],
)
def test_region_luminance(fill: tuple[int, int, int], where: tuple[float, ...], expected: list[float]) -> None:
    rgb = np.zeros((64, 32, 3), np.uint8)
    rgb[int(where[0] * 64):int(where[2] * 64), int(where[1] * 32):int(where[3] * 32)] = fill
    assert region_luminance(rgb, quarter_regions()) == pytest.approx(expected, abs=1e-6)


def test_guard_measure_matches_every_pixel_closely() -> None:
    storm = Storm()
    from installation.visuals.feed import SceneFeed
    from installation.visuals.scene import BioluminescentScene

    scene = BioluminescentScene((1280, 720), ["p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8"])
    feed = SceneFeed(scene)
    surface = pygame.Surface((1280, 720))
    guard = ScreenFlashGuard((1280, 720))
    for t, snapshot, _ in storm_frames(storm, 1.5, 20.0):
        feed.apply(snapshot, t)
        scene.update(0.05)
    scene.draw(surface)
    exact = region_luminance(pygame.surfarray.array3d(surface), quarter_regions())
    assert np.abs(guard.measure(surface) - exact).max() < 0.01  # each end of a swing within half the headroom (0.02)


@pytest.mark.parametrize("limit", [3.0, 2.0])
def test_storm_on_screen_stays_within_the_limit(limit: float) -> None:
    """8 hearts at 180 bpm, the group in sync, flares 4 times a second and a blackout hammered 5 times a
    second: unguarded, quarters of the screen flash 5 times a second; guarded, never more than the limit."""
    storm = Storm()
    guarded = render_storm(storm, seconds=6.0, fps=FPS, guarded=True, max_flashes_per_s=limit)
    worst = count_flashes(guarded.luminance, FPS).max(axis=0)
    assert worst.max() <= limit, worst
    assert guarded.guard["flash_limited_frames"] > 0
    if limit == 3.0:
        unguarded = render_storm(storm, seconds=6.0, fps=FPS, guarded=False)
        assert count_flashes(unguarded.luminance, FPS).max() > 3.0  # the storm does flash: this test can fail


def test_hearts_and_flares_alone_pass_untouched() -> None:
    """Without the blackout the scene's pulses stay under the threshold: the guard never steps in."""
    storm = Storm(blackout_hz=0.0)
    guarded = render_storm(storm, seconds=3.0, fps=FPS, guarded=True)
    assert guarded.guard["flash_limited_frames"] == 0
    assert count_flashes(guarded.luminance, FPS).max() <= 3.0


class Strobe:
    """A stand-in scene whose pulses do flash (the bioluminescent scene's cannot): a grey field with a
    white pulse on top, the guard's two knobs applied as the real scene applies them."""

    def __init__(self) -> None:
        self.transient_gain = 1.0
        self.level = 1.0
        self.pulse = 0.0

    def draw(self, surface: pygame.Surface) -> None:
        value = (0.3 + 0.7 * self.pulse * self.transient_gain) * self.level
        surface.fill((int(255 * value),) * 3)


def test_guard_holds_back_pulses_and_keeps_the_rest() -> None:
    scene, surface = Strobe(), pygame.Surface((64, 36))
    guard = ScreenFlashGuard((64, 36))
    rows, gains = [], []
    for k in range(int(4 * FPS)):
        scene.pulse = 1.0 if (k // 6) % 2 == 0 else 0.0  # 5 Hz
        guard.draw(scene, surface, k / FPS)
        rows.append(region_luminance(pygame.surfarray.array3d(surface), guard.regions))
        gains.append(guard.gain)
    worst = count_flashes(np.array(rows), FPS).max()
    assert worst <= 3.0
    assert guard.level == 1.0 and min(gains) < 1.0  # the pulses were held back, not the picture
    assert 0.0 < np.mean(gains) < 1.0


@pytest.mark.parametrize("flash_limit", [True, False])
def test_the_visuals_process_guards_its_window(flash_limit: bool) -> None:
    """The real visuals process, its blackout ordered on and off 10 times a second: the guard steps in."""
    import time

    from installation.visuals.process import Renderer, RendererSettings, Snapshot

    renderer = Renderer(RendererSettings(["p1", "p2", "p3", "p4"], (320, 180), fps=60, headless=True,
                                         draw_every_frame=True, flash_limit=flash_limit))
    renderer.start()
    try:
        assert renderer.wait_started() is not None
        renderer.push(Snapshot(time.perf_counter(), {"sync": 1.0, "bloom": 1.0}))  # the field at its brightest
        time.sleep(1.5)
        for k in range(30):  # 3 s
            renderer.command("blackout:on" if k % 2 == 0 else "blackout:off")
            time.sleep(0.1)
    finally:
        renderer.stop()
    report = renderer.stopped_report()
    assert report["frames_drawn"] > 30
    if flash_limit:
        assert report["flash_frames"] == report["frames_drawn"]
        assert report["flash_limited_frames"] > 0
    else:
        assert "flash_frames" not in report


class Field:
    """A stand-in scene with a base that moves too: a grey field (``base``) and a white pulse on top."""

    def __init__(self) -> None:
        self.transient_gain = 1.0
        self.level = 1.0
        self.base = 0.3
        self.pulse = 0.0

    def draw(self, surface: pygame.Surface) -> None:
        value = min(1.0, (self.base + 0.7 * self.pulse * self.transient_gain) * self.level)
        surface.fill((int(255 * value),) * 3)


@settings(max_examples=25, deadline=None)
@given(steps=st.lists(st.tuples(st.floats(0.0, 1.0), st.floats(0.0, 1.0), st.booleans(), st.integers(1, 6)),
                      min_size=4, max_size=40),
       limit=st.sampled_from([3.0, 2.0]))
def test_guard_on_random_pictures(steps: list[tuple[float, float, bool, int]], limit: float) -> None:
    """Random bases, pulses and blackouts held for random numbers of frames: never over the limit."""
    scene, surface = Field(), pygame.Surface((32, 18))
    guard = ScreenFlashGuard((32, 18), limit)
    rows, k = [], 0
    for base, pulse, black, frames in steps * 3:
        scene.base, scene.pulse = base, pulse
        for _ in range(frames):
            guard.draw(scene, surface, k / FPS, black=black)
            rows.append(region_luminance(pygame.surfarray.array3d(surface), guard.regions))
            k += 1
    assert count_flashes(np.array(rows), FPS).max() <= limit
