"""The light sender: a small process of its own that owns the lighting outputs' sockets, and the
house look.

The show renders frames and writes them to this process's standard input; it sends each
universe when its pacing says so (:mod:`installation.lights.pacing`). It exists apart from the
show so that the lights never freeze on the last frame:

* a **clean stop** (a ``stop`` message, or SIGTERM): the house look, three times one frame
  period apart, then (sACN) the stream-terminated flag, three times, as E1.31 asks;
* the **show process dies** (even by SIGKILL: its end of the pipe closes): the same;
* the **show stalls** (no frame for more than :data:`STALL_S`): the house look, kept alive,
  until frames come again.

It ignores SIGINT (a Ctrl-C in the terminal is the show's to handle) and runs in its own
session. Messages in: ``F`` + length (u32) + frames (each u16 universe + 512 bytes); ``S``
(stop). Events out, one JSON line each, on the file descriptor given: ``ready``, ``stats``
(frames sent per output, cumulative), ``error`` (an output that cannot send; once until it
sends again), ``house`` (why the house look went up).
"""

from __future__ import annotations

import json
import math
import os
import select
import signal
import socket
import struct
import sys
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from installation.lights.layout import UNIVERSE_SIZE
from installation.lights.pacing import UniversePacing
from installation.lights.wire import ArtnetUniverse, SacnUniverse

#: No frame from the show for this long (seconds): the house look goes up.
STALL_S = 1.0
#: How often the counts of frames sent are reported, seconds.
STATS_PERIOD_S = 0.5
#: The house look is sent this many times at the end (a receiver that drops one still gets it).
FINAL_REPEATS = 3
_HEADER = struct.Struct("<cI")
_UNIVERSE = struct.Struct("<H")
FRAME_RECORD = _UNIVERSE.size + UNIVERSE_SIZE


def pack_frames(frames: dict[int, np.ndarray]) -> bytes:
    """An ``F`` message carrying these frames (universe -> 512 bytes)."""
    body = b"".join(_UNIVERSE.pack(u) + f.tobytes() for u, f in frames.items())
    return _HEADER.pack(b"F", len(body)) + body


STOP_MESSAGE = _HEADER.pack(b"S", 0)


def unpack_frames(body: bytes) -> dict[int, np.ndarray]:
    """The frames of an ``F`` message's body."""
    out = {}
    for i in range(0, len(body) - FRAME_RECORD + 1, FRAME_RECORD):
        (u,) = _UNIVERSE.unpack_from(body, i)
        out[u] = np.frombuffer(body, np.uint8, UNIVERSE_SIZE, i + _UNIVERSE.size)
    return out


@dataclass
class _Output:
    """One lighting output: its socket, packet builders and pacing per universe."""

    label: str
    kind: str
    sock: socket.socket
    destinations: dict[int, tuple[str, int]]
    packets: dict[int, SacnUniverse | ArtnetUniverse]
    pacing: dict[int, UniversePacing]
    sent: int = 0
    failing: bool = False
    last_error: str = ""


def open_socket(host: str | None, interface: str | None, broadcast: bool) -> socket.socket:
    """A UDP socket to send from: bound to ``interface`` (an address of this machine) when given;
    multicast through that interface; broadcast allowed for Art-Net."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if interface:
        sock.bind((interface, 0))
        if host is None:
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(interface))
    if host is None:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 8)
    if broadcast:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    return sock


def make_output(spec: dict[str, Any]) -> _Output:
    """An output from its settings (as :func:`installation.lights.rig.sender_settings` writes them)."""
    period_s = 1.0 / float(spec["rate_hz"])
    universes = [int(u) for u in spec["universes"]]
    packets: dict[int, SacnUniverse | ArtnetUniverse] = {}
    destinations = {}
    for u in universes:
        if spec["kind"] == "sacn":
            p = SacnUniverse(u, bytes.fromhex(spec["cid"]), spec["source_name"], int(spec["priority"]))
            destinations[u] = (spec["host"] or p.multicast_group, int(spec["port"]))
            packets[u] = p
        else:
            packets[u] = ArtnetUniverse(u)
            destinations[u] = (spec["host"], int(spec["port"]))
    sock = open_socket(spec["host"], spec.get("interface"), spec["kind"] == "artnet")
    return _Output(spec["label"], spec["kind"], sock, destinations, packets,
                   {u: UniversePacing(period_s) for u in universes})


class Sender:
    """The sending loop (see the module's notes); ``settings``: outputs, house frames, events fd."""

    def __init__(self, settings: dict[str, Any], events_fd: int | None) -> None:
        self.outputs = [make_output(s) for s in settings["outputs"]]
        self.house = {int(u): np.frombuffer(bytes.fromhex(h), np.uint8) for u, h in settings["house"].items()}
        self.events = os.fdopen(events_fd, "w", buffering=1) if events_fd is not None else None
        self.stall_s = float(settings.get("stall_s", STALL_S))
        self._buffer = b""
        self._last_frame_s = time.monotonic()
        self._house_up = False
        self._stats_s = 0.0
        self._stopping = False

    def emit(self, event: str, **fields: Any) -> None:
        if self.events is None:
            return
        try:
            self.events.write(json.dumps({"event": event, **fields}) + "\n")
        except (OSError, ValueError):
            self.events = None  # the show is gone: nobody to tell

    # ---- frames in ---------------------------------------------------------------------------
    def offer(self, frames: dict[int, np.ndarray]) -> None:
        for out in self.outputs:
            for u, pacing in out.pacing.items():
                frame = frames.get(u)
                if frame is not None:
                    pacing.offer(frame)

    def _read(self, fd: int) -> bool:
        """Read what the show wrote; False at the end (the show closed the pipe, or died)."""
        try:
            chunk = os.read(fd, 1 << 16)
        except BlockingIOError:
            return True
        except OSError:
            return False
        if not chunk:
            return False
        self._buffer += chunk
        while len(self._buffer) >= _HEADER.size:
            kind, length = _HEADER.unpack_from(self._buffer)
            if len(self._buffer) < _HEADER.size + length:
                break
            body = self._buffer[_HEADER.size:_HEADER.size + length]
            self._buffer = self._buffer[_HEADER.size + length:]
            if kind == b"S":
                return False
            if kind == b"F":
                self._last_frame_s = time.monotonic()
                if self._house_up:
                    self._house_up = False
                    self.emit("house", up=False, why="frames again")
                self.offer(unpack_frames(body))
        return True

    # ---- frames out --------------------------------------------------------------------------
    def send(self, out: _Output, u: int, frame: np.ndarray, terminated: bool = False) -> None:
        data = out.packets[u].encode(frame, terminated)
        try:
            out.sock.sendto(data, out.destinations[u])
        except OSError as exc:
            if not out.failing:
                out.failing, out.last_error = True, str(exc)
                self.emit("error", output=out.label, error=f"cannot send to {out.destinations[u][0]}: {exc}")
            return
        if out.failing:
            out.failing = False
            self.emit("error", output=out.label, error="")
        out.sent += 1

    def pump(self, now_s: float) -> float:
        """Send what is due; returns when something is next due (monotonic seconds)."""
        wake = math.inf
        for out in self.outputs:
            for u, pacing in out.pacing.items():
                frame = pacing.take(now_s)
                if frame is not None:
                    self.send(out, u, frame)
                wake = min(wake, pacing.next_s())
        return wake

    def run(self, fd: int) -> None:
        """Until the show stops us or goes away."""
        os.set_blocking(fd, False)
        self.emit("ready", outputs=[o.label for o in self.outputs])
        while not self._stopping:
            now_s = time.monotonic()
            if not self._house_up and now_s - self._last_frame_s > self.stall_s:
                self._house_up = True
                self.emit("house", up=True, why=f"no frame from the show for {self.stall_s:g} s")
            if self._house_up:
                self.offer(self.house)
            wake = self.pump(now_s)
            if now_s - self._stats_s >= STATS_PERIOD_S:
                self._stats_s = now_s
                self.emit("stats", sent=[o.sent for o in self.outputs])
            timeout_s = min(max(0.0, wake - time.monotonic()), 0.05)
            try:
                ready, _, _ = select.select([fd], [], [], timeout_s)
            except InterruptedError:
                continue
            if ready and not self._read(fd):
                break
        self.finish()

    def stop(self, *_: object) -> None:
        """SIGTERM: finish as on a clean stop."""
        self._stopping = True

    def finish(self) -> None:
        """The house look (three times, a frame period apart), then sACN's stream-terminated flag."""
        period_s = max((p.period_s for o in self.outputs for p in o.pacing.values()), default=0.025)
        for _ in range(FINAL_REPEATS):
            for out in self.outputs:
                for u in out.pacing:
                    self.send(out, u, self.house.get(u, np.zeros(UNIVERSE_SIZE, np.uint8)))
            time.sleep(period_s)
        for _ in range(FINAL_REPEATS):
            for out in self.outputs:
                if out.kind == "sacn":
                    for u in out.pacing:
                        self.send(out, u, self.house.get(u, np.zeros(UNIVERSE_SIZE, np.uint8)), terminated=True)
        self.emit("stats", sent=[o.sent for o in self.outputs])
        self.emit("stopped")
        for out in self.outputs:
            out.sock.close()


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    settings = json.loads(argv[1])
    events_fd = int(argv[2]) if len(argv) > 2 else None
    sender = Sender(settings, events_fd)
    signal.signal(signal.SIGTERM, sender.stop)
    sender.run(sys.stdin.fileno())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
