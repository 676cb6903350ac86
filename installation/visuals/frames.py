"""Writing drawn frames to files: numbered PNGs, and an MP4 through ffmpeg.

ffmpeg is a program of its own (Debian: ``apt-get install ffmpeg``); without it
:func:`ffmpeg_path` is None and callers leave the video out, saying so.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pygame

INSTALL_FFMPEG = "apt-get install ffmpeg"


class VideoError(RuntimeError):
    """The video could not be written (ffmpeg missing or failing)."""


def ffmpeg_path() -> str | None:
    """Path of the ffmpeg program, or None when it is not installed."""
    return shutil.which("ffmpeg")


class FrameWriter:
    """Writes each frame it is given as ``frame_00001.png``, ... and/or into an MP4.

    Parameters
    ----------
    size_px : tuple of int
        Frame size (width, height) in pixels.
    fps : float
        Frames per second of the video.
    frames_dir : Path, optional
        Folder for numbered PNG frames (made if missing).
    video_path : Path, optional
        MP4 file (H.264); needs ffmpeg.

    Raises
    ------
    VideoError
        A video was asked for and ffmpeg is not installed.
    """

    def __init__(self, size_px: tuple[int, int], fps: float, frames_dir: Path | None = None,
                 video_path: Path | None = None) -> None:
        self.size_px = size_px
        self.fps = fps
        self.frames_dir = frames_dir
        self.video_path = video_path
        self.frames = 0
        self._ffmpeg: subprocess.Popen[bytes] | None = None
        self._silent_video: Path | None = None
        if frames_dir is not None:
            frames_dir.mkdir(parents=True, exist_ok=True)
        if video_path is not None:
            ffmpeg = ffmpeg_path()
            if ffmpeg is None:
                raise VideoError(f"cannot write {video_path}: ffmpeg is not installed ({INSTALL_FFMPEG})")
            video_path.parent.mkdir(parents=True, exist_ok=True)
            self._ffmpeg_bin = ffmpeg
            self._silent_video = video_path.with_name(video_path.stem + ".video-only" + video_path.suffix)
            w, h = size_px
            self._ffmpeg = subprocess.Popen(
                [ffmpeg, "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}",
                 "-r", f"{fps:g}", "-i", "-", "-vf", "scale=trunc(iw/2)*2:trunc(ih/2)*2", "-c:v", "libx264",
                 "-preset", "veryfast", "-pix_fmt", "yuv420p", str(self._silent_video)],
                stdin=subprocess.PIPE, stderr=subprocess.PIPE)

    def write(self, surface: pygame.Surface) -> None:
        """Write one frame (a surface of ``size_px``)."""
        self.frames += 1
        if self.frames_dir is not None:
            pygame.image.save(surface, str(self.frames_dir / f"frame_{self.frames:05d}.png"))
        if self._ffmpeg is not None:
            assert self._ffmpeg.stdin is not None
            try:
                self._ffmpeg.stdin.write(pygame.image.tobytes(surface, "RGB"))
            except BrokenPipeError:
                raise VideoError(f"ffmpeg stopped while writing {self.video_path}: {self._ffmpeg_errors()}") from None

    def _ffmpeg_errors(self) -> str:
        assert self._ffmpeg is not None and self._ffmpeg.stderr is not None
        self._ffmpeg.wait(timeout=30)
        return self._ffmpeg.stderr.read().decode(errors="replace").strip() or f"exit code {self._ffmpeg.returncode}"

    def close(self, audio_path: Path | None = None) -> None:
        """Finish the files; the video gets ``audio_path``'s sound (a WAV) when given."""
        if self._ffmpeg is None:
            return
        proc, self._ffmpeg = self._ffmpeg, None
        assert proc.stdin is not None and self._silent_video is not None and self.video_path is not None
        proc.stdin.close()
        if proc.wait(timeout=120) != 0:
            assert proc.stderr is not None
            raise VideoError(f"ffmpeg failed on {self.video_path}: {proc.stderr.read().decode(errors='replace').strip()}")
        if proc.stderr is not None:
            proc.stderr.close()
        if audio_path is None or not audio_path.is_file():
            self._silent_video.replace(self.video_path)
            return
        mux = subprocess.run([self._ffmpeg_bin, "-y", "-loglevel", "error", "-i", str(self._silent_video), "-i", str(audio_path),
                              "-c:v", "copy", "-c:a", "aac", "-b:a", "192k", "-shortest", str(self.video_path)],
                             capture_output=True, text=True, timeout=300)
        self._silent_video.unlink(missing_ok=True)
        if mux.returncode != 0:
            raise VideoError(f"ffmpeg could not add the sound to {self.video_path}: {mux.stderr.strip()}")

    def abort(self) -> None:
        """Stop ffmpeg and remove a half-written video."""
        if self._ffmpeg is not None:
            self._ffmpeg.kill()
            self._ffmpeg.wait(timeout=10)
            self._ffmpeg = None
        if self._silent_video is not None:
            self._silent_video.unlink(missing_ok=True)
