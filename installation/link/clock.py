"""The show's Ableton Link peer (through aalink) in a thread of its own.

aalink is asyncio-based: its ``Link`` lives in an event loop, here one run by a thread
that only this module touches. Every :data:`SNAPSHOT_PERIOD_S` that thread reads the
session (beat, tempo, peers) into a :class:`~installation.link.beats.Timeline`, steps the
show's tempo (:class:`~installation.link.tempo.TempoFollower`) with the latest reading of
the driving feature, and sets the session's tempo when the show leads. The pipeline's
thread never calls aalink: it hands over the feature's value and reads the latest
timeline, from which it makes the ``link.*`` features and beat events
(:mod:`installation.link.beats`).

A Link peer that cannot start (aalink missing, no network) is logged once and tried
again, with a growing wait; the show plays on without the ``link.*`` features meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from typing import Any, Callable

from installation.config import LinkConfig
from installation.dsp.events import Event
from installation.link.beats import BeatTracker, Timeline, link_features
from installation.link.tempo import TempoFollower

log = logging.getLogger(__name__)

#: The Link thread reads the session this often, seconds.
SNAPSHOT_PERIOD_S = 0.01
#: A Link peer that failed is started again after this wait (seconds), doubled each time up to :data:`RETRY_MAX_S`.
RETRY_FIRST_S = 1.0
RETRY_MAX_S = 30.0
#: The tempo the show's peer starts with before it sets one (beats per minute), within the show's bounds.
START_BPM = 120.0


class LinkError(RuntimeError):
    """The Link peer cannot run (aalink missing or failing)."""


def import_aalink() -> Any:
    """The aalink module (imported only when a show enables ``[link]``).

    Raises
    ------
    LinkError
        It is not installed, saying how to install it.
    """
    try:
        import aalink
    except ImportError as exc:
        raise LinkError(f"Ableton Link needs the Python package aalink (pip install aalink): {exc}") from None
    return aalink


class LinkClock:
    """The show's Link peer: tempo from a feature, the session's beat grid as features and events.

    Parameters
    ----------
    settings : LinkConfig
        The show's ``[link]`` section.
    clock : callable
        The show's clock (seconds, monotonic); the timelines are dated on it.
    """

    def __init__(self, settings: LinkConfig, clock: Callable[[], float] = time.perf_counter) -> None:
        self.settings = settings
        self.clock = clock
        self.follower = TempoFollower(settings.min_bpm, settings.max_bpm, settings.smooth_s, settings.lead)
        self.beats = BeatTracker()
        self.timeline: Timeline | None = None  # the latest snapshot (written by the Link thread only)
        self.error: str | None = None  # why the peer is not running, while it is not
        self._driver = math.nan  # the latest reading of the driving feature (written by the pipeline's thread)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ---- the pipeline's side -----------------------------------------------------------
    def start(self) -> "LinkClock":
        """Start the Link thread (once)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="link", daemon=True)
            self._thread.start()
        return self

    def features(self, now_s: float, features: dict[str, float]) -> dict[str, float]:
        """Take the driving feature from ``features`` (the core's, at ``now_s`` on the show's
        clock) and give the ``link.*`` features."""
        self._driver = features.get(self.settings.feature, math.nan)
        return link_features(self.timeline, now_s)

    def take_events(self, now_s: float) -> list[Event]:
        """The ``link.beat`` and ``link.downbeat`` events due soon and not given yet."""
        return self.beats.take(self.timeline, now_s)

    def close(self) -> None:
        """Leave the session and stop the thread (waits at most a few seconds)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            if self._thread.is_alive():
                log.error("link: the Link thread did not stop within 5 s")
            self._thread = None

    # ---- the Link thread ---------------------------------------------------------------------
    def _run(self) -> None:
        wait_s = RETRY_FIRST_S
        while not self._stop.is_set():
            try:
                asyncio.run(self._serve())
                return
            except Exception as exc:  # the show goes on without Link; try again later
                message = f"{exc}" if isinstance(exc, LinkError) else f"{type(exc).__name__}: {exc}"
                if message != self.error:
                    log.warning("link: the Link peer stopped (%s); trying again every %.0f s at most", message, RETRY_MAX_S)
                self.error = message
                self.timeline = None
            self._stop.wait(wait_s)
            wait_s = min(RETRY_MAX_S, 2.0 * wait_s)

    async def _serve(self) -> None:
        s = self.settings
        link = import_aalink().Link(min(max(START_BPM, s.min_bpm), s.max_bpm))
        try:
            link.quantum = float(s.quantum)
            link.enabled = True
            started_s = self.clock()
            role = self.follower.role
            if self.error is not None:
                log.warning("link: the Link peer is back")
                self.error = None
            while not self._stop.is_set():
                now_s = self.clock()
                peers, tempo_bpm = int(link.num_peers), float(link.tempo)
                bpm = self.follower.step(now_s, self._driver, now_s - started_s, peers, tempo_bpm)
                if bpm is not None:
                    link.tempo = bpm
                    tempo_bpm = float(link.tempo)
                if self.follower.role != role:
                    role = self.follower.role
                    log.warning("link: %s the session's tempo (%.1f bpm, %d other peer%s)",
                                "leading" if role == "leading" else "following", tempo_bpm, peers,
                                "" if peers == 1 else "s")
                beat = float(link.beat)
                self.timeline = Timeline(self.clock(), beat, tempo_bpm, peers, float(s.quantum), role)
                await asyncio.sleep(SNAPSHOT_PERIOD_S)
        finally:
            link.enabled = False
            del link


def count_peers(wait_s: float = 1.0) -> tuple[int, float]:
    """Join the Link session on this machine's networks for ``wait_s`` seconds, without setting
    anything: the other peers seen, and the session's tempo then (beats per minute; the peer's
    own start tempo, :data:`START_BPM`, when there are none).

    Raises
    ------
    LinkError
        aalink is missing, or the peer could not start.
    """
    aalink = import_aalink()

    async def look() -> tuple[int, float]:
        link = aalink.Link(START_BPM)
        link.enabled = True
        try:
            await asyncio.sleep(wait_s)
            return int(link.num_peers), float(link.tempo)
        finally:
            link.enabled = False

    try:
        return asyncio.run(look())
    except LinkError:
        raise
    except Exception as exc:
        raise LinkError(f"the Link peer could not start: {type(exc).__name__}: {exc}") from exc
