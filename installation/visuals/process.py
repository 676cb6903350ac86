"""The visuals process: draws the newest parameter snapshot at its own frame rate.

The show's process never waits for it: it pushes compact snapshots into a small
queue and drops them when the queue is full (trigger counts are cumulative, so a
dropped snapshot loses no beat). A crash here cannot stop the sound; the session
starts a new process (:meth:`Renderer.restart`) when this one dies.

The scene's motion follows the show's animation clock, read in each snapshot
(:class:`~installation.visuals.scene_clock.SceneClock`) and extrapolated to each
frame's moment, as render nodes do: the conductor's window and its nodes show the
same scene time. Headless, a frame is saved at each multiple of ``frame_every_s``
of scene time (with its reading as ``frame_NNNNN.json``), as a node saves its own.
"""

from __future__ import annotations

import json
import logging
import math
import multiprocessing as mp
import os
import queue
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from installation.visuals.feed import Snapshot
from installation.visuals.scene_clock import SceneClock

__all__ = ["Renderer", "RendererSettings", "Snapshot", "renderer_main"]

log = logging.getLogger(__name__)

#: SDL video drivers that draw into memory, not onto a screen.
WINDOWLESS_DRIVERS = frozenset({"dummy", "offscreen"})


@dataclass(frozen=True, slots=True)
class RendererSettings:
    """What the visuals process needs to know.

    Attributes
    ----------
    wearers : list of str
        Wearer slots, one organism each.
    size_px : tuple of int
        Window or frame size (width, height) in pixels (fullscreen: the display's own size).
    fps : int
        Target frames per second.
    headless : bool
        No display: draw with SDL's dummy driver and save PNG frames.
    frames_dir : Path, optional
        Where PNG frames go when headless.
    frame_every_s : float
        Seconds between saved PNG frames.
    fullscreen : bool
        Fullscreen window (ignored when headless).
    display_index : int
        Which display the window opens on (0: the first).
    title : str
        Window title.
    draw_every_frame : bool
        Headless: draw every frame even when none is saved (benchmarks).
    blackout : bool
        Start blacked out (a restarted window keeps the operator's blackout).
    overlay : bool
        Start with the operator overlay shown.
    flash_limit : bool
        Hold back what would flash (:mod:`installation.visuals.flash_guard`).
    max_flashes_per_s : float
        Flashes allowed per second in any quarter of the screen (above 0, at most 3).
    """

    wearers: list[str]
    size_px: tuple[int, int] = (1280, 720)
    fps: int = 60
    headless: bool = False
    frames_dir: Path | None = None
    frame_every_s: float = 1.0
    fullscreen: bool = False
    display_index: int = 0
    title: str = "Eco-Symphony"
    draw_every_frame: bool = False
    blackout: bool = False
    overlay: bool = False
    flash_limit: bool = True
    max_flashes_per_s: float = 3.0


def _open_window(settings: RendererSettings, status: Any) -> tuple[Any, bool]:
    """Open the window (or the dummy driver's surface); return (screen, headless)."""
    import pygame

    try:
        pygame.display.init()
        if settings.headless:
            return pygame.display.set_mode(settings.size_px), True
        displays = pygame.display.get_num_displays()
        index = settings.display_index
        if not 0 <= index < displays:
            status.put({"kind": "warning",
                        "message": f"visual.display = {index} but SDL sees {displays} display(s); using display 0"})
            index = 0
        if settings.fullscreen:
            size = pygame.display.get_desktop_sizes()[index]
            screen = pygame.display.set_mode(size, pygame.FULLSCREEN, display=index)
        else:
            screen = pygame.display.set_mode(settings.size_px, pygame.RESIZABLE, display=index)
        if pygame.display.get_driver() in WINDOWLESS_DRIVERS:
            raise pygame.error(f"no display reachable (SDL chose its {pygame.display.get_driver()} driver)")
        return screen, False
    except pygame.error as exc:
        if settings.headless:
            raise
        status.put({"kind": "fallback", "reason": str(exc)})
        pygame.display.quit()
        os.environ["SDL_VIDEODRIVER"] = "dummy"
        pygame.display.init()
        return pygame.display.set_mode(settings.size_px), True


def quantile_ms(values_s: list[float], q: float) -> float:
    """Quantile ``q`` (0..1, nearest rank) of durations in seconds, in milliseconds; NaN when empty."""
    if not values_s:
        return float("nan")
    ordered = sorted(values_s)
    return 1000.0 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def renderer_main(
    settings: RendererSettings,
    snapshots: Any,
    stop: Any,
    quit_requested: Any,
    status: Any,
    parent_pid: int,
    commands: Any = None,
) -> None:
    """Entry point of the visuals process (runs until ``stop`` is set or Esc is pressed).

    ``commands``: a queue of the show's orders to the window (``"blackout:on"``,
    ``"blackout:off"``), carried out at the next frame.

    Frames are paced at ``settings.fps``; a snapshot that brings a new trigger (a
    heartbeat) is drawn at once instead of at the next tick, so a beat reaches the
    screen within a frame's drawing time of arriving. Each trigger's latency (its
    sensor event's time stamp to the end of the flip that first showed it) is kept
    and reported when the process stops.
    """
    # Ctrl-C in the terminal reaches the whole process group: the show's process
    # decides when the visuals stop, so the interrupt is not ours to act on.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    if settings.headless:
        os.environ["SDL_VIDEODRIVER"] = "dummy"
    import pygame

    from installation.visuals.controls import Controls, action_for_key
    from installation.visuals.feed import SceneFeed
    from installation.visuals.flash_guard import ScreenFlashGuard
    from installation.visuals.overlay import draw_overlay, overlay_font
    from installation.visuals.scene import BioluminescentScene

    screen, headless = _open_window(settings, status)
    pygame.display.set_caption(settings.title)
    if not headless:
        pygame.mouse.set_visible(False)
    status.put({"kind": "started", "driver": pygame.display.get_driver(), "headless": headless,
                "size": list(screen.get_size()), "pid": os.getpid()})
    scene = BioluminescentScene(screen.get_size(), settings.wearers)
    feed = SceneFeed(scene)
    controls = Controls(overlay=settings.overlay, blackout=settings.blackout)
    guard = ScreenFlashGuard(screen.get_size(), settings.max_flashes_per_s) if settings.flash_limit else None
    font = overlay_font(screen.get_height())
    frames_written = 0
    frames_drawn = 0
    latencies_s: list[float] = []
    frame_times_s: list[float] = []
    recent_frames_s: list[float] = []
    next_save_s = 0.0
    period_s = 1.0 / settings.fps
    started = time.perf_counter()
    last_s = started
    next_frame_s = started
    if headless and settings.frames_dir is not None:
        settings.frames_dir.mkdir(parents=True, exist_ok=True)
    draws = not headless or settings.draw_every_frame
    anchor: SceneClock | None = None  # the show's animation clock, read at anchor_stamp_s (the show's clock)
    anchor_stamp_s = 0.0
    last_saved: int | None = None  # the scene-time bucket last saved (following the show's clock)
    while not stop.is_set() and os.getppid() == parent_pid:
        urgent = False
        while not urgent:  # wait for news until the frame is due; a new beat is drawn at once
            timeout_s = next_frame_s - time.perf_counter()
            try:
                snap = snapshots.get(timeout=timeout_s) if timeout_s > 0 else snapshots.get_nowait()
            except queue.Empty:
                break
            urgent = feed.apply(snap, time.perf_counter()) and draws
            if snap.scene_clock is not None:
                anchor, anchor_stamp_s = snap.scene_clock, snap.stamp_s
        while commands is not None:
            try:
                command = commands.get_nowait()
            except (queue.Empty, ValueError, OSError, EOFError):
                break
            if command in ("blackout:on", "blackout:off"):
                controls.blackout = command == "blackout:on"
        for event in pygame.event.get():
            action = None
            if event.type == pygame.QUIT:
                action = "quit"
            elif event.type == pygame.KEYDOWN:
                action = action_for_key(event.key)
            elif event.type == pygame.VIDEORESIZE and not headless:
                screen = pygame.display.get_surface()
                scene.resize(screen.get_size())
                if guard is not None:
                    guard.resize(screen.get_size())
                font = overlay_font(screen.get_height())
            if action is None:
                continue
            if action == "quit":
                quit_requested.set()
                continue
            request = controls.handle(action)
            if request is not None:
                status.put({"kind": "request", "request": request})
        frame_start_s = time.perf_counter()
        saving = headless and settings.frames_dir is not None
        reading: SceneClock | None = None
        if anchor is not None:  # the show's clock (perf_counter and the show's monotonic clock are one on Linux)
            reading = anchor.at(anchor.time_s + frame_start_s - anchor_stamp_s)
            k = math.floor(reading.time_s / settings.frame_every_s)
            save = saving and (last_saved is None or k > last_saved)
            if save:
                last_saved = k
                reading = anchor.at(k * settings.frame_every_s)
            scene.follow(reading.time_s, reading.sway_s, reading.rise)
        else:
            scene.update(frame_start_s - last_s)
            save = saving and frame_start_s - started >= next_save_s
        last_s = frame_start_s
        if draws or save:
            if guard is not None:
                try:
                    guard.draw(scene, screen, frame_start_s, black=controls.blackout)
                except (pygame.error, ValueError) as exc:  # a surface it cannot read: never stop the picture for it
                    status.put({"kind": "warning", "message": f"flash guard: {exc}; drawing without it"})
                    guard = None
                    scene.transient_gain = scene.level = 1.0
            if guard is None:
                if controls.blackout:
                    screen.fill((0, 0, 0))
                else:
                    scene.draw(screen)
            if controls.overlay:
                span_s = recent_frames_s[-1] - recent_frames_s[0] if len(recent_frames_s) > 2 else 0.0
                fps = (len(recent_frames_s) - 1) / span_s if span_s > 0 else float("nan")
                draw_overlay(screen, font, feed.status, fps, quantile_ms(latencies_s[-120:], 0.5))
            if not headless:
                pygame.display.flip()
            shown_s = time.perf_counter()
            frames_drawn += 1
            latencies_s += feed.take_shown(shown_s)
            frame_times_s.append(shown_s - frame_start_s)
            recent_frames_s.append(shown_s)
            del recent_frames_s[:-60]
            if save:
                assert settings.frames_dir is not None
                frames_written += 1
                path = settings.frames_dir / f"frame_{frames_written:05d}.png"
                pygame.image.save(screen, str(path))
                next_save_s += settings.frame_every_s
                if reading is not None:
                    path.with_suffix(".json").write_text(json.dumps(
                        {"index": last_saved, "scene_time_s": reading.time_s, "sway_s": reading.sway_s,
                         "rise": reading.rise, "drift": reading.drift_shown}))
        else:
            feed.take_shown(frame_start_s)  # nothing is drawn: nothing to time
        next_frame_s = max(next_frame_s + period_s, frame_start_s + (period_s if urgent else 0.0))
    status.put({"kind": "stopped", "frames_written": frames_written, "frames_drawn": frames_drawn,
                "seconds": time.perf_counter() - started,
                "latencies_ms": [1000.0 * v for v in latencies_s[-20000:]],
                "frame_times_ms": [1000.0 * v for v in frame_times_s[-20000:]],
                "arrivals_ms": [1000.0 * v for v in feed.arrival_delays_s[-20000:]],
                **(guard.report() if guard is not None else {})})
    pygame.display.quit()


class Renderer:
    """Parent-side handle on the visuals process.

    Parameters
    ----------
    settings : RendererSettings
        Passed to the process.
    """

    def __init__(self, settings: RendererSettings) -> None:
        self.settings = settings
        self._ctx = mp.get_context("spawn")
        self.dropped = 0
        self.restarts = 0
        self.reports: list[dict[str, Any]] = []
        self._make_process(settings)

    def _make_process(self, settings: RendererSettings) -> None:
        ctx = self._ctx
        self._snapshots = ctx.Queue(maxsize=8)
        self._status = ctx.Queue()
        self._stop = ctx.Event()
        self._quit = ctx.Event()
        self._commands = ctx.Queue()
        self._process = ctx.Process(
            target=renderer_main,
            args=(settings, self._snapshots, self._stop, self._quit, self._status, os.getpid(), self._commands),
            name="ecosymphony-visuals",
            daemon=True,
        )

    def start(self) -> None:
        """Start the visuals process."""
        self._process.start()

    def restart(self, blackout: bool = False) -> None:
        """Start a new visuals process in place of one that died (``blackout``: start black)."""
        if self._process.is_alive():
            raise RuntimeError("the visuals process is still running; stop it before restarting")
        self._process.join(timeout=0.1)
        old = (self._snapshots, self._status, self._commands)
        self.poll_status()
        self.settings = _replace(self.settings, blackout=blackout)
        self._make_process(self.settings)
        for q in old:  # nobody reads these any more: do not wait for their feeder threads
            q.cancel_join_thread()
            q.close()
        self.restarts += 1
        self._process.start()

    @property
    def pid(self) -> int | None:
        """Process id of the visuals process (None before it starts)."""
        return self._process.pid

    @property
    def exitcode(self) -> int | None:
        return self._process.exitcode

    @property
    def quit_requested(self) -> bool:
        """True once the operator pressed Esc or closed the window."""
        return self._quit.is_set()

    @property
    def alive(self) -> bool:
        return self._process.is_alive()

    @property
    def started(self) -> bool:
        """True once the process was started (it may have ended since)."""
        return self._process.pid is not None

    def push(self, snapshot: Snapshot) -> None:
        """Hand a snapshot over without waiting; dropped if the process lags (or is being replaced)."""
        try:
            self._snapshots.put_nowait(snapshot)
        except (queue.Full, ValueError, OSError, AssertionError):
            self.dropped += 1

    def command(self, command: str) -> None:
        """Give the window an order (``"blackout:on"``, ``"blackout:off"``); never waits."""
        try:
            self._commands.put_nowait(command)
        except (queue.Full, ValueError, OSError, AssertionError):
            log.warning("visuals: could not send %r to the window", command)

    def poll_status(self) -> list[dict[str, Any]]:
        """Status reports that arrived since the last call."""
        fresh = []
        while True:
            try:
                fresh.append(self._status.get_nowait())
            except (queue.Empty, ValueError, OSError, EOFError):
                break
        self.reports.extend(fresh)
        return fresh

    def poll_requests(self) -> list[str]:
        """Operator requests from the window since the last call (``"rebaseline"`` on key B,
        ``"panic"`` on P, ``"blackout:on"``/``"blackout:off"`` on K, ``"scene:N"`` on 0-9)."""
        fresh = self.poll_status()
        for r in fresh:
            if r["kind"] in ("warning", "fallback"):
                log.warning("visuals: %s", r.get("message") or f"no window ({r.get('reason')}); drawing headless")
        return [r["request"] for r in fresh if r["kind"] == "request"]

    def wait_started(self, timeout_s: float = 20.0) -> dict[str, Any] | None:
        """Wait for the process to report its video driver; None if it did not."""
        deadline = time.monotonic() + timeout_s
        while True:
            self.poll_status()
            mine = next((r for r in reversed(self.reports) if r["kind"] == "started" and r.get("pid") == self._process.pid), None)
            if mine is not None or time.monotonic() >= deadline or not self._process.is_alive():
                return mine
            time.sleep(0.02)

    def stop(self, timeout_s: float = 5.0) -> None:
        """Ask the process to finish, wait for it, and end it if it does not."""
        self._stop.set()
        deadline = time.monotonic() + timeout_s
        while self._process.is_alive() and time.monotonic() < deadline:
            self.poll_status()
            self._process.join(timeout=0.05)
        if self._process.is_alive():
            log.warning("visuals process did not stop in %.1f s; terminating it", timeout_s)
            self._process.terminate()
            self._process.join(timeout=2.0)
        self.poll_status()
        crashed = self._process.exitcode not in (0, None)
        for q in (self._snapshots, self._status, self._commands):
            if crashed:
                q.cancel_join_thread()  # its reader is gone: what is left in the pipe stays there
            q.close()
            if not crashed:
                q.join_thread()  # the feeder thread ends once its few small items are in the pipe

    def stopped_report(self) -> dict[str, Any]:
        """The last process's final report (frames written and drawn, latencies), or an empty dict."""
        return next((r for r in reversed(self.reports) if r["kind"] == "stopped"), {})


def _replace(settings: RendererSettings, **changes: Any) -> RendererSettings:
    from dataclasses import replace

    return replace(settings, **changes)
