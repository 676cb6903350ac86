"""Flashes per second at worst, on the screen and on a lighting rig, with the limiter on and off, and its cost.

    python -m installation.bench.flashes [--size 1280x720] [--seconds 6] [--frame-seconds 8] [--json]

screen
    The scripted worst case of :mod:`installation.visuals.storm` (8 hearts at
    180 bpm out of phase, the group in full synchrony, group flares 4 times a
    second, the operator's blackout hammered 5 times on and off a second for 2 s),
    and the same without the blackout (hearts and flares alone), drawn at 60 fps
    with and without the flash guard; every frame's ten quarter-screen regions
    measured at full resolution, and the flashes in the worst second of each
    region counted (:func:`installation.dsp.flash.count_flashes`).
frame cost
    The frame-rate benchmark's scene (``bench visuals``: 8 wearers at 60-100 bpm,
    1280x720, one core) drawn with and without the guard, interleaved, a few
    seconds each; and the guard's measurement of one frame alone.
lights
    8 RGB washes, each pulsing with its own heart at 180 bpm, and a group flare on
    all of them 4 times a second (:func:`installation.lights.storm.rig_storm`), at
    40 Hz, through a :class:`~installation.dsp.flash.FlashLimiter` per wash,
    measured on the 8-bit frames a universe would carry; the limiter's cost per
    frame for the 8 washes and for 512 channels (a universe of single-channel
    fixtures, the worst a rig asks of it).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from typing import Any

import numpy as np

from installation.dsp.flash import FlashLimiter, count_flashes, fixture_brightness
from installation.lights.storm import rig_storm, to_dmx

FPS = 60.0
DMX_RATE_HZ = 40.0
REGION_NAMES = ["top left", "top middle", "top right", "middle left", "centre", "middle right",
                "bottom left", "bottom middle", "bottom right", "whole screen"]


def screen_figures(size_px: tuple[int, int], seconds: float) -> dict[str, Any]:
    """Worst flashes per second of each region, with and without the guard, for both storms."""
    from installation.visuals.storm import Storm, render_storm

    out: dict[str, Any] = {}
    for name, storm in (("storm", Storm()), ("hearts_and_flares", Storm(blackout_hz=0.0))):
        for guarded in (False, True):
            r = render_storm(storm, size_px, seconds, FPS, guarded=guarded)
            worst = count_flashes(r.luminance, FPS).max(axis=0)
            key = f"{name}_{'guarded' if guarded else 'unguarded'}"
            out[key] = {"worst_per_region": dict(zip(REGION_NAMES, worst.tolist())), "worst": float(worst.max()),
                        "draw_p50_ms": 1000 * float(np.median(r.draw_s)), **r.guard}
    return out


def frame_cost(size_px: tuple[int, int], seconds: float) -> dict[str, float]:
    """Frame times (ms) of the frame-rate benchmark's scene without and with the guard, and one measurement alone."""
    os.environ["SDL_VIDEODRIVER"] = "dummy"
    import pygame

    from installation.bench.frame_rate import _pin_to_one_core, measure_frames
    from installation.visuals.flash_guard import ScreenFlashGuard

    cpu, before = _pin_to_one_core()
    runs: dict[bool, list[float]] = {False: [], True: []}
    figures: dict[str, float] = {}
    try:
        for _ in range(2):
            for on in (False, True):
                times, _ = measure_frames(8, size_px, seconds / 4, flash_limit=on, guard_report=figures)
                runs[on] += times
        pygame.display.init()
        try:
            surface = pygame.Surface(size_px)
            surface.fill((20, 40, 80))
            guard = ScreenFlashGuard(size_px)
            started = time.perf_counter()
            for _ in range(200):
                guard.measure(surface)
            measure_ms = 1000 * (time.perf_counter() - started) / 200
        finally:
            pygame.display.quit()
    finally:
        if before is not None:
            os.sched_setaffinity(0, before)
    off, on = np.array(runs[False]) * 1000, np.array(runs[True]) * 1000
    return {"cpu": cpu if cpu is not None else math.nan,
            "off_p50_ms": float(np.median(off)), "off_p99_ms": float(np.quantile(off, 0.99)),
            "on_p50_ms": float(np.median(on)), "on_p99_ms": float(np.quantile(on, 0.99)),
            "off_fps": 1000 / float(np.mean(off)), "on_fps": 1000 / float(np.mean(on)), "measure_ms": measure_ms,
            "guard_ms_per_frame": figures["flash_guard_ms_per_frame"],
            "guard_limited_frames": figures["flash_limited_frames"]}


def lights_figures(seconds: float) -> dict[str, Any]:
    """Worst flashes per second of 8 washes through the limiter and without, and its cost per frame."""
    wanted = rig_storm(DMX_RATE_HZ, seconds)
    colours = np.array([[0.2, 0.6, 1.0], [1.0, 0.2, 0.4], [0.1, 1.0, 0.5], [0.9, 0.9, 0.2]] * 2)
    limiter = FlashLimiter(8)
    frames = []
    for k, levels in enumerate(wanted):
        rgb = colours * levels[:, None]
        limiter.limit(fixture_brightness(rgb), k / DMX_RATE_HZ)
        frames.append(to_dmx(rgb * limiter.scale[:, None]))
    unlimited = fixture_brightness(to_dmx(colours * wanted[:, :, None]) / 255.0)
    limited = fixture_brightness(np.array(frames) / 255.0)
    cost_us = {}
    for channels in (8, 512):
        lim = FlashLimiter(channels)
        stream = np.tile(wanted, (1, channels // 8))
        started = time.perf_counter()
        for k, frame in enumerate(stream):
            lim.limit(frame, k / DMX_RATE_HZ)
        cost_us[channels] = 1e6 * (time.perf_counter() - started) / len(stream)
    return {"unlimited_worst_per_wash": count_flashes(unlimited, DMX_RATE_HZ).max(axis=0).tolist(),
            "limited_worst_per_wash": count_flashes(limited, DMX_RATE_HZ).max(axis=0).tolist(),
            "limiter_us_per_frame_8": cost_us[8], "limiter_us_per_frame_512": cost_us[512]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="1280x720", help="frame size WIDTHxHEIGHT (default 1280x720)")
    parser.add_argument("--seconds", type=float, default=6.0, help="seconds of each storm (default 6)")
    parser.add_argument("--frame-seconds", type=float, default=8.0,
                        help="seconds of drawing for the frame cost, half with the guard (default 8)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    report = {"size_px": [w, h], "screen": screen_figures((w, h), args.seconds),
              "frame_cost": frame_cost((w, h), args.frame_seconds), "lights": lights_figures(args.seconds)}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"Flashes per second at worst (limit 3), screen {w}x{h} at {FPS:g} fps, {args.seconds:g} s of each storm:")
    s = report["screen"]
    print(f"  {'region':<14} {'storm, off':>11} {'storm, on':>10} {'hearts+flares, off':>19} {'on':>4}")
    for name in REGION_NAMES:
        print(f"  {name:<14} {s['storm_unguarded']['worst_per_region'][name]:>11.1f} "
              f"{s['storm_guarded']['worst_per_region'][name]:>10.1f} "
              f"{s['hearts_and_flares_unguarded']['worst_per_region'][name]:>19.1f} "
              f"{s['hearts_and_flares_guarded']['worst_per_region'][name]:>4.1f}")
    g = s["storm_guarded"]
    print(f"  storm, guarded: {g['flash_limited_frames']} of {g['flash_frames']} frames held back, "
          f"{g['flash_redraws']} extra draws")
    c = report["frame_cost"]
    print(f"Frame time, 8 wearers at {w}x{h}, one core (cpu {c['cpu']}): without the guard p50 {c['off_p50_ms']:.2f} ms, "
          f"p99 {c['off_p99_ms']:.2f} ms ({c['off_fps']:.0f} fps); with it p50 {c['on_p50_ms']:.2f} ms, "
          f"p99 {c['on_p99_ms']:.2f} ms ({c['on_fps']:.0f} fps); the guard's own work {c['guard_ms_per_frame']:.3f} ms "
          f"a frame ({c['guard_limited_frames']} frames held back), one measurement {c['measure_ms']:.3f} ms")
    li = report["lights"]
    print(f"Lights, 8 washes at 180 bpm + group flares 4/s, {DMX_RATE_HZ:g} Hz, 8-bit: worst per wash without the "
          f"limiter {max(li['unlimited_worst_per_wash']):.1f}, with it {max(li['limited_worst_per_wash']):.1f}; "
          f"limiter {li['limiter_us_per_frame_8']:.0f} us a frame for 8 fixtures, "
          f"{li['limiter_us_per_frame_512']:.0f} us for 512 channels")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
