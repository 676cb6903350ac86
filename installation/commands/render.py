"""Offline rendering: a whole show's sound computed faster than real time.

The same sources, signal core, mapper and patch as a live show, with time moved
by a :class:`~installation.clock.FakeClock` instead of the wall clock: every pyo
buffer, the clock steps one buffer, the sources deliver what is due, the pipeline
does one tick, and pyo computes the buffer (manual mode), which
it records to the WAV file. No thread, no sound card, deterministic for a seed.

The visuals can be rendered too: the scene is drawn in this process (no window),
a frame every ``1/fps`` seconds of show time, from the pipeline's visual
parameters and triggers (the same snapshot the visuals process gets live), and
written as numbered PNGs and/or an MP4 with the sound (ffmpeg).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from installation.clock import FakeClock
from installation.dsp.core import compile_kernels
from installation.runtime.launch import PreparedShow
from installation.sensors.base import Source
from installation.operator_commands import Command
from installation.pipeline.pipeline import Pipeline
from installation.sound.engine import SoundEngine
from installation.status import Notice
from installation.visuals.feed import SceneFeed
from installation.visuals.flash_guard import ScreenFlashGuard
from installation.visuals.frames import FrameWriter
from installation.visuals.scene import BioluminescentScene

#: Called now and then with (seconds rendered, seconds in all).
Progress = Callable[[float, float], None]
#: An operator command scripted at a render time in seconds (a scene change, a panic).
Action = tuple[float, Command]


@dataclass(frozen=True, slots=True)
class VisualsOutput:
    """Where an offline render's visuals go.

    Attributes
    ----------
    size_px : tuple of int
        Frame size (width, height) in pixels.
    fps : float
        Frames per second of show time.
    frames_dir : Path, optional
        Numbered PNG frames.
    video_path : Path, optional
        An MP4 with the sound (needs ffmpeg).
    flash_limit : bool
        Hold back what would flash, as the live window does (``[visual] flash_limit``).
    max_flashes_per_s : float
        Flashes allowed per second in any quarter of the frame (above 0, at most 3).
    """

    size_px: tuple[int, int] = (1280, 720)
    fps: float = 30.0
    frames_dir: Path | None = None
    video_path: Path | None = None
    flash_limit: bool = True
    max_flashes_per_s: float = 3.0


@dataclass(slots=True)
class RenderSummary:
    """What an offline render did.

    Attributes
    ----------
    seconds : float
        Seconds of sound rendered (the fade-out included).
    wall_s : float
        Seconds it took.
    beats : dict
        Beat events per wearer.
    frames : int
        Frames of the visuals drawn.
    notices : list of (float, Notice)
        The notices raised for the operator (the welfare watch's), each with its time in seconds of show.
    """

    seconds: float = 0.0
    wall_s: float = 0.0
    beats: dict[str, int] = field(default_factory=dict)
    frames: int = 0
    notices: list[tuple[float, Notice]] = field(default_factory=list)

    @property
    def speed(self) -> float:
        """Rendered seconds per second of work (above 1: faster than real time)."""
        return self.seconds / self.wall_s if self.wall_s > 0 else math.inf


def render_offline(
    prepared: PreparedShow,
    sources: list[Source],
    wearers: list[str],
    clock: FakeClock,
    out_path: Path | None,
    duration_s: float,
    progress: Progress | None = None,
    visuals: VisualsOutput | None = None,
    actions: list[Action] | None = None,
    seed: int = 1,
    live_outputs: bool = False,
) -> RenderSummary:
    """Render ``duration_s`` seconds of the show fed by ``sources`` into ``out_path`` (WAV, 32-bit float),
    and its visuals into ``visuals`` when given.

    Parameters
    ----------
    prepared : PreparedShow
        The show, its patch class and its compiled mappings.
    sources : list of Source
        Sources paced by ``clock`` (simulated audience, replayed recordings).
    wearers : list of str
        Wearer slots the patch gives voices to.
    clock : FakeClock
        The clock the sources were made with; the render moves it.
    out_path : Path, optional
        WAV file to write (its folder is made); None: the sound is computed (it is
        what the mappings drive) but only kept for a video.
    duration_s : float
        Seconds of show to render, before the master fade-out.
    progress : callable, optional
        Told ``(seconds rendered, duration_s)`` about ten times a second of work.
    visuals : VisualsOutput, optional
        Frames and/or a video of the scene.
    actions : list of (float, callable), optional
        Operator commands scripted at render times in seconds (``SelectScene(key="2")``,
        ``Panic(True)``), each carried out once when its time comes.
    seed : int
        Seed of the patch's own randomness (the sources have theirs): the same seed
        and input give the same sound.
    live_outputs : bool
        Also send to the show's live peers (``[osc_out]``, ``[[outputs]]``): off by default.

    Raises
    ------
    VideoError
        A video was asked for and ffmpeg is missing or fails.
    """
    show = prepared.show
    s = show.sound
    video = visuals is not None and visuals.video_path is not None
    wav_path = out_path
    if wav_path is None and video:
        assert visuals is not None and visuals.video_path is not None
        wav_path = visuals.video_path.with_name(visuals.video_path.stem + ".sound.wav")
    if wav_path is not None:
        wav_path.parent.mkdir(parents=True, exist_ok=True)
    writer = FrameWriter(visuals.size_px, visuals.fps, visuals.frames_dir, visuals.video_path) if visuals else None
    engine = SoundEngine(prepared.patch_class(wearers, s.settings), "manual", sample_rate_hz=s.sample_rate_hz,
                         buffer_frames=s.buffer_frames, ceiling_db=s.ceiling_db, fade_in_s=s.fade_in_s,
                         fade_out_s=s.fade_out_s, wav_path=wav_path, seed=seed)
    pipeline = Pipeline(show, prepared.mapper, wearers, clock, engine, live_outputs=live_outputs)
    summary = RenderSummary()
    start_s = clock.now_s()
    pipeline.notices.listen(lambda notice: summary.notices.append((clock.now_s() - start_s, notice)))
    scene = feed = surface = guard = None
    if visuals is not None:
        import pygame

        scene = BioluminescentScene(visuals.size_px, wearers)
        feed = SceneFeed(scene)
        surface = pygame.Surface(visuals.size_px)
        guard = ScreenFlashGuard(visuals.size_px, visuals.max_flashes_per_s) if visuals.flash_limit else None
    frame_s = 1.0 / visuals.fps if visuals is not None else math.inf
    next_frame_s = clock.now_s()
    compile_kernels()
    started = time.perf_counter()
    buffer_s = s.buffer_frames / s.sample_rate_hz
    buffers = int(math.ceil(duration_s / buffer_s))
    try:
        engine.start()
        for source in sources:
            source.open()
        next_report = started
        todo = sorted(actions or [], key=lambda a: a[0])
        for k in range(buffers):
            clock.advance_s(buffer_s)
            while todo and todo[0][0] <= (k + 1) * buffer_s:
                pipeline.command(todo.pop(0)[1])
            pipeline.tick([block for source in sources for block in source.read(0.0)])
            engine.process(1)
            while writer is not None and clock.now_s() >= next_frame_s:  # a frame every 1/fps of show time
                assert feed is not None and scene is not None and surface is not None
                feed.apply(pipeline.visuals.snapshot, clock.now_s())
                feed.take_shown(clock.now_s())
                scene.update(frame_s)
                if guard is not None:
                    guard.draw(scene, surface, clock.now_s())
                else:
                    scene.draw(surface)
                writer.write(surface)
                next_frame_s += frame_s
            if progress is not None and time.perf_counter() >= next_report:
                next_report = time.perf_counter() + 0.1
                progress((k + 1) * buffer_s, duration_s)
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    finally:
        for source in sources:
            source.close()
        pipeline.close()  # the master fade-out, computed and recorded; live outputs closed
    if writer is not None:
        writer.close(audio_path=wav_path)
        summary.frames = writer.frames
        if out_path is None and wav_path is not None:
            wav_path.unlink(missing_ok=True)  # it was only there for the video
    summary.wall_s = time.perf_counter() - started
    summary.seconds = engine.buffers_done * buffer_s
    summary.beats = {w: len(pipeline.stats.beat_times_s.get(w, [])) for w in wearers}
    if progress is not None:
        progress(duration_s, duration_s)
    return summary
