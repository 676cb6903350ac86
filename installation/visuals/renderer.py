"""The visuals process: draws the newest parameter snapshot at its own frame rate.

The show's process never waits for it: it pushes compact snapshots into a small
queue and drops them when the queue is full (trigger counts are cumulative, so a
dropped snapshot loses no beat). A crash here cannot stop the sound.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import queue
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
        Window or frame size (width, height) in pixels.
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
    title : str
        Window title.
    """

    wearers: list[str]
    size_px: tuple[int, int] = (1280, 720)
    fps: int = 60
    headless: bool = False
    frames_dir: Path | None = None
    frame_every_s: float = 1.0
    fullscreen: bool = False
    title: str = "Eco-Symphony"


@dataclass(slots=True)
class Snapshot:
    """Compact state sent to the visuals process.

    Attributes
    ----------
    stamp_s : float
        Monotonic time in seconds when the snapshot was made.
    values : dict
        Continuous visual parameters (address without ``visual.``) -> value.
    trigger_counts : dict
        Trigger address -> number of times fired since the start.
    trigger_values : dict
        Trigger address -> value of the latest firing.
    """

    stamp_s: float
    values: dict[str, float] = field(default_factory=dict)
    trigger_counts: dict[str, int] = field(default_factory=dict)
    trigger_values: dict[str, float] = field(default_factory=dict)


def renderer_main(
    settings: RendererSettings,
    snapshots: Any,
    stop: Any,
    quit_requested: Any,
    status: Any,
    parent_pid: int,
) -> None:
    """Entry point of the visuals process (runs until ``stop`` is set or Esc is pressed)."""
    # Ctrl-C in the terminal reaches the whole process group: the show's process
    # decides when the visuals stop, so the interrupt is not ours to act on.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    headless = settings.headless
    if headless:
        os.environ["SDL_VIDEODRIVER"] = "dummy"
    import pygame

    from installation.visuals.scene import BioluminescentScene

    screen = None
    try:
        pygame.display.init()
        flags = pygame.FULLSCREEN if settings.fullscreen and not headless else 0
        screen = pygame.display.set_mode(settings.size_px, flags)
        if not headless and pygame.display.get_driver() in WINDOWLESS_DRIVERS:
            raise pygame.error(f"no display reachable (SDL chose its {pygame.display.get_driver()} driver)")
    except pygame.error as exc:
        if headless:
            raise
        status.put({"kind": "fallback", "reason": str(exc)})
        pygame.display.quit()
        os.environ["SDL_VIDEODRIVER"] = "dummy"
        headless = True
        pygame.display.init()
        screen = pygame.display.set_mode(settings.size_px)
    pygame.display.set_caption(settings.title)
    if not headless:
        pygame.mouse.set_visible(False)
    status.put({"kind": "started", "driver": pygame.display.get_driver(), "headless": headless})
    scene = BioluminescentScene(settings.size_px, settings.wearers)
    counts: dict[str, int] = {}
    frames_written = 0
    frames_drawn = 0
    next_save_s = 0.0
    clock = pygame.time.Clock()
    started = time.perf_counter()
    if headless and settings.frames_dir is not None:
        settings.frames_dir.mkdir(parents=True, exist_ok=True)
    while not stop.is_set() and os.getppid() == parent_pid:
        dt_s = clock.tick(settings.fps) / 1000.0
        while True:
            try:
                snap: Snapshot = snapshots.get_nowait()
            except queue.Empty:
                break
            for address, value in snap.values.items():
                scene.set(address, value)
            for address, n in snap.trigger_counts.items():
                if n > counts.get(address, 0):
                    counts[address] = n
                    scene.trigger(address, snap.trigger_values.get(address, 1.0))
        for event in pygame.event.get():
            if event.type == pygame.QUIT or (event.type == pygame.KEYDOWN and event.key == pygame.K_ESCAPE):
                quit_requested.set()
            elif event.type == pygame.KEYDOWN and event.key == pygame.K_b:
                status.put({"kind": "request", "request": "rebaseline"})
            elif event.type == pygame.KEYDOWN and event.key == pygame.K_p:
                status.put({"kind": "request", "request": "panic"})
            elif event.type == pygame.KEYDOWN and pygame.K_0 <= event.key <= pygame.K_9:
                status.put({"kind": "request", "request": f"scene:{event.key - pygame.K_0}"})
        scene.update(dt_s)
        elapsed_s = time.perf_counter() - started
        if headless:
            if settings.frames_dir is not None and elapsed_s >= next_save_s:
                scene.draw(screen)
                frames_drawn += 1
                frames_written += 1
                pygame.image.save(screen, str(settings.frames_dir / f"frame_{frames_written:05d}.png"))
                next_save_s += settings.frame_every_s
        else:
            scene.draw(screen)
            pygame.display.flip()
            frames_drawn += 1
    status.put({"kind": "stopped", "frames_written": frames_written, "frames_drawn": frames_drawn,
                "seconds": time.perf_counter() - started})
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
        ctx = mp.get_context("spawn")
        self._snapshots = ctx.Queue(maxsize=8)
        self._status = ctx.Queue()
        self._stop = ctx.Event()
        self._quit = ctx.Event()
        self._process = ctx.Process(
            target=renderer_main,
            args=(settings, self._snapshots, self._stop, self._quit, self._status, os.getpid()),
            name="ecosymphony-visuals",
            daemon=True,
        )
        self.dropped = 0
        self.reports: list[dict[str, Any]] = []

    def start(self) -> None:
        """Start the visuals process."""
        self._process.start()

    @property
    def quit_requested(self) -> bool:
        """True once the operator pressed Esc or closed the window."""
        return self._quit.is_set()

    @property
    def alive(self) -> bool:
        return self._process.is_alive()

    def push(self, snapshot: Snapshot) -> None:
        """Hand a snapshot over without waiting; dropped if the process lags."""
        try:
            self._snapshots.put_nowait(snapshot)
        except queue.Full:
            self.dropped += 1

    def poll_status(self) -> list[dict[str, Any]]:
        """Status reports that arrived since the last call."""
        fresh = []
        while True:
            try:
                fresh.append(self._status.get_nowait())
            except queue.Empty:
                break
        self.reports.extend(fresh)
        return fresh

    def poll_requests(self) -> list[str]:
        """Operator requests from the window since the last call (``"rebaseline"`` on key B, ``"panic"`` on key P, ``"scene:N"`` on 0-9)."""
        return [r["request"] for r in self.poll_status() if r["kind"] == "request"]

    def wait_started(self, timeout_s: float = 20.0) -> dict[str, Any] | None:
        """Wait for the process to report its video driver; None if it did not."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self._process.is_alive():
            for r in self.poll_status():
                if r["kind"] == "started":
                    return r
            time.sleep(0.02)
        return next((r for r in self.reports if r["kind"] == "started"), None)

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
        for q in (self._snapshots, self._status):
            q.close()
            q.join_thread()  # the feeder thread ends once its few small items are in the pipe

    def stopped_report(self) -> dict[str, Any]:
        """The process's final report (frames written and drawn), or an empty dict."""
        return next((r for r in reversed(self.reports) if r["kind"] == "stopped"), {})
