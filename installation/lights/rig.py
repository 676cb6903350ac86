"""The show's lights, live: the look rendered at the outputs' rate in a thread of its own, and the
sender process (:mod:`installation.lights.sender`) that puts the frames on the wire.

The pipeline hands :class:`LightRig` the ``light.*`` parameters and triggers (from its thread);
the render thread turns the look into frames every frame period, and at once when a trigger
fires (the sender still keeps each universe within its rate), and writes them to the sender.

What the lights show when the show is not driving them:

* **blackout** (the operator's K): every universe dark, until the blackout is lifted;
* **the pipeline stalls** (no tick for more than :data:`STALL_S`): the house look
  (``[lights] house``, ``house_color``), until it ticks again;
* **stop, or a crash of the show process**: the sender sends the house look, then ends
  its sACN streams (see :mod:`installation.lights.sender`).

Nothing here raises into the show: a sender that dies is logged and started again.
"""

from __future__ import annotations

import json
import logging
import math
import os
import subprocess
import sys
import threading
import time
from typing import Any, Sequence

import numpy as np

from installation.config import ArtnetOutputConfig, SacnOutputConfig, Show
from installation.lights.flash import FlashLimiter
from installation.lights.look import Look, hex_rgb
from installation.lights.sender import STOP_MESSAGE, pack_frames
from installation.lights.wire import new_cid

log = logging.getLogger(__name__)

#: No pipeline tick for this long (seconds): the house look goes up.
STALL_S = 1.0
#: A sender that died is started again at most this often, seconds.
RESTART_EVERY_S = 2.0


def light_outputs(show: Show) -> list[tuple[int, SacnOutputConfig | ArtnetOutputConfig]]:
    """The show's lighting outputs, with their index in ``[[outputs]]``."""
    return [(i, o) for i, o in enumerate(show.outputs) if isinstance(o, (SacnOutputConfig, ArtnetOutputConfig))]


def output_label(index: int, cfg: SacnOutputConfig | ArtnetOutputConfig) -> str:
    """``outputs[2] wash desk`` or ``outputs[2] sacn multicast``."""
    return f"outputs[{index}] " + (cfg.name or f"{cfg.kind} {cfg.host or 'multicast'}")


def sender_settings(outputs: Sequence[tuple[int, SacnOutputConfig | ArtnetOutputConfig]],
                    house: dict[int, np.ndarray], cid: bytes, stall_s: float = STALL_S) -> dict[str, Any]:
    """What the sender process is started with (JSON-able)."""
    return {
        "outputs": [{"label": output_label(i, o), "kind": o.kind, "host": o.host, "port": o.port,
                     "interface": o.interface, "universes": list(o.universes), "rate_hz": o.rate_hz,
                     "priority": getattr(o, "priority", 100), "source_name": o.source_name, "cid": cid.hex()}
                    for i, o in outputs],
        "house": {str(u): f.tobytes().hex() for u, f in house.items()},
        "stall_s": stall_s,
    }


class LightRig:
    """The fixtures' look, its render thread and the sender process.

    Parameters
    ----------
    show : Show
        The validated show (its fixtures, lighting outputs and ``[lights]``).
    wearers : list of str
        Wearer slots (a strip's segments).
    """

    def __init__(self, show: Show, wearers: Sequence[str]) -> None:
        self.outputs = light_outputs(show)
        self.labels = [output_label(i, o) for i, o in self.outputs]
        universes = sorted({u for _, o in self.outputs for u in o.universes})
        self.look = Look(show.fixtures, universes, wearers)
        lights = show.lights
        self.house = self.look.steady(lights.house, hex_rgb(lights.house_color))
        self.limiter = FlashLimiter(len(self.look.order), lights.max_flashes_per_s) if lights.flash_limit else None
        self.period_s = 1.0 / max((o.rate_hz for _, o in self.outputs), default=40.0)
        self.cid = new_cid()
        self.blackout = False
        self.frames_rendered = 0
        self.rates_hz: list[float] = [0.0] * len(self.outputs)
        self.sent: list[int] = [0] * len(self.outputs)
        self._sender_house = False
        self._stalled = False
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._fed_s = time.monotonic()
        self._proc: subprocess.Popen[bytes] | None = None
        self._spawned_s = -math.inf
        self._broken = False
        self._thread: threading.Thread | None = None
        self._last_stats: tuple[float, list[int]] | None = None

    @property
    def house_up(self) -> bool:
        """True while the house look is up because the pipeline or the render thread stalled."""
        return self._stalled or self._sender_house

    # ---- from the pipeline -------------------------------------------------------------------
    def set(self, address: str, value: float) -> None:
        """A continuous ``light.*`` parameter, without ``light.`` (``wash1.intensity``)."""
        with self._lock:
            self.look.set(address, value)

    def trigger(self, address: str, value: float) -> None:
        """A trigger (``wash1.pulse``): it fires now, and a frame is rendered at once."""
        with self._lock:
            self.look.trigger(address, value, time.monotonic())
        self._wake.set()

    def fed(self, now_s: float | None = None) -> None:
        """The pipeline ticked (the stall watch) at ``now_s`` (monotonic seconds; default: now)."""
        self._fed_s = time.monotonic() if now_s is None else now_s

    def set_blackout(self, on: bool) -> None:
        """Every universe dark (True) until lifted (False)."""
        self.blackout = on
        self._wake.set()

    # ---- the sender process ------------------------------------------------------------------
    def _spawn(self) -> None:
        """Start the sender process; a failure is logged (the render thread tries again later)."""
        self._spawned_s = time.monotonic()
        settings = sender_settings(self.outputs, self.house, self.cid)
        read_fd, write_fd = os.pipe()
        try:
            self._proc = subprocess.Popen([sys.executable, "-m", "installation.lights.sender", json.dumps(settings),
                                           str(write_fd)], stdin=subprocess.PIPE, pass_fds=(write_fd,),
                                          start_new_session=True)
        except OSError as exc:
            os.close(read_fd)
            log.error("lights: the sender process could not start: %s (trying again in %g s)", exc, RESTART_EVERY_S)
            return
        finally:
            os.close(write_fd)
        self._broken = False
        threading.Thread(target=self._read_events, args=(read_fd,), name="light-events", daemon=True).start()

    def _read_events(self, fd: int) -> None:
        with os.fdopen(fd, "r") as events:
            for line in events:
                try:
                    ev = json.loads(line)
                except ValueError:
                    continue
                kind = ev.get("event")
                if kind == "stats":
                    self._stats([int(n) for n in ev.get("sent", [])])
                elif kind == "error" and ev.get("error"):
                    log.error("lights: %s: %s (retrying every frame)", ev.get("output"), ev["error"])
                elif kind == "error":
                    log.warning("lights: %s: sending again", ev.get("output"))
                elif kind == "house":
                    self._sender_house = bool(ev.get("up"))
                    log.warning("lights: the sender's house look %s (%s)", "up" if self._sender_house else "down",
                                ev.get("why"))

    def _stats(self, sent: list[int]) -> None:
        now_s = time.monotonic()
        if self._last_stats is not None and len(sent) == len(self._last_stats[1]):
            then_s, before = self._last_stats
            dt_s = max(now_s - then_s, 1e-6)
            self.rates_hz = [max(0, a - b) / dt_s for a, b in zip(sent, before)]
        self._last_stats = (now_s, sent)
        self.sent = sent

    def _write(self, data: bytes) -> None:
        proc = self._proc
        if proc is None or proc.poll() is not None:
            if time.monotonic() - self._spawned_s >= RESTART_EVERY_S:
                if proc is not None:
                    log.error("lights: the sender process ended (code %s); starting it again", proc.returncode)
                self._spawn()
            return
        try:
            assert proc.stdin is not None
            proc.stdin.write(data)
            proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError) as exc:
            if not self._broken:
                self._broken = True
                log.error("lights: cannot reach the sender process: %s", exc)

    # ---- the render thread -------------------------------------------------------------------
    def frame(self, now_s: float) -> dict[int, np.ndarray]:
        """The frames to send at ``now_s`` (monotonic): dark in a blackout, the house look while the
        pipeline stalls, else the look through the flash limiter."""
        if self.blackout:
            return self.look.blank()
        stalled = now_s - self._fed_s > STALL_S
        if stalled != self._stalled:
            self._stalled = stalled
            log.warning("lights: house look %s (%s)", "up" if stalled else "down",
                        f"no pipeline tick for {STALL_S:g} s" if stalled else "the pipeline ticks again")
        if stalled:
            return self.house
        limiter = self.limiter
        hook = None if limiter is None else (lambda b: limiter.limit(b, now_s))
        with self._lock:
            frames, _ = self.look.render(now_s, hook)
        return frames

    def _render_loop(self) -> None:
        next_s = time.monotonic()
        while not self._stop.is_set():
            self._wake.wait(max(0.0, next_s - time.monotonic()))
            self._wake.clear()
            if self._stop.is_set():
                break
            now_s = time.monotonic()
            try:
                self._write(pack_frames(self.frame(now_s)))
                self.frames_rendered += 1
            except Exception:  # a bug must not stop the lights thread: log it, go on
                log.exception("lights: a frame failed")
            if now_s >= next_s - 1e-4:  # a frame on the steady cadence (a trigger's extra frame leaves it be)
                next_s = next_s + self.period_s if now_s - next_s < self.period_s else now_s + self.period_s

    def start(self) -> None:
        """Start the sender process and the render thread."""
        if not self.outputs:
            return
        self._spawn()
        self._fed_s = time.monotonic()
        self._thread = threading.Thread(target=self._render_loop, name="lights", daemon=True)
        self._thread.start()

    def close(self, timeout_s: float = 3.0) -> None:
        """Stop rendering; the sender sends the house look, ends its sACN streams and exits."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        proc = self._proc
        if proc is None:
            return
        try:
            assert proc.stdin is not None
            proc.stdin.write(STOP_MESSAGE)
            proc.stdin.close()
        except (BrokenPipeError, OSError, ValueError):
            pass
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            log.error("lights: the sender process did not stop; ending it")
            proc.kill()
            proc.wait(timeout=2.0)
