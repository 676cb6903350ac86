"""The sound process: the pyo server and the patch in a child process of their own.

The show process keeps no pyo server. It starts this one (``python -m
installation.sound.process``), sends it parameters as OSC datagrams on loopback,
which pyo reads natively (:mod:`installation.sound.inputs`), and supervises it: a
sound process that dies, by any signal, is replaced at once, the new one gets every
parameter's current value and fades in, and the rest of the show never stops.

Talking to the child
--------------------
* parameters and triggers: OSC over UDP to ``127.0.0.1:<port>`` (:mod:`.wire`);
* commands (panic, fade out, stop): JSON lines on the child's standard input;
* what the child says (ready, a watchdog fault, figures, why it failed): JSON lines
  on a pipe of its own (pyo writes to standard output as it likes).

The child exits by itself when the show process goes (its standard input closes),
and when its audio stops (the JACK server went away), so that the supervisor can
start one that connects again.

The offline render and the deterministic tests keep using :class:`SoundEngine` in
their own process; the patch is the same.
"""

from __future__ import annotations

import gc
import json
import logging
import math
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

from installation.addresses import ParameterKind
from installation.sound.wire import TriggerTurns, bundle, datagrams, due_at, message, osc_path, voice_path

log = logging.getLogger(__name__)

#: Seconds the first start may take (a cold start imports pyo and numpy, and builds the patch).
START_TIMEOUT_S = 30.0
#: A replacement fades in over this, seconds.
RESTART_FADE_S = 0.3
#: A process that dies within this of playing, three times running, is started again only after ``RETRY_S``.
QUICK_DEATH_S = 2.0
#: Seconds between attempts while the sound cannot start (the JACK server is down).
RETRY_S = 1.0
#: A failure that repeats is logged again only after this, seconds.
REPEAT_LOG_S = 30.0
#: The child looks at its audio's health this often when nothing else wakes it, seconds.
HEALTH_PERIOD_S = 0.5
#: The child reports its figures this often, seconds.
STATS_PERIOD_S = 2.0
#: The sound process's niceness where it may raise its priority (root, or a raised RLIMIT_NICE):
#: a thread of its own holding the interpreter lock is then not put aside for other work while
#: pyo's audio callback waits for that lock.
NICENESS = -10
#: Exit codes of the child.
EXIT_FAILED_TO_START = 3
EXIT_AUDIO_STOPPED = 4


class SoundProcessError(RuntimeError):
    """The sound process could not start."""


@dataclass(frozen=True)
class SoundSettings:
    """Everything the sound process needs, sent to it as JSON.

    Attributes
    ----------
    patch_path : str
        The patch file.
    wearers : list of str
        Wearer slots.
    patch_settings : dict
        The show's ``[sound.settings]``.
    backend : str
        ``jack``, ``portaudio``, ``wav`` (see :class:`~installation.sound.engine.SoundEngine`).
    sample_rate_hz, buffer_frames : int
        Rate in hertz and buffer in frames (JACK decides both under JACK).
    ceiling_db : float
        Limiter ceiling, dBFS.
    fade_in_s, fade_out_s : float
        Master fades, seconds.
    device_index : int, optional
        PortAudio output device.
    wav_path : str, optional
        The WAV file (``wav`` backend).
    jack_name : str
        JACK client name.
    jack_connect_outputs : bool
        Connect to the physical playback ports.
    jack_connect_to : list of str
        JACK input ports to connect the outputs to as well (a recorder, a bench probe).
    seed : int, optional
        Seed of pyo's random objects.
    port : int
        UDP port the child's pyo reads parameters from (0: the parent picks one).
    """

    patch_path: str
    wearers: list[str]
    patch_settings: dict[str, float | str] = field(default_factory=dict)
    backend: str = "jack"
    sample_rate_hz: int = 48000
    buffer_frames: int = 256
    ceiling_db: float = -1.0
    fade_in_s: float = 2.0
    fade_out_s: float = 1.0
    device_index: int | None = None
    wav_path: str | None = None
    jack_name: str = "ecosymphony"
    jack_connect_outputs: bool = True
    jack_connect_to: list[str] = field(default_factory=list)
    seed: int | None = None
    port: int = 0


def free_udp_port() -> int:
    """A UDP port on the loopback interface that nothing holds now."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def segment_path(wav_path: str, index: int) -> str:
    """The WAV file of the ``index``-th sound process of a show (0: ``wav_path``; then ``name.2.wav`` ...)."""
    if index == 0:
        return wav_path
    p = Path(wav_path)
    return str(p.with_name(f"{p.stem}.{index + 1}{p.suffix}"))


# ---------------------------------------------------------------------------------------
# The child
# ---------------------------------------------------------------------------------------


def _child_main(settings: SoundSettings, events_fd: int) -> int:
    """Run the sound until told to stop, the parent goes, or the audio stops; return the exit code."""
    out = os.fdopen(events_fd, "w", buffering=1)
    out_lock = threading.Lock()

    def emit(event: str, **fields: Any) -> None:
        with out_lock:
            try:
                out.write(json.dumps({"event": event, **fields}) + "\n")
            except (OSError, ValueError):  # the parent is gone
                pass

    from installation.sound.engine import SoundEngine, SoundError
    from installation.sound.inputs import OscInputs
    from installation.sound.patch import load_patch, patch_location

    path = Path(settings.patch_path)
    try:
        patch_class = load_patch(path)
        patch = patch_class(settings.wearers, settings.patch_settings)
        trigger_voices = patch_class.trigger_voices_for(settings.wearers, settings.patch_settings)
    except Exception as exc:  # the artist's file: say where
        emit("failed", error=str(exc) if "failed to import" in str(exc) else
             f"{patch_location(path, exc)}: {type(exc).__name__}: {exc}", stage="patch")
        return EXIT_FAILED_TO_START
    engine = SoundEngine(
        patch, settings.backend,  # type: ignore[arg-type]
        sample_rate_hz=settings.sample_rate_hz, buffer_frames=settings.buffer_frames,
        ceiling_db=settings.ceiling_db, fade_in_s=settings.fade_in_s, fade_out_s=settings.fade_out_s,
        device_index=settings.device_index, wav_path=Path(settings.wav_path) if settings.wav_path else None,
        jack_name=settings.jack_name, jack_connect_outputs=settings.jack_connect_outputs, seed=settings.seed,
        inputs=OscInputs(settings.port, trigger_voices),
        on_fault=lambda m: emit("fault", message=m),
        jack_connect_to=settings.jack_connect_to,
    )
    try:
        engine.start()
    except Exception as exc:  # no JACK, no device, a patch that fails to build
        if isinstance(exc, SoundError):
            emit("failed", error=str(exc), stage="audio")
        else:
            emit("failed", error=f"{patch_location(path, exc)}: {type(exc).__name__}: {exc}", stage="patch")
        return EXIT_FAILED_TO_START

    commands: queue.Queue[dict[str, Any] | None] = queue.Queue()

    def read_commands() -> None:
        for line in sys.stdin:
            try:
                commands.put(json.loads(line))
            except ValueError:
                continue
        commands.put(None)  # the parent is gone

    threading.Thread(target=read_commands, name="sound-commands", daemon=True).start()
    # The main thread sleeps until a command, a watchdog trip or a look at the audio's health:
    # every wake takes the interpreter lock that pyo's audio callback needs too.
    engine.on_trip = lambda: commands.put({"cmd": "service"})
    live = settings.backend in ("jack", "portaudio")
    # pyo's audio callback takes the interpreter lock every buffer: a garbage collection of the
    # patch's thousands of objects, run from this thread, would hold it for milliseconds (an
    # xrun). They live as long as the patch: keep them out of the collector's way.
    gc.collect()
    gc.freeze()
    emit("ready", sample_rate_hz=engine.sample_rate_hz, buffer_frames=engine.buffer_frames,
         port=settings.port, pid=os.getpid(), jack_name=settings.jack_name, trigger_voices=trigger_voices)
    next_stats_s = time.monotonic()
    code = 0
    try:
        while True:
            try:
                cmd = commands.get(timeout=HEALTH_PERIOD_S)
            except queue.Empty:
                cmd = {}
            if cmd is None:  # the show process went: fade out quickly and go
                engine.fade_out(0.2)
                break
            name = cmd.get("cmd")
            if name == "stop":
                break
            if name == "panic":
                engine.panic(bool(cmd.get("on")))
            elif name == "fade_out":
                if cmd.get("time_s") is not None:  # a crossfade: exactly this long
                    engine.fade_out_s = float(cmd["time_s"])
                within = cmd.get("within_s")
                engine.fade_out(None if within is None else float(within))
            if engine.service():  # a rebuilt patch: its objects out of the collector's way too
                gc.collect()
                gc.freeze()
            now = time.monotonic()
            if live and (engine.server is None or not engine.server.getIsBooted()):
                emit("failed", error="the audio stopped (did the JACK server go away?)", stage="audio")
                code = EXIT_AUDIO_STOPPED
                break
            if now >= next_stats_s:
                next_stats_s = now + STATS_PERIOD_S
                emit("stats", late_buffers=engine.late_buffers, errors=engine.errors,
                     watchdog_trips=engine.watchdog_trips, panicked=engine.panicked)
    finally:
        if code == 0:
            engine.stop()
            emit("stopped")
        try:
            out.close()
        except OSError:  # the parent is gone
            pass
    return code


def main(argv: list[str] | None = None) -> int:
    """``python -m installation.sound.process SETTINGS_JSON EVENTS_FD``."""
    args = sys.argv[1:] if argv is None else argv
    os.dup2(2, 1)  # pyo's own messages go to standard error: the show's standard output may be JSON
    logging.basicConfig(level=logging.WARNING, format="sound process: %(levelname)s %(message)s")
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the show process, which stops us in turn
    try:
        os.setpriority(os.PRIO_PROCESS, 0, NICENESS)
    except OSError:  # not allowed here: the default priority
        pass
    settings = SoundSettings(**json.loads(args[0]))
    code = _child_main(settings, int(args[1]))
    sys.stdout.flush()
    os._exit(code)  # pyo's atexit handlers are not needed: the server is down


# ---------------------------------------------------------------------------------------
# The parent's side
# ---------------------------------------------------------------------------------------


@dataclass
class _Child:
    """One running sound process, seen from the show process."""

    proc: subprocess.Popen[bytes]
    port: int
    events: queue.Queue[dict[str, Any]]
    started_s: float
    ready: bool = False
    ready_s: float = math.nan
    failed: str | None = None
    stage: str = ""
    stats: dict[str, Any] = field(default_factory=dict)
    retiring: bool = False  # told to fade out and stop: its end is no fault
    stop_at_s: float = math.inf  # when it is told to stop (after its fade-out)


class SoundProcess:
    """The sound engine of a live show, in a supervised child process.

    Presents the same methods as :class:`~installation.sound.engine.SoundEngine`
    to the pipeline (``set``, ``trigger``, ``panic``, ``fade_out``, ``stop``), plus
    :meth:`poll`, which the session calls about 50 times a second: it restarts a
    process that died and returns what happened, for the operator.

    Parameters
    ----------
    settings : SoundSettings
        The sound process's settings (its port is chosen here).
    parameters : mapping of str to {"continuous", "trigger"}
        Every address the patch reads, wearers expanded (``p1.pulse``).
    trigger_voices : int
        Copies of each trigger the patch reads (its ``trigger_voices_for`` these wearers;
        the process's ready event says it again, and a new patch may change it).
    crossfade_s : float
        A patch file saved while the show plays crossfades to the new patch over this
        long (under JACK; elsewhere 0.5 s out, then in). 0 leaves the patch file alone.
    """

    def __init__(self, settings: SoundSettings, parameters: Mapping[str, ParameterKind], trigger_voices: int = 1,
                 crossfade_s: float = 2.0) -> None:
        self.settings = settings
        self.crossfade_s = crossfade_s
        self.parameters = dict(parameters)
        self.trigger_voices = trigger_voices
        self.values: dict[str, float] = {}
        self.errors = 0
        self.panicked = False
        self.restarts = 0
        self.exitcode: int | None = None
        self._turns = TriggerTurns(trigger_voices)
        self._children: list[_Child] = []
        self._ports: tuple[int, ...] = ()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._pending: list[bytes] = []
        self._spawned = 0
        self._retry_at_s = math.nan
        self._last_fail_log_s = -math.inf
        self._fading_out_until_s = math.nan
        self._stopped = False
        self._replacing: _Child | None = None  # a new patch's process, not playing yet
        self._crossfade_s = 2.0
        self._spawn_when_alone_s = math.nan  # (not JACK) the new patch starts once the old one has gone: its fade-in
        self._said: list[str] = []
        self._quick_deaths = 0
        self._checking: _Child | None = None  # (not JACK) a new patch built without audio first
        self._patch_stamp = self._patch_mtime()
        self._next_patch_look_s = 0.0

    # ---- what the pipeline calls -------------------------------------------------------
    @property
    def processes_started(self) -> int:
        """Sound processes started so far (each writes its own WAV file without a sound card)."""
        return self._spawned

    @property
    def fade_out_s(self) -> float:
        """The master fade-out, seconds."""
        return self.settings.fade_out_s

    @property
    def late_buffers(self) -> int:
        return int(sum(c.stats.get("late_buffers", 0) for c in self._children))

    @property
    def watchdog_trips(self) -> int:
        return int(sum(c.stats.get("watchdog_trips", 0) for c in self._children))

    @property
    def alive(self) -> bool:
        """Whether a sound process is playing (as far as :meth:`poll` last saw)."""
        return any(c.ready and not c.retiring for c in self._children)

    @property
    def pid(self) -> int | None:
        """The PID of the playing sound process (the newest)."""
        playing = [c for c in self._children if c.ready and c.proc.poll() is None]
        return playing[-1].proc.pid if playing else None

    def set(self, address: str, value: float) -> None:
        """Set a continuous parameter (sent with the next :meth:`flush`)."""
        if self.parameters.get(address) != "continuous" or not math.isfinite(value):
            self._unknown(address, value)
            return
        if self.values.get(address) == value:
            return
        self.values[address] = value
        self._pending.append(message(osc_path(address), value))

    def trigger(self, address: str, value: float, delay_s: float = 0.0) -> None:
        """Fire a trigger now, or ``delay_s`` seconds from now (liblo holds it; to a buffer)."""
        if self.parameters.get(address) != "trigger":
            self._unknown(address, value)
            return
        k, encoded = self._turns.fire(address, value)
        m = message(voice_path(address, k), encoded)
        self._send(bundle([m], due_at(delay_s)) if delay_s > 0.0 else m)

    def flush(self) -> None:
        """Send the values set since the last flush."""
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        for d in datagrams(pending):
            self._send(d)

    def _send(self, data: bytes) -> None:
        for port in self._ports:  # (a tuple the supervisor replaces whole: safe from the core thread)
            try:
                self._sock.sendto(data, ("127.0.0.1", port))
            except OSError:  # a port that went with its process; the supervisor sees to it
                pass

    def _children_changed(self) -> None:
        self._ports = tuple(c.port for c in self._children)

    def _unknown(self, address: str, value: float) -> None:
        self.errors += 1
        if self.errors <= 5:
            what = "a value that is not a number" if not math.isfinite(value) else "no such parameter"
            log.warning("sound.%s: %s (%r); not sent", address, what, value)

    def panic(self, on: bool | None = None) -> bool:
        """Mute within 10 ms (a ramp), or bring the sound back; None toggles. The state outlives a restart."""
        self.panicked = (not self.panicked) if on is None else on
        self._command({"cmd": "panic", "on": self.panicked})
        log.warning("PANIC: sound muted" if self.panicked else "panic released: sound back")
        return self.panicked

    def fade_out(self, within_s: float | None = None) -> float:
        """Begin the master fade-out; return the seconds until silence."""
        seconds = self.settings.fade_out_s if within_s is None else max(0.0, min(self.settings.fade_out_s, within_s))
        if math.isnan(self._fading_out_until_s):
            self._fading_out_until_s = time.monotonic() + seconds
            self._command({"cmd": "fade_out", "within_s": seconds})
        return max(0.0, self._fading_out_until_s - time.monotonic())

    def _command(self, cmd: dict[str, Any], children: list[_Child] | None = None) -> None:
        line = (json.dumps(cmd) + "\n").encode()
        for c in children if children is not None else self._children:
            if c.proc.poll() is None and c.proc.stdin is not None:
                try:
                    c.proc.stdin.write(line)
                    c.proc.stdin.flush()
                except OSError:
                    pass

    # ---- starting, supervising, stopping ------------------------------------------------
    def start(self, timeout_s: float = START_TIMEOUT_S) -> None:
        """Start the sound process and wait until it plays.

        Raises
        ------
        SoundProcessError
            With the child's own words (no JACK server, a patch that fails to build).
        """
        child = self._spawn(self.settings.fade_in_s)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self._drain(child)
            if child.ready:
                return
            if child.failed is not None or child.proc.poll() is not None:
                self._forget(child)
                raise SoundProcessError(child.failed or f"the sound process exited with code {child.proc.returncode}")
            time.sleep(0.005)
        self._kill(child)
        raise SoundProcessError(f"the sound process did not start within {timeout_s:.0f} s")

    def _spawn(self, fade_in_s: float, settings: SoundSettings | None = None, listen: bool = True) -> _Child:
        """Start a sound process; ``listen``: it is sent the parameters (not a build check)."""
        s = settings or self.settings
        port = free_udp_port()
        wav = segment_path(s.wav_path, self._spawned) if s.wav_path else None
        s = replace(s, port=port, fade_in_s=fade_in_s, wav_path=wav)
        if s.backend == "jack" and self._spawned:  # a JACK name may linger a moment after its client
            s = replace(s, jack_name=f"{s.jack_name}-{self._spawned + 1}")
        if listen:
            self._spawned += 1
        read_fd, write_fd = os.pipe()
        env = dict(os.environ, PYO_GUI_WX="0")
        if s.backend == "jack":
            env.setdefault("JACK_NO_START_SERVER", "1")
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "installation.sound.process", json.dumps(asdict(s)), str(write_fd)],
                stdin=subprocess.PIPE, pass_fds=(write_fd,), env=env, start_new_session=True,
            )
        finally:
            os.close(write_fd)
        events: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=_read_events, args=(read_fd, events), name="sound-events", daemon=True).start()
        child = _Child(proc, port, events, time.monotonic())
        if listen:
            if not self._children:  # alone, it starts with every copy at rest: so do the turns
                self._turns = TriggerTurns(self.trigger_voices)
            self._children.append(child)
            self._children_changed()
        return child

    def _drain(self, child: _Child) -> list[dict[str, Any]]:
        got = []
        while True:
            try:
                ev = child.events.get_nowait()
            except queue.Empty:
                return got
            got.append(ev)
            kind = ev.get("event")
            if kind == "ready":
                child.ready, child.ready_s = True, time.monotonic()
                voices = int(ev.get("trigger_voices", self.trigger_voices))
                if voices != self.trigger_voices:  # a new patch with more or fewer copies
                    self.trigger_voices, self._turns = voices, TriggerTurns(voices)
                self._on_ready(child)
            elif kind == "failed":
                child.failed, child.stage = str(ev.get("error")), str(ev.get("stage", ""))
            elif kind == "stats":
                child.stats = ev

    def _on_ready(self, child: _Child) -> None:
        """A new process plays: give it every current value, and the panic state."""
        for d in datagrams([message(osc_path(a), v) for a, v in list(self.values.items())]):
            try:
                self._sock.sendto(d, ("127.0.0.1", child.port))
            except OSError:
                pass
        if self.panicked:
            self._command({"cmd": "panic", "on": True}, [child])

    def poll(self) -> list[str]:
        """Supervise: read what the processes said, replace one that died, finish a patch change;
        return sentences for the operator's fault log (empty: nothing happened). Call about 50
        times a second."""
        if self._stopped:
            return []
        now = time.monotonic()
        said, self._said = self._said, []
        if self.crossfade_s > 0 and now >= self._next_patch_look_s:
            self._next_patch_look_s = now + 0.25
            stamp = self._patch_mtime()
            if stamp is not None and stamp != self._patch_stamp:
                self._patch_stamp = stamp
                said.append(f"patch file saved: building it in a new sound process ({self.settings.patch_path})")
                self.replace(self.crossfade_s)
        if self._checking is not None:
            said += self._poll_check()
        for child in list(self._children):
            for ev in self._drain(child):
                if ev.get("event") == "fault":
                    said.append(str(ev.get("message")))
            if child is self._replacing and child.ready:
                self._replacing = None
                self._retire([c for c in self._children if c is not child], self._crossfade_s)
                said.append(f"new patch playing (crossfade {self._crossfade_s:g} s)")
            if now >= child.stop_at_s:
                self._command({"cmd": "stop"}, [child])
                child.stop_at_s = math.inf
            code = child.proc.poll()
            if code is None:
                continue
            self._forget(child)
            if child is self._replacing:  # a new patch that did not build: the old one plays on
                self._replacing = None
                said.append(f"new patch not playing, the previous one plays on: {child.failed or _describe_exit(code)}")
                continue
            if child.retiring:
                continue
            self.exitcode = code
            if any(c.ready and not c.retiring for c in self._children):
                continue
            # One that never played (no JACK yet), or keeps dying as soon as it plays, is tried every RETRY_S.
            self._quick_deaths = self._quick_deaths + 1 if not child.ready or now - child.ready_s < QUICK_DEATH_S else 0
            quick = not child.ready or self._quick_deaths >= 3
            why = child.failed or _describe_exit(code)
            if not quick or now - self._last_fail_log_s >= REPEAT_LOG_S:
                self._last_fail_log_s = now
                said.append(f"sound process stopped ({why}); starting a new one"
                            + (f", every {RETRY_S:g} s until it plays" if quick else ""))
            self._retry_at_s = now + (RETRY_S if quick else 0.0)
        if not self._children:
            if not math.isnan(self._spawn_when_alone_s):
                fade_s, self._spawn_when_alone_s = self._spawn_when_alone_s, math.nan
                self._spawn(fade_s)
            elif not math.isnan(self._retry_at_s) and now >= self._retry_at_s:
                self._retry_at_s = math.nan
                self.restarts += 1
                self._spawn(RESTART_FADE_S)
        return said

    def _retire(self, children: list[_Child], fade_s: float) -> None:
        """Fade ``children`` out over ``fade_s`` and stop them then."""
        for c in children:
            c.retiring = True
            c.stop_at_s = time.monotonic() + fade_s + 0.05
        self._command({"cmd": "fade_out", "within_s": fade_s, "time_s": fade_s}, children)

    def replace(self, crossfade_s: float = 2.0) -> None:
        """Play the patch file as it is now in a new process, crossfading from the old one.

        Under JACK both play at once: the new one fades in over ``crossfade_s`` while
        the old one fades out. With another backend (one device, one WAV file) the
        patch is first built in a process without audio; if it builds, the old
        process fades out (0.5 s) and the new one then fades in. A patch that fails to
        build leaves the old one playing; :meth:`poll` says why, with file and line.
        """
        if self._stopped or self._replacing is not None or self._checking is not None:
            return
        self._crossfade_s = crossfade_s
        if self.settings.backend == "jack":
            self._replacing = self._spawn(crossfade_s)
            return
        self._checking = self._spawn(0.0, replace(self.settings, backend="manual", wav_path=None), listen=False)

    def _poll_check(self) -> list[str]:
        """(not JACK) The new patch was built without audio: swap to it, or say why not."""
        child = self._checking
        assert child is not None
        self._drain(child)
        if child.ready:
            self._command({"cmd": "stop"}, [child])
            self._checking = None
            self._retire(list(self._children), 0.5)
            self._spawn_when_alone_s = 0.5
            return ["new patch built; the old one fades out and the new one in"]
        if child.failed is not None or child.proc.poll() is not None:
            self._checking = None
            self._kill(child)
            return [f"new patch not playing, the previous one plays on: {child.failed or _describe_exit(child.proc.returncode)}"]
        return []

    def _patch_mtime(self) -> int | None:
        try:
            return Path(self.settings.patch_path).stat().st_mtime_ns
        except OSError:
            return None

    def stop(self, timeout_s: float = 5.0) -> None:
        """Fade out (or finish the fade begun), stop every sound process, and wait for them."""
        if self._stopped:
            return
        self._stopped = True
        if self._checking is not None:
            self._kill(self._checking)
            self._checking = None
        if math.isnan(self._fading_out_until_s):
            self.fade_out()
        wait_s = max(0.0, self._fading_out_until_s - time.monotonic())
        time.sleep(wait_s + 0.05)
        self._command({"cmd": "stop"})
        deadline = time.monotonic() + timeout_s
        for c in self._children:
            try:
                c.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.error("the sound process did not stop within %.0f s; ending it", timeout_s)
                self._kill(c)
            if c.proc.stdin is not None:
                try:
                    c.proc.stdin.close()
                except OSError:
                    pass
        self._children.clear()
        self._children_changed()
        self._sock.close()

    def _kill(self, child: _Child) -> None:
        try:
            child.proc.kill()
            child.proc.wait(timeout=5.0)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self._forget(child)

    def _forget(self, child: _Child) -> None:
        if child in self._children:
            self._children.remove(child)
            self._children_changed()
        if child.proc.stdin is not None:
            try:
                child.proc.stdin.close()
            except OSError:
                pass


def _read_events(fd: int, events: queue.Queue[dict[str, Any]]) -> None:
    with os.fdopen(fd, "r") as f:
        for line in f:
            try:
                events.put(json.loads(line))
            except ValueError:
                continue


def _describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    if code == EXIT_AUDIO_STOPPED:
        return "its audio stopped"
    return f"exit code {code}"


if __name__ == "__main__":
    sys.exit(main())
