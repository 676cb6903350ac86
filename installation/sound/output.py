"""What the pipeline needs of a sound engine, wherever it runs.

:class:`~installation.sound.engine.SoundEngine` (pyo in this process: the offline
render, replays, tests) and :class:`~installation.sound.process.SoundProcess` (pyo in
a supervised child process: the live show) both present it.
"""

from __future__ import annotations

from typing import Protocol


class SoundOutput(Protocol):
    """A sound engine as the pipeline and the session see it."""

    panicked: bool
    errors: int
    fade_out_s: float

    @property
    def late_buffers(self) -> int:
        """Buffers computed late (xruns the engine saw itself)."""
        ...

    def start(self) -> None:
        """Start the audio (raises when it cannot)."""
        ...

    def set(self, address: str, value: float) -> None:
        """Set a continuous parameter (``p1.tone``)."""
        ...

    def trigger(self, address: str, value: float, delay_s: float = 0.0) -> None:
        """Fire a trigger (``p1.pulse``) now or ``delay_s`` seconds from now."""
        ...

    def flush(self) -> None:
        """End of a tick: send what was set."""
        ...

    def panic(self, on: bool | None = None) -> bool:
        """Mute (True), unmute (False) or toggle (None); return whether muted."""
        ...

    def fade_out(self, within_s: float | None = None) -> float:
        """Begin the master fade-out; return the seconds until silence."""
        ...

    def stop(self) -> None:
        """Fade out, stop, release everything."""
        ...
