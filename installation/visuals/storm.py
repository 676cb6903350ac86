"""A scripted worst case for the screen's flash safety, and rendering it.

The scene is fed the snapshots a show would send (:class:`~installation.visuals.feed.Snapshot`)
for the worst the show allows: every wearer's heart at 180 bpm, out of phase, the
group in full synchrony (the field at its brightest), group flares four times a
second, and an operator hammering the blackout key (five times on and off a
second). :func:`render_storm` draws it frame by frame in this process, with or
without the flash guard, and measures every frame's quarter-screen regions at full
resolution, for the tests and ``python -m installation.bench.flashes``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from installation.visuals.feed import Snapshot


@dataclass(frozen=True, slots=True)
class Storm:
    """What the scripted audience and operator do (seconds, beats per minute, hertz)."""

    wearers: int = 8
    bpm: float = 180.0
    bright: bool = True
    flare_hz: float = 4.0
    flare_from_s: float = 1.0
    blackout_hz: float = 5.0
    blackout_from_s: float = 2.5
    blackout_until_s: float = 4.5


def storm_frames(storm: Storm, seconds: float, fps: float) -> Iterator[tuple[float, Snapshot, bool]]:
    """Each frame's (time in s, the snapshot the show would have sent, the operator's blackout)."""
    wearers = [f"p{i + 1}" for i in range(storm.wearers)]
    period_s = 60.0 / storm.bpm
    counts = {f"{w}.pulse": 0 for w in wearers} | {"flare": 0}
    values = {"sync": 1.0, "bloom": 1.0} if storm.bright else {}
    for k in range(int(round(seconds * fps))):
        t = k / fps
        for i, w in enumerate(wearers):
            since_s = t - i * period_s / len(wearers)  # out of phase: evenly spread over a beat
            counts[f"{w}.pulse"] = int(since_s // period_s) + 1 if since_s >= 0 else 0
        if storm.flare_hz > 0 and t >= storm.flare_from_s:
            counts["flare"] = int((t - storm.flare_from_s) * storm.flare_hz) + 1
        black = (storm.blackout_hz > 0 and storm.blackout_from_s <= t < storm.blackout_until_s
                 and int((t - storm.blackout_from_s) * 2 * storm.blackout_hz) % 2 == 0)
        snapshot = Snapshot(t, dict(values), dict(counts), {a: 1.0 for a in counts}, {a: t for a in counts})
        yield t, snapshot, black


@dataclass(slots=True)
class StormRender:
    """What a storm looked like: each frame's mean relative luminance per region, and the cost."""

    fps: float
    luminance: np.ndarray  # (frames, regions)
    draw_s: list[float] = field(default_factory=list)  # drawing (and guarding) each frame
    guard: dict[str, float] = field(default_factory=dict)


def render_storm(storm: Storm, size_px: tuple[int, int] = (320, 180), seconds: float = 6.0, fps: float = 60.0,
                 guarded: bool = True, max_flashes_per_s: float = 3.0) -> StormRender:
    """Draw ``seconds`` of ``storm`` at ``fps`` (with the flash guard when ``guarded``) and measure every frame."""
    import pygame

    from installation.visuals.feed import SceneFeed
    from installation.visuals.flash_guard import ScreenFlashGuard, quarter_regions, region_luminance
    from installation.visuals.scene import BioluminescentScene

    scene = BioluminescentScene(size_px, [f"p{i + 1}" for i in range(storm.wearers)])
    feed = SceneFeed(scene)
    surface = pygame.Surface(size_px)
    guard = ScreenFlashGuard(size_px, max_flashes_per_s) if guarded else None
    regions = quarter_regions()
    rows = []
    out = StormRender(fps, np.empty((0, len(regions))))
    for t, snapshot, black in storm_frames(storm, seconds, fps):
        feed.apply(snapshot, t)
        scene.update(1.0 / fps)
        started = time.perf_counter()
        if guard is not None:
            guard.draw(scene, surface, t, black=black)
        elif black:
            surface.fill((0, 0, 0))
        else:
            scene.draw(surface)
        out.draw_s.append(time.perf_counter() - started)
        rows.append(region_luminance(pygame.surfarray.array3d(surface), regions))  # every pixel
    out.luminance = np.array(rows)
    if guard is not None:
        out.guard = guard.report()
    return out
