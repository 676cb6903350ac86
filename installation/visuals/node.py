"""A render node: the conductor's scene drawn on another machine (``ecosymphony visuals --from``).

:class:`ConductorLink` keeps a connection to the conductor's
:class:`installation.visuals.serve.SnapshotServer` on a thread of its own: it connects
(and reconnects, for as long as the node runs), decodes the state lines into whole
snapshots, and pings now and then for the offset between the two clocks.
:func:`run_node` draws: it applies each snapshot as the local visuals process does,
moves the scene on the conductor's animation clock (so every node shows the same
moment, whenever it started), draws its tile of the wall, and fades to the idle look
(an empty sea) when the conductor goes quiet, until it comes back.

With ``frames_dir`` (no display) it saves a PNG, and beside it a JSON of the state it
shows, at each multiple of ``frame_every_s`` of the conductor's scene time: two nodes'
frames of the same number show the same moment.
"""

from __future__ import annotations

import json
import logging
import math
import os
import queue
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from installation.visuals.feed import SceneFeed
from installation.visuals.offset import ClockOffset
from installation.visuals.scene_clock import SceneClock
from installation.visuals.tiles import Tile
from installation.visuals.wire import MAX_LINE_BYTES, StateDecoder, StateLine, WireError, parse_line, ping_line

log = logging.getLogger(__name__)

LOST_AFTER_S = 2.0  # no line for this long: the conductor is gone (it sends one every 0.25 s at least)
PING_EVERY_S = 0.5
PINGS_AT_CONNECT = 5
RETRY_FIRST_S, RETRY_MAX_S = 0.2, 2.0
SWITCH_INTERVAL_S = 0.0005


@dataclass(slots=True)
class Hello:
    """What a conductor says first: its session and the scene's slots and settings."""

    session: str
    wearers: list[str]
    title: str
    flash_limit: bool
    max_flashes_per_s: float


@dataclass(slots=True)
class Arrival:
    """A decoded state line and when it arrived (the node's clock, seconds)."""

    line: StateLine
    local_s: float
    session: str


class ConductorLink:
    """The node's connection to its conductor, kept up on a thread of its own.

    Parameters
    ----------
    host, port : str, int
        The conductor's render-node server.
    clock : callable
        The node's monotonic clock, seconds.

    Messages for the drawing loop come out of :attr:`inbox`: a :class:`Hello` on each
    connection, an :class:`Arrival` per state line, and ``"lost"`` when a connection ends.
    """

    def __init__(self, host: str, port: int, clock: Callable[[], float] = time.perf_counter, tile: str = "1/1") -> None:
        self.host, self.port = host, port
        self.clock = clock
        self.tile = tile  # said in each ping, with the newest snapshot drawn (the conductor lists its nodes)
        self.shown_seq = -1  # set by the drawing loop
        self.inbox: queue.Queue[Hello | Arrival | str] = queue.Queue(maxsize=256)
        self.offset = ClockOffset()
        self.connected = False
        self.connections = 0
        self.session = ""
        self._rough_offset_s = math.nan
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="conductor-link", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)

    def conductor_s(self, local_s: float) -> float:
        """The conductor's clock at the node's ``local_s`` (from the pings; before any, from the last line)."""
        if self.offset.known:
            return local_s + self.offset.offset_s
        return local_s + (self._rough_offset_s if math.isfinite(self._rough_offset_s) else 0.0)

    def _put(self, item: Hello | Arrival | str) -> None:
        try:
            self.inbox.put_nowait(item)
        except queue.Full:  # the drawing loop is stuck: the newest state matters, not every line
            try:
                self.inbox.get_nowait()
                self.inbox.put_nowait(item)
            except (queue.Empty, queue.Full):
                pass

    def _run(self) -> None:
        retry_s = RETRY_FIRST_S
        said_lost = False
        while not self._stop.is_set():
            try:
                sock = socket.create_connection((self.host, self.port), timeout=1.0)
            except OSError as exc:
                if not said_lost:
                    log.warning("render node: no conductor at %s:%d (%s); trying again every %.0f s",
                                self.host, self.port, exc.strerror or exc, RETRY_MAX_S)
                    said_lost = True
                self._stop.wait(retry_s)
                retry_s = min(RETRY_MAX_S, retry_s * 2)
                continue
            retry_s = RETRY_FIRST_S
            try:
                self._serve(sock)
            except (OSError, WireError) as exc:
                log.warning("render node: lost the conductor (%s); fading to the idle look and reconnecting", exc)
            finally:
                sock.close()
                if self.connected:
                    self.connected = False
                    self._put("lost")
            said_lost = True
            self._stop.wait(RETRY_FIRST_S)

    def _serve(self, sock: socket.socket) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(0.05)
        decoder = StateDecoder()
        buffer = b""
        last_heard_s = self.clock()
        pings = 0
        next_ping_s = last_heard_s
        while not self._stop.is_set():
            now_s = self.clock()
            if now_s >= next_ping_s:
                sock.sendall(ping_line(now_s, self.shown_seq, self.tile))
                pings += 1
                next_ping_s = now_s + (0.02 if pings < PINGS_AT_CONNECT else PING_EVERY_S)
            try:
                chunk = sock.recv(262144)
            except socket.timeout:
                if self.clock() - last_heard_s > LOST_AFTER_S:
                    raise OSError(f"nothing heard for {LOST_AFTER_S:g} s")
                continue
            if not chunk:
                raise OSError("the conductor closed the connection")
            arrived_s = self.clock()
            last_heard_s = arrived_s
            buffer += chunk
            if len(buffer) > MAX_LINE_BYTES:
                raise WireError("a line longer than any state line")
            *lines, buffer = buffer.split(b"\n")
            for raw in lines:
                message = parse_line(raw)
                kind = message["type"]
                if kind == "pong":
                    self.offset.add(float(message["ping"]), float(message["t"]), arrived_s)
                elif kind == "hello":
                    if self.session != message.get("session"):
                        if self.session:
                            self.offset.clear()  # another conductor, perhaps another machine
                            self._rough_offset_s = math.nan
                        log.warning("render node: following the conductor at %s:%d (%d wearers)", self.host,
                                    self.port, len(message.get("wearers", [])))
                    self.session = str(message.get("session", ""))
                    self.connected = True
                    self.connections += 1
                    self._put(Hello(self.session, [str(w) for w in message.get("wearers", [])],
                                    str(message.get("title", "Eco-Symphony")), bool(message.get("flash_limit", True)),
                                    float(message.get("max_flashes_per_s", 3.0))))
                elif kind == "state":
                    line = decoder.decode(message)
                    self._rough_offset_s = line.sent_s - arrived_s
                    self._put(Arrival(line, arrived_s, self.session))


@dataclass(frozen=True, slots=True)
class NodeSettings:
    """How a render node draws.

    Attributes
    ----------
    host, port : str, int
        The conductor's render-node server.
    tile : Tile
        Which slice of the wall this node shows.
    size_px : tuple of int
        This node's picture (a tile), width and height in pixels (fullscreen: the display's).
    fps : int
        Frames per second.
    fullscreen : bool
        Fullscreen window.
    display_index : int
        Which display.
    frames_dir : Path, optional
        Headless: PNG frames (and their state as JSON) go here.
    frame_every_s : float
        Seconds of the conductor's scene time between saved frames.
    stats_path : Path, optional
        A JSON file of the node's figures, rewritten every second.
    duration_s : float, optional
        Stop after this many seconds.
    """

    host: str
    port: int
    tile: Tile = Tile()
    size_px: tuple[int, int] = (1280, 720)
    fps: int = 60
    fullscreen: bool = False
    display_index: int = 0
    frames_dir: Path | None = None
    frame_every_s: float = 1.0
    stats_path: Path | None = None
    duration_s: float | None = None


@dataclass(slots=True)
class NodeStats:
    """What a node did (written to the stats file, and returned)."""

    connected: bool = False
    session: str = ""
    seq: int = -1
    lines: int = 0
    connections: int = 0
    frames_drawn: int = 0
    frames_written: int = 0
    offset_s: float = math.nan
    rtt_s: float = math.nan
    delays_s: list[float] = field(default_factory=list)  # snapshot stamped at the conductor -> applied here
    arrivals_s: list[float] = field(default_factory=list)  # snapshot stamped at the conductor -> its line arrived

    def as_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__slots__ if k not in ("delays_s", "arrivals_s")}  # type: ignore[attr-defined]
        d["delays_ms"] = [round(1000.0 * v, 4) for v in self.delays_s[-5000:]]
        d["arrivals_ms"] = [round(1000.0 * v, 4) for v in self.arrivals_s[-5000:]]
        return d


def idle_targets(wearers: list[str]) -> dict[str, float]:
    """The idle look: an empty sea (every organism gone, no threads, no bloom of synchrony)."""
    return {**{f"{w}.presence": 0.0 for w in wearers}, "sync": 0.0, "threads": 0.0}


def resting_targets(wearers: list[str]) -> dict[str, float]:
    """What the idle look changed, as a fresh scene has it (set again when the conductor returns)."""
    return {**{f"{w}.presence": 1.0 for w in wearers}, "sync": 0.0, "threads": 1.0}


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


def _newest(inbox: "queue.Queue[Hello | Arrival | str]", item: Arrival, stats: NodeStats,
            link: ConductorLink) -> Arrival:
    """``item``, or the newest line of the same connection queued right behind it (each line brings
    the whole state and trigger counts are cumulative: skipping to the newest loses no beat). A hello
    or a loss stops the skipping, so they keep their order. The skipped lines' arrivals are counted."""
    while inbox.queue:  # a peek: only this thread takes from the inbox
        nxt = inbox.queue[0]
        if not isinstance(nxt, Arrival) or nxt.session != item.session:
            break
        inbox.get_nowait()
        if item.line.seq != stats.seq and item.line.seq != nxt.line.seq:
            stats.arrivals_s.append(link.conductor_s(item.local_s) - item.line.stamp_s)
        item = nxt
    return item


def run_node(settings: NodeSettings, should_stop: Callable[[], bool] = lambda: False) -> NodeStats:
    """Draw the conductor's scene until ``should_stop()``, Esc, or the duration; return the figures."""
    headless = settings.frames_dir is not None
    if headless:
        os.environ["SDL_VIDEODRIVER"] = "dummy"
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    import numpy as np
    import pygame

    from installation.visuals.controls import Controls, action_for_key
    from installation.visuals.flash_guard import ScreenFlashGuard
    from installation.visuals.overlay import draw_overlay, overlay_font
    from installation.visuals.scene import BioluminescentScene

    pygame.display.init()
    if settings.fullscreen and not headless:
        size = pygame.display.get_desktop_sizes()[settings.display_index]
        screen = pygame.display.set_mode(size, pygame.FULLSCREEN, display=settings.display_index)
    else:
        screen = pygame.display.set_mode(settings.size_px, display=settings.display_index if not headless else 0)
    if not headless:
        pygame.mouse.set_visible(False)
    tile_px = screen.get_size()
    tile = settings.tile
    wall_px = tile.wall_px(tile_px)
    blend = None
    if tile.overlap_px > 0 and tile.count > 1:
        gains = (255.0 * tile.blend(tile_px[0])).astype(np.uint8)
        blend = pygame.Surface(tile_px)
        pygame.surfarray.blit_array(blend, np.repeat(np.repeat(gains[:, None, None], tile_px[1], axis=1), 3, axis=2))

    def new_scene(wearers: list[str]) -> BioluminescentScene:
        s = BioluminescentScene(wall_px, wearers)
        s.set_view(tile.origin_px(tile_px), tile_px)
        s.set("particles", 0.5)
        return s

    # The link's thread must get the interpreter soon after a line arrives, not after the drawing's
    # 5 ms default slice: it wakes rarely and briefly, so a shorter slice costs the drawing little.
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    clock = time.perf_counter
    link = ConductorLink(settings.host, settings.port, clock, f"{tile.index}/{tile.count}")
    link.start()
    wearers: list[str] = []
    scene = new_scene(wearers)
    feed = SceneFeed(scene)
    guard: ScreenFlashGuard | None = ScreenFlashGuard(tile_px)
    controls = Controls()
    font = overlay_font(tile_px[1])
    stats = NodeStats()
    decoded: StateLine | None = None
    anchor = SceneClock()
    anchor_conductor_s = link.conductor_s(clock())  # conductor clock at the anchor's reading
    session = ""
    settle_next = True
    idle = True
    conductor_black = False
    last_saved: int | None = None
    period_s = 1.0 / settings.fps
    started_s = clock()
    next_frame_s = started_s
    next_stats_s = started_s
    recent: list[float] = []
    pygame.display.set_caption(f"Eco-Symphony render node {tile.index}/{tile.count}")
    try:
        while not should_stop():
            if settings.duration_s is not None and clock() - started_s >= settings.duration_s:
                break
            urgent = False
            while not urgent:  # news until the frame is due; a beat is drawn at once
                wait_s = next_frame_s - clock()
                try:
                    item = link.inbox.get(timeout=wait_s) if wait_s > 0 else link.inbox.get_nowait()
                except queue.Empty:
                    break
                if isinstance(item, Arrival):  # lines that queued up meanwhile: only the newest is applied
                    item = _newest(link.inbox, item, stats, link)
                if isinstance(item, Hello):
                    if item.wearers != wearers or item.session != session:
                        if item.wearers != wearers:
                            wearers = item.wearers
                            scene = new_scene(wearers)
                        session = item.session
                        decoded = None  # nothing of this conductor's applied yet
                        settle_next = True
                        last_saved = None
                    guard = ScreenFlashGuard(tile_px, item.max_flashes_per_s) if item.flash_limit else None
                    pygame.display.set_caption(f"{item.title}: render node {tile.index}/{tile.count}")
                    feed = SceneFeed(scene)
                    if idle:
                        for address, value in resting_targets(wearers).items():
                            scene.set(address, value)
                    idle = False
                elif isinstance(item, Arrival):
                    if item.session != session:
                        continue  # a line of a connection whose hello was not seen yet
                    line = item.line
                    now_conductor_s = link.conductor_s(clock())
                    fired = feed.apply(line.snapshot, now_conductor_s)
                    if line.seq != stats.seq:
                        stats.delays_s.append(now_conductor_s - line.stamp_s)
                        stats.arrivals_s.append(link.conductor_s(item.local_s) - line.stamp_s)
                        del stats.delays_s[:-20000], stats.arrivals_s[:-20000]
                    stats.seq, stats.lines = line.seq, stats.lines + 1
                    link.shown_seq = line.seq
                    decoded, anchor, anchor_conductor_s = line, line.clock, line.stamp_s
                    conductor_black = line.blackout
                    if settle_next:
                        scene.settle()
                        settle_next = False
                    urgent = fired
                elif item == "lost" and not idle:
                    idle = True
                    for address, value in idle_targets(wearers).items():
                        scene.set(address, value)
            for event in pygame.event.get():
                if event.type == pygame.QUIT:
                    return stats
                if event.type == pygame.KEYDOWN:
                    action = action_for_key(event.key)
                    if action == "quit":
                        return stats
                    if action in ("overlay", "blackout"):
                        controls.handle(action)
            frame_start_s = clock()
            reading = anchor.at(anchor.time_s + link.conductor_s(frame_start_s) - anchor_conductor_s)
            save_index = None
            if settings.frames_dir is not None:
                k = math.floor(reading.time_s / settings.frame_every_s)
                if last_saved is None or k > last_saved:
                    save_index = k
                    reading = anchor.at(k * settings.frame_every_s)
            scene.follow(reading.time_s, reading.sway_s, reading.rise)
            black = controls.blackout or conductor_black
            if guard is not None:
                guard.draw(scene, screen, frame_start_s, black=black)
            elif black:
                screen.fill((0, 0, 0))
            else:
                scene.draw(screen)
            if blend is not None:
                screen.blit(blend, (0, 0), special_flags=pygame.BLEND_RGB_MULT)
            if controls.overlay:
                span_s = recent[-1] - recent[0] if len(recent) > 2 else 0.0
                fps = (len(recent) - 1) / span_s if span_s > 0 else math.nan
                draw_overlay(screen, font, feed.status, fps, math.nan)
            if not headless:
                pygame.display.flip()
            stats.frames_drawn += 1
            recent.append(clock())
            del recent[:-60]
            if save_index is not None and settings.frames_dir is not None:
                settings.frames_dir.mkdir(parents=True, exist_ok=True)
                name = f"frame_{session or 'none'}_{save_index:06d}"
                pygame.image.save(screen, str(settings.frames_dir / f"{name}.png"))
                _write_json(settings.frames_dir / f"{name}.json", {
                    "index": save_index, "session": session, "scene_time_s": reading.time_s,
                    "sway_s": reading.sway_s, "connected": link.connected and decoded is not None, "idle": idle,
                    "seq": decoded.seq if decoded else -1,
                    "values": decoded.snapshot.values if decoded else {},
                    "counts": decoded.snapshot.trigger_counts if decoded else {},
                    "presence_shown": {w: o.presence_shown for w, o in scene.organisms.items()},
                    "pulse": {w: o.pulse for w, o in scene.organisms.items()},
                    "offset_s": link.offset.offset_s, "tile": [tile.index, tile.count, tile.overlap_px]})
                last_saved = save_index
                stats.frames_written += 1
            now_s = clock()
            if settings.stats_path is not None and now_s >= next_stats_s:
                next_stats_s = now_s + 1.0
                stats.connected, stats.session, stats.connections = link.connected, session, link.connections
                stats.offset_s, stats.rtt_s = link.offset.offset_s, link.offset.rtt_s
                _write_json(settings.stats_path, stats.as_dict())
            next_frame_s = max(next_frame_s + period_s, frame_start_s + (period_s if urgent else 0.0))
    finally:
        link.stop()
        stats.connected, stats.session, stats.connections = link.connected, session, link.connections
        stats.offset_s, stats.rtt_s = link.offset.offset_s, link.offset.rtt_s
        if settings.stats_path is not None:
            _write_json(settings.stats_path, stats.as_dict())
        pygame.display.quit()
    return stats
