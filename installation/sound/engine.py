"""The pyo server, its backends, and the master safety chain around a patch.

Backends
--------
``portaudio``
    A real output device; pyo computes audio in its own native thread.
``jack``
    A JACK server that is already running; pyo is one of its clients and computes
    audio in JACK's real-time thread (outputs connected to the physical playback
    ports unless asked not to).
``wav``
    No sound card: pyo runs in manual mode, a pacing thread computes buffers in
    real time and pyo records the master output to a WAV file.
``manual``
    Tests: nothing runs by itself; :meth:`SoundEngine.process` computes buffers.

The patch reads its parameters from inputs (:mod:`installation.sound.inputs`):
set from Python here by :meth:`SoundEngine.set` and :meth:`SoundEngine.trigger`
(the offline render, the tests), or read by pyo from OSC in the sound process
(:mod:`installation.sound.process`).

Master chain (applied to every patch): watchdog (bad samples silenced; a patch
that goes bad is muted and rebuilt) -> denormal guard -> DC blocker -> master fade
-> panic mute -> look-ahead limiter at the show's ceiling -> hard clip at the same
ceiling -> watchdog mute.
"""

from __future__ import annotations

import contextlib
import gc
import inspect
import logging
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Literal

from installation.sound.inputs import PatchInputs, SigInputs
from installation.sound.patch import Patch, patch_location
from installation.sound.watchdog import Watchdog

os.environ.setdefault("PYO_GUI_WX", "0")
import pyo  # noqa: E402  (after the environment that silences its GUI notice)

log = logging.getLogger(__name__)

#: Seconds over which the panic mute ramps the output down (short, yet no click).
PANIC_RAMP_S = 0.01
#: Seconds over which a patch rebuilt by the watchdog fades back in.
REBUILD_FADE_S = 0.3
#: A patch that goes bad this many times within ``REPEAT_WINDOW_S`` is not rebuilt again: it
#: stays muted (saving the patch file, or a restart, brings a new one).
REPEAT_TRIPS = 3
REPEAT_WINDOW_S = 10.0

Backend = Literal["portaudio", "jack", "wav", "manual"]


def _share_the_interpreter(buffer_s: float) -> None:
    """Make Python threads hand over the interpreter lock at least four times per audio buffer.

    pyo's audio callback takes Python's global interpreter lock for every buffer; a
    Python thread busy with other work (mapping features, drawing) would otherwise
    keep it for up to the default 5 ms switch interval, and the buffer comes late (an
    xrun, and a late sound). Process-wide, and only ever lowered.
    """
    wanted_s = max(1e-4, buffer_s / 4.0)
    if sys.getswitchinterval() > wanted_s:
        sys.setswitchinterval(wanted_s)
        log.info("Python switch interval set to %.2f ms for the audio callback", wanted_s * 1000.0)


class SoundError(RuntimeError):
    """The audio engine could not start or failed."""


class SoundEngine:
    """Owns one pyo server and one patch.

    Parameters
    ----------
    patch : Patch
        The patch to play (built in :meth:`start`).
    backend : {"portaudio", "jack", "wav", "manual"}
        Where the audio goes.
    sample_rate_hz : int
        Sampling rate in hertz.
    buffer_frames : int
        pyo buffer size in frames.
    ceiling_db : float
        Limiter ceiling in dBFS.
    fade_in_s, fade_out_s : float
        Master fades at start and stop, in seconds.
    device_index : int, optional
        PortAudio output device index (``portaudio`` backend).
    wav_path : Path, optional
        Output file (``wav`` backend; optional for ``manual``).
    jack_name : str
        JACK client name (``jack`` backend); its ports are ``<jack_name>:output_1``, ...
    jack_connect_outputs : bool
        Connect the outputs to the physical playback ports (``jack`` backend).
    jack_connect_to : list of str, optional
        JACK input ports to connect the outputs to as well, one per channel
        (``["recorder:in_1", "recorder:in_2"]``; ``jack`` backend).
    seed : int, optional
        Seed of pyo's random objects (grains, ticks), for a repeatable render;
        default: the clock's, a new piece every time.
    inputs : PatchInputs, optional
        Where the patch's parameters come from; default: :class:`SigInputs`, set by
        :meth:`set` and :meth:`trigger`.
    on_fault : callable, optional
        Told (a sentence) when the watchdog trips and when the rebuilt patch plays;
        default: logged.
    """

    def __init__(
        self,
        patch: Patch,
        backend: Backend,
        sample_rate_hz: int = 48000,
        buffer_frames: int = 256,
        ceiling_db: float = -1.0,
        fade_in_s: float = 2.0,
        fade_out_s: float = 1.0,
        device_index: int | None = None,
        wav_path: Path | None = None,
        jack_name: str = "ecosymphony",
        jack_connect_outputs: bool = True,
        seed: int | None = None,
        inputs: PatchInputs | None = None,
        on_fault: Callable[[str], None] | None = None,
        jack_connect_to: list[str] | None = None,
    ) -> None:
        if backend == "wav" and wav_path is None:
            raise SoundError("the wav backend needs a wav_path")
        self.patch = patch
        self.backend = backend
        self.sample_rate_hz = sample_rate_hz
        self.buffer_frames = buffer_frames
        self.ceiling_db = ceiling_db
        self.fade_in_s = fade_in_s
        self.fade_out_s = fade_out_s
        self.device_index = device_index
        self.wav_path = wav_path
        self.jack_name = jack_name
        self.jack_connect_outputs = jack_connect_outputs
        self.seed = seed
        self.jack_connect_to = list(jack_connect_to or [])
        if inputs is None:
            inputs = SigInputs(type(patch).trigger_voices_for(patch.wearers, patch.settings))
        self.inputs = inputs
        self.on_fault = on_fault or (lambda message: log.error("sound: %s", message))
        self.watchdog: Watchdog | None = None
        self.watchdog_trips = 0
        #: Called (from the audio thread) when the watchdog trips, so that an owner waiting can call :meth:`service`.
        self.on_trip: Callable[[], None] | None = None
        self._tripped: str | None = None
        self._trip_times_s: list[float] = []
        self.gave_up = False
        self._guard: Any = None
        self.server: Any = None
        self.errors = 0
        self.late_buffers = 0
        self.buffers_done = 0
        self._nodes: list[Any] = []
        self._later: list[Any] = []
        self._fade: Any = None
        self._mute: Any = None
        self.panicked = False
        self._pacer: threading.Thread | None = None
        self._stop = threading.Event()
        self._silent_at_s: float | None = None  # when a fade-out begun by fade_out() reaches silence (perf_counter)
        # Without a sound card our own thread computes the audio; pyo is not safe against
        # objects changing (a Trig's play(), a SigTo's value) in the middle of a buffer
        # there, so buffers and parameter changes take turns. PortAudio's and JACK's threads are pyo's own.
        self._lock = threading.Lock() if backend in ("wav", "manual") else contextlib.nullcontext()

    @property
    def ceiling(self) -> float:
        """Limiter ceiling as a linear amplitude."""
        return 10.0 ** (self.ceiling_db / 20.0)

    def start(self) -> None:
        """Boot the server, build the patch and the master chain, start the audio."""
        audio = self.backend if self.backend in ("portaudio", "jack") else "manual"
        if self.backend == "jack":
            # libjack starts a server of its own when none runs (a real sound card's,
            # from ~/.jackdrc): the venue's audio set-up decides that, not us.
            os.environ.setdefault("JACK_NO_START_SERVER", "1")
        server = pyo.Server(
            sr=self.sample_rate_hz, nchnls=2, buffersize=self.buffer_frames, duplex=0, audio=audio,
            jackname=self.jack_name,
        )
        if self.backend == "jack":
            server.setJackAuto(False, self.jack_connect_outputs)
            if self.jack_connect_to:  # one list of ports per output channel
                server.setJackAutoConnectOutputPorts([self.jack_connect_to[i:i + 1] for i in range(2)])
        if self.backend in ("portaudio", "jack"):
            _share_the_interpreter(self.buffer_frames / self.sample_rate_hz)
        server.deactivateMidi()
        if self.seed is not None:
            server.setGlobalSeed(max(1, self.seed))  # pyo's random objects repeat (0 would mean the clock)
        if self.device_index is not None:
            server.setOutputDevice(self.device_index)
        server.setVerbosity(1)
        server.boot()
        if not server.getIsBooted():
            hint = " (is a JACK server running?)" if self.backend == "jack" else ""
            raise SoundError(f"pyo server failed to boot with the {self.backend} backend{hint}")
        if self.backend == "jack":  # pyo takes the JACK server's rate and buffer size
            self.sample_rate_hz = int(server.getSamplingRate())
            self.buffer_frames = int(server.getBufferSize())
        self.server = server
        try:
            if self.wav_path is not None:
                server.recordOptions(filename=str(self.wav_path), fileformat=0, sampletype=3)  # 32-bit float WAV
                server.recstart(str(self.wav_path))
            # Built before the audio starts: until then pyo's JACK callback writes zeros without
            # the interpreter lock, so a long build cannot make it late (xruns at start-up).
            self._build_chain()
            server.start()
        except Exception:
            self._shutdown_server()
            raise
        if self.backend == "wav":
            self._pacer = threading.Thread(target=self._pace, name="audio-wav-pacer", daemon=True)
            self._pacer.start()

    def _build_chain(self, fade_in_s: float | None = None) -> None:
        out = self.patch.build(self.inputs)
        self.watchdog = Watchdog(out, self.sample_rate_hz, self._trip)
        fade = pyo.SigTo(0.0, time=max(self.fade_in_s if fade_in_s is None else fade_in_s, 0.005), init=0.0)
        fade.setValue(1.0)
        mute = pyo.SigTo(0.0 if self.panicked else 1.0, time=PANIC_RAMP_S, init=0.0 if self.panicked else 1.0)
        guarded = pyo.Denorm(self.watchdog.out)  # a whisper of noise keeps decaying filters out of denormal numbers
        dc = pyo.DCBlock(guarded)
        pre = pyo.Sig(dc, mul=fade * mute)
        # Look-ahead is kept tiny (0.1 ms, 5 samples): every millisecond of it is
        # a millisecond between a heartbeat and its sound. pyo treats lookahead=0
        # as a full 25 ms delay, so 0 must not be used. Overshoot that the
        # limiter lets through in its first milliseconds is caught by the clip.
        limiter = pyo.Compress(
            pre, thresh=self.ceiling_db - 3.0, ratio=40, risetime=0.001, falltime=0.2, lookahead=0.1, knee=0.2
        )
        clip = pyo.Clip(limiter, min=-self.ceiling, max=self.ceiling)
        guard = pyo.Sig(1.0)  # the watchdog's mute: 0 from the buffer after a trip
        final = pyo.Sig(clip, mul=guard).out()
        self._fade, self._mute, self._guard = fade, mute, guard
        self._nodes = [out, fade, mute, guarded, dc, pre, limiter, clip, guard, final]

    def _trip(self, what: str) -> None:
        """The watchdog saw ``what`` (audio thread): mute from the next buffer on; :meth:`service` rebuilds."""
        if self._tripped is not None:
            return
        if self._guard is not None:
            self._guard.setValue(0.0)
        self._tripped = what
        self.watchdog_trips += 1
        if self.on_trip is not None:
            self.on_trip()

    def service(self) -> bool:
        """Rebuild the patch if the watchdog tripped (not from the audio thread); True when it did.

        The rebuilt patch reads the same inputs (every parameter keeps its value)
        and fades in over ``REBUILD_FADE_S``.
        """
        what = self._tripped
        if what is None or self.server is None or self.gave_up:
            return False
        now_s = (self.buffers_done * self.buffer_frames / self.sample_rate_hz if self.backend in ("wav", "manual")
                 else time.monotonic())
        self._trip_times_s = [t for t in self._trip_times_s if now_s - t < REPEAT_WINDOW_S] + [now_s]
        if len(self._trip_times_s) >= REPEAT_TRIPS:
            self.gave_up = True
            self.on_fault(f"watchdog: {what}; the patch went bad {len(self._trip_times_s)} times within "
                          f"{REPEAT_WINDOW_S:g} s: the sound stays muted until the patch file is saved again "
                          "or the show restarts")
            return False
        with self._lock:
            self._release_chain()
            try:
                self._build_chain(REBUILD_FADE_S)
            except Exception as exc:  # the same patch built before; say why, and stay silent
                where = patch_location(Path(inspect.getsourcefile(type(self.patch)) or "patch"), exc)
                self.on_fault(f"watchdog: {what}; the patch could not be rebuilt ({where}: {type(exc).__name__}: {exc})")
                self.errors += 1
                return False
            self._tripped = None
        self.on_fault(f"watchdog: {what}; output muted, patch rebuilt, fading back in")
        return True

    def _release_chain(self) -> None:
        for node in self._nodes:
            with contextlib.suppress(Exception):
                node.stop()
        self._nodes.clear()
        self._fade = self._mute = self._guard = None
        if self.watchdog is not None:
            self.watchdog.release()
            self.watchdog = None
        self.patch.release()

    def _pace(self) -> None:
        buffer_s = self.buffer_frames / self.sample_rate_hz
        start = time.perf_counter()
        while not self._stop.is_set():
            due = int((time.perf_counter() - start) / buffer_s)
            behind = due - self.buffers_done
            if behind > int(0.5 / buffer_s):
                # More than half a second behind (machine stalled): skip, do not race.
                self.late_buffers += behind
                self.buffers_done = due
                continue
            for _ in range(behind):
                with self._lock:
                    self.server.process()
            self.buffers_done += max(0, behind)
            self.service()
            next_s = start + (self.buffers_done + 1) * buffer_s
            time.sleep(max(0.0, min(0.01, next_s - time.perf_counter())))

    def process(self, buffers: int) -> None:
        """Compute ``buffers`` buffers now (``manual`` backend only)."""
        if self.backend != "manual":
            raise SoundError("process() is only for the manual backend")
        for _ in range(buffers):
            with self._lock:
                self.server.process()
            self.buffers_done += 1
            self.service()

    def process_seconds(self, seconds: float) -> None:
        """Compute ``seconds`` of audio now (``manual`` backend only)."""
        self.process(max(1, round(seconds * self.sample_rate_hz / self.buffer_frames)))

    def set(self, address: str, value: float) -> None:
        """Set a continuous patch parameter (an address the patch does not read is counted, not raised)."""
        inputs = self._sig_inputs()
        with self._lock:
            known = inputs.set(address, value)
        if not known:
            self._unknown(address)

    def trigger(self, address: str, value: float, delay_s: float = 0.0) -> None:
        """Fire a patch trigger, now or ``delay_s`` seconds from now on the audio clock (to a buffer)."""
        inputs = self._sig_inputs()
        if address not in inputs.triggers:
            self._unknown(address)
            return
        if delay_s > 0.0:
            with self._lock:
                self._later[:] = [c for c in self._later if c.isPlaying()]  # those that fired stop by themselves
                self._later.append(pyo.CallAfter(self._fire_now, time=max(delay_s, 1e-4), arg=(address, value)))
            return
        with self._lock:
            inputs.fire(address, value)

    def _fire_now(self, pair: tuple[str, float]) -> None:
        self.inputs.fire(*pair)  # type: ignore[attr-defined]  (audio thread: the lock is the caller's)

    def _sig_inputs(self) -> SigInputs:
        if not isinstance(self.inputs, SigInputs):
            raise SoundError("this engine's patch reads its parameters from OSC; send them there")
        return self.inputs

    def _unknown(self, address: str) -> None:
        self.errors += 1
        if self.errors <= 5:
            log.warning("the patch has no parameter sound.%s", address)

    def flush(self) -> None:
        """End of a tick (values set here take effect at the next buffer already)."""

    def panic(self, on: bool | None = None) -> bool:
        """Silence the output within ``PANIC_RAMP_S`` (a ramp, so no click), or bring it back.

        Parameters
        ----------
        on : bool, optional
            True mutes, False unmutes; None toggles.

        Returns
        -------
        bool
            Whether the output is now muted.
        """
        self.panicked = (not self.panicked) if on is None else on
        if self._mute is not None:
            with self._lock:
                self._mute.setValue(0.0 if self.panicked else 1.0)
        log.warning("PANIC: sound muted" if self.panicked else "panic released: sound back")
        return self.panicked

    def fade_out(self, within_s: float | None = None) -> float:
        """Begin the master fade-out now, while the show goes on; return the seconds until silence.

        The fade takes ``fade_out_s`` (or ``within_s`` when that is shorter). Called
        again, it changes nothing and returns the seconds left. :meth:`stop` then only
        waits for what is left of it. Not for the ``manual`` backend (0 is returned).
        """
        if self._silent_at_s is not None:
            return max(0.0, self._silent_at_s - time.perf_counter())
        if self.server is None or self._fade is None or self.fade_out_s <= 0 or self.backend == "manual":
            return 0.0
        seconds = self.fade_out_s if within_s is None else max(0.0, min(self.fade_out_s, within_s))
        with self._lock:
            self._fade.setTime(max(seconds, 0.005))
            self._fade.setValue(0.0)
        self._silent_at_s = time.perf_counter() + seconds
        return seconds

    def stop(self) -> None:
        """Fade out (or finish the fade :meth:`fade_out` began), stop the audio, close the WAV file
        and shut the server down."""
        if self.server is None:
            return
        if self._silent_at_s is not None:
            time.sleep(max(0.0, self._silent_at_s - time.perf_counter()) + 0.05)
        elif self._fade is not None and self.fade_out_s > 0:
            with self._lock:
                self._fade.setTime(self.fade_out_s)
                self._fade.setValue(0.0)
            if self.backend == "manual":
                self.process_seconds(self.fade_out_s + 0.05)
            else:
                time.sleep(self.fade_out_s + 0.05)
        self._stop.set()
        if self._pacer is not None:
            self._pacer.join(timeout=5.0)
            self._pacer = None
        self._shutdown_server()

    def _shutdown_server(self) -> None:
        server, self.server = self.server, None
        if server is None:
            return
        if self.wav_path is not None:
            server.recstop()
            if self.backend in ("wav", "manual"):
                server.process()  # lets pyo flush and close the file
        server.stop()
        # Free every pyo object now, in this thread, while its server still exists.
        self._later.clear()
        self._release_chain()
        self.inputs.release()
        gc.collect()
        server.shutdown()
