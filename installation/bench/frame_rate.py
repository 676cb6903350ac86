"""``ecosymphony bench visuals``: how fast the scene draws, and how soon a beat is on screen.

Two measurements, one after the other:

frames
    The default scene drawn as fast as it goes in this process, pinned to one
    core, with SDL's dummy video driver (the same pixels as a window, without a
    screen's vsync): every wearer beating at their own rate, colours, stress,
    threads and the field's synchrony moving. Each frame's time is the scene's
    update, its drawing and the flip.
event -> frame
    A real session: a simulated audience (in memory) -> reader thread -> core
    thread -> mapper (``p*.heart.beat`` -> ``visual.p*.pulse``) -> snapshot ->
    the visuals process (dummy driver, a frame drawn every 1/60 s, a beat drawn
    at once). Each beat's latency runs from the arrival of the sensor block that
    completed it (its time stamp travels in the snapshot) to the end of the flip
    of the first frame that shows it.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import numpy as np

from installation.bench import BenchError

#: Target figures (DESIGN: visuals at 1280x720 with 8 wearers; event -> frame within a 60 Hz frame).
TARGETS = {"fps": 60.0, "frame_p99_ms": 20.0, "latency_p99_ms": 1000.0 / 60.0}


@dataclass(slots=True)
class VisualsReport:
    """Figures of one ``bench visuals`` run (times in milliseconds)."""

    participants: int
    size_px: tuple[int, int]
    seconds: float
    cpu: int | None
    frames: int = 0
    fps: float = math.nan
    frame_p50_ms: float = math.nan
    frame_p99_ms: float = math.nan
    frame_max_ms: float = math.nan
    latency_events: int = 0
    latency_p50_ms: float = math.nan
    latency_p99_ms: float = math.nan
    latency_max_ms: float = math.nan
    arrival_p50_ms: float = math.nan
    arrival_p99_ms: float = math.nan
    renderer_fps: float = math.nan
    notes: list[str] = field(default_factory=list)

    def targets_met(self) -> dict[str, bool]:
        return {"fps": self.fps >= TARGETS["fps"], "frame_p99_ms": self.frame_p99_ms <= TARGETS["frame_p99_ms"],
                "latency_p99_ms": self.latency_p99_ms <= TARGETS["latency_p99_ms"]}

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["size_px"] = list(self.size_px)
        out["targets"] = TARGETS
        out["targets_met"] = self.targets_met()
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in out.items()}


def _pin_to_one_core() -> tuple[int | None, set[int] | None]:
    """Pin this process to one core (the last it may use); return (core, the affinity before)."""
    if not hasattr(os, "sched_setaffinity"):
        return None, None
    before = os.sched_getaffinity(0)
    cpu = max(before)
    os.sched_setaffinity(0, {cpu})
    return cpu, before


def measure_frames(participants: int, size_px: tuple[int, int], seconds: float,
                   flash_limit: bool = False, guard_report: dict[str, float] | None = None) -> tuple[list[float], float]:
    """Draw the scene as fast as it goes for ``seconds``; return (frame times in s, wall seconds).

    ``flash_limit``: through the flash guard, as the visuals process draws by default;
    its figures go into ``guard_report`` when given.
    """
    os.environ["SDL_VIDEODRIVER"] = "dummy"
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    import pygame

    from installation.visuals.flash_guard import ScreenFlashGuard
    from installation.visuals.scene import BioluminescentScene

    pygame.display.init()
    try:
        screen = pygame.display.set_mode(size_px)
        wearers = [f"p{i + 1}" for i in range(participants)]
        scene = BioluminescentScene(size_px, wearers)
        guard = ScreenFlashGuard(size_px) if flash_limit else None
        rng = np.random.default_rng(1)
        periods_s = rng.uniform(0.6, 1.0, participants)  # 60-100 bpm
        next_beat_s = rng.uniform(0.0, 1.0, participants)
        pairs = scene.pairs
        lit = set(range(0, len(pairs), 5))  # one pair in five falls into step now and then
        times: list[float] = []
        t_show_s = 0.0
        last = started = time.perf_counter()
        while last - started < seconds:
            frame_start = time.perf_counter()
            dt_s = frame_start - last
            last = frame_start
            t_show_s += dt_s
            for i, w in enumerate(wearers):
                if t_show_s >= next_beat_s[i]:
                    next_beat_s[i] += periods_s[i]
                    scene.trigger(f"{w}.pulse", 1.0)
                scene.set(f"{w}.hue", 0.5 + 0.45 * (0.5 + 0.5 * math.sin(0.1 * t_show_s + i)))
                scene.set(f"{w}.stress", max(0.0, math.sin(0.07 * t_show_s + 2 * i)))
            for k in lit:
                scene.set(f"thread.{pairs[k][0]}.{pairs[k][1]}", 0.5 + 0.5 * math.sin(0.3 * t_show_s + k))
            scene.set("sync", 0.5 + 0.5 * math.sin(0.05 * t_show_s))
            scene.update(dt_s)
            if guard is not None:
                guard.draw(scene, screen, t_show_s)
            else:
                scene.draw(screen)
            pygame.display.flip()
            times.append(time.perf_counter() - frame_start)
        if guard is not None and guard_report is not None:
            guard_report.update(guard.report())
        return times, time.perf_counter() - started
    finally:
        pygame.display.quit()


def measure_event_to_frame(participants: int, size_px: tuple[int, int], seconds: float) -> dict[str, Any]:
    """A real session with a simulated audience and the visuals process; the renderer's final report."""
    from installation.config import SimulatedSource, default_show_path, parse_show
    from installation.runtime.launch import prepare_show
    from installation.sensors.factory import source_from_config
    from installation.runtime.session import Session
    from installation.visuals.process import Renderer, RendererSettings

    text = (
        '[show]\ntitle = "bench visuals"\n[sound]\npatch = "eco_symphony.py"\n'
        '[[mappings]]\nfrom = "p*.heart.beat"\nto = "visual.p*.pulse"\n'
        '[[mappings]]\nfrom = "p*.quality"\nto = "visual.p*.presence"\n'
        '[[mappings]]\nfrom = "group.sync.p*.p*"\nto = "visual.thread.p*.p*"\n'
    )

    prepared = prepare_show(parse_show(text, "bench visuals", default_show_path()))
    wearers = [f"p{i + 1}" for i in range(participants)]
    renderer = Renderer(RendererSettings(wearers, size_px, fps=60, headless=True, draw_every_frame=True))
    audience = source_from_config(SimulatedSource(wearers=participants, seed=5))
    session = Session(prepared.show, prepared.mapper, [audience], wearers, None, renderer)
    session.start()
    try:
        if renderer.wait_started() is None:
            raise BenchError("the visuals process did not start")
        session.run(seconds)
    finally:
        session.stop()
    report = renderer.stopped_report()
    if not report:
        raise BenchError("the visuals process did not report (did it crash?)")
    return report


def bench_visuals(participants: int = 8, size_px: tuple[int, int] = (1280, 720), seconds: float = 10.0,
                  notify: Callable[[str], None] = lambda line: None) -> VisualsReport:
    """Run both measurements and return their figures."""
    cpu, before = _pin_to_one_core()
    report = VisualsReport(participants, size_px, seconds, cpu)
    try:
        notify(f"frames: {participants} wearers at {size_px[0]}x{size_px[1]}, {seconds:g} s, one core (cpu {cpu})...")
        times, wall_s = measure_frames(participants, size_px, seconds)
    finally:
        if before is not None:
            os.sched_setaffinity(0, before)
    ms = np.asarray(times) * 1000.0
    report.frames = len(times)
    report.fps = len(times) / wall_s if wall_s > 0 else math.nan
    report.frame_p50_ms, report.frame_p99_ms = (float(v) for v in np.quantile(ms, [0.5, 0.99]))
    report.frame_max_ms = float(ms.max())
    notify(f"event -> frame: a session with {participants} simulated wearers and the visuals process, {seconds:g} s...")
    final = measure_event_to_frame(participants, size_px, seconds)
    latencies = np.asarray(final.get("latencies_ms", []), dtype=float)
    report.latency_events = int(latencies.size)
    if latencies.size:
        report.latency_p50_ms, report.latency_p99_ms = (float(v) for v in np.quantile(latencies, [0.5, 0.99]))
        report.latency_max_ms = float(latencies.max())
        arrivals = np.asarray(final.get("arrivals_ms", []), dtype=float)
        if arrivals.size:
            report.arrival_p50_ms, report.arrival_p99_ms = (float(v) for v in np.quantile(arrivals, [0.5, 0.99]))
    else:
        report.notes.append("no beat reached the screen (too short a run? the detector learns for about 4 s)")
    if final.get("seconds"):
        report.renderer_fps = final["frames_drawn"] / final["seconds"]
    return report
