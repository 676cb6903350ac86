"""The sound process measured from the sound itself: a SIGKILL, a patch that turns NaN, and
triggers stamped for later.

    python -m installation.bench.sound_faults [--wearers 4] [--buffer 256] [--json]

Under JACK (its dummy driver is started when no server runs), a recorder client in
a process of its own (:mod:`installation.bench.probe`) records what the sound
process plays: the sound process connects its first output to the recorder's
input (``[sound] jack_connect_to``), and so does every sound process that replaces it.

kill
    A rehearsal as ``ecosymphony rehearse`` runs it: simulated wearers, the default
    show and patch, sound on JACK, visuals headless, recording on. The sound
    process is killed with SIGKILL. The gap is the run of silence in the recording
    around the kill (the eco-symphony's pad never rests), and "back to half" is
    when a 50 ms window's level is again half what it was before. It also checks
    that nothing else restarted (the visuals, the threads) and that the recording
    holds every sample the show analysed.
nan
    A sound process playing :mod:`installation.bench.fault_patch` (a tone) is cued
    to turn one sample NaN inside its reverb. The bad sample is the first of the
    buffer the cue reached pyo in; silence in the recording starts within that
    buffer, and the sound is back when the rebuilt patch fades in.
scheduled
    Triggers sent ``SCHEDULE_AHEAD_S`` before they are due (as a predicted heartbeat
    is), in OSC bundles stamped with their time: liblo holds each in the sound
    process until its buffer. The error is the step heard minus the time it was due.

Needs Debian's jackd2 (``apt-get install jackd2``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from installation.bench import BenchError, fault_patch
from installation.bench.probe import Probe
from installation.sound.jack_server import DummyJackServer
from installation.sound.patch import load_patch
from installation.sound.process import SoundProcess, SoundSettings
from installation.sound.wire import expand_parameters

#: Below this magnitude a sample is silence.
SILENT = 1e-4
#: A run of silence shorter than this many samples is a zero crossing, not a gap.
MIN_RUN = 48
#: Scheduled triggers are sent this long before they are due, seconds.
SCHEDULE_AHEAD_S = 0.3


@dataclass(frozen=True, slots=True)
class KillReport:
    """The SIGKILL of a rehearsal's sound process, as heard."""

    wearers: int
    buffer_frames: int
    gap_ms: float
    back_to_half_ms: float
    sound_restarts: int
    visuals_restarts: int
    other_faults: list[str]
    recorded_samples: int
    analysed_samples: int
    xruns: int


@dataclass(frozen=True, slots=True)
class NanReport:
    """A NaN in the patch, as heard."""

    buffer_frames: int
    silence_after_buffer_start_samples: int
    back_ms: float
    watchdog_trips: int
    said: list[str]


@dataclass(frozen=True, slots=True)
class ScheduledReport:
    """Triggers stamped for later, as heard: step time minus due time."""

    buffer_frames: int
    count: int
    found: int
    median_ms: float
    p90_abs_ms: float
    sd_ms: float


def silent_runs(x: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) sample indices of every run of at least ``MIN_RUN`` silent samples."""
    quiet = np.abs(x) < SILENT
    edges = np.flatnonzero(np.diff(np.concatenate([[0], quiet.astype(np.int8), [0]])))
    runs = list(zip(edges[::2], edges[1::2]))
    return [(int(a), int(b)) for a, b in runs if b - a >= MIN_RUN]


def level(x: np.ndarray, rate_hz: int, window_s: float = 0.05) -> np.ndarray:
    """RMS over consecutive windows."""
    n = max(1, int(window_s * rate_hz))
    k = x.size // n
    return np.sqrt(np.mean(np.square(x[: k * n].reshape(k, n), dtype=np.float64), axis=1))


def measure_kill(probe: Probe, probe_port: str, rate_hz: int, wearers: int, buffer_frames: int) -> KillReport:
    """A rehearsal whose sound process is killed; the gap heard."""
    from installation.config import default_show_path, load_show
    from installation.record.reader import load_recording
    from installation.runtime.launch import LaunchOptions, build_session, make_recorder, make_sources, plan_outputs, prepare_show

    show = load_show(default_show_path())
    show = show.model_copy(update={"sound": show.sound.model_copy(update={"jack_connect_to": [probe_port], "fade_in_s": 0.5})})
    scratch = Path(tempfile.mkdtemp(prefix="ecosymphony-sound-faults-"))
    try:
        options = LaunchOptions(participants=wearers, seed=1, runs_dir=scratch, audio="file", visuals="frames",
                                live_edit=False, record_dir=scratch / "rec")
        prepared = prepare_show(show)
        sources, slots = make_sources(show, options, rehearsal=True)
        plan = plan_outputs(show, options, "bench")
        plan.audio_backend, plan.wav_path = "jack", None
        session = build_session(prepared, sources, slots, plan, recorder=make_recorder(show, options, "bench"))
        session.start()
        try:
            if session.renderer is not None and session.renderer.wait_started() is None:
                raise BenchError("the visuals process did not start")
            session.run(2.0)  # faded in
            probe.start_recording(6.0)
            session.run(2.0)
            sound = session.sound
            pid = getattr(sound, "pid", None)
            if pid is None:
                raise BenchError("the show has no sound process to kill")
            killed_s = time.monotonic()
            os.kill(pid, signal.SIGKILL)
            session.run(3.5)
            buffers, starts_s, xruns = probe.recorded()
        finally:
            session.stop()
        recording = load_recording(session.recorder.folder)  # type: ignore[union-attr]
        x = buffers.reshape(-1)
        t = (starts_s[:, None] + np.arange(buffers.shape[1]) / rate_hz).reshape(-1)
        runs = [r for r in silent_runs(x) if t[r[1] - 1] >= killed_s - 0.05]
        if not runs:
            raise BenchError("no silence was heard after the kill: was the sound process killed?")
        start, end = runs[0]
        before = level(x[(t > killed_s - 1.5) & (t < killed_s - 0.1)], rate_hz)
        after = level(x[start:], rate_hz)
        half = np.flatnonzero(after >= 0.5 * float(np.median(before)))
        restarts = int(getattr(sound, "restarts", 0))
        return KillReport(
            wearers=wearers, buffer_frames=buffer_frames,
            gap_ms=1000.0 * (end - start) / rate_hz,
            back_to_half_ms=1000.0 * float(half[0]) * 0.05 if half.size else math.nan,
            sound_restarts=restarts,
            visuals_restarts=session.renderer.restarts if session.renderer is not None else 0,
            other_faults=[f.line() for f in session.faults if f.part != "sound"],
            recorded_samples=len(recording.samples), analysed_samples=session.stats.samples, xruns=xruns,
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def measure_nan(probe: Probe, probe_port: str, rate_hz: int) -> NanReport:
    """A sound process whose patch turns NaN on cue; silence and return heard."""
    patch_class = load_patch(Path(fault_patch.__file__))
    sound = SoundProcess(
        SoundSettings(patch_path=fault_patch.__file__, wearers=["p1"], backend="jack", fade_in_s=0.05, fade_out_s=0.05,
                      jack_name=f"ecosymphony-nan-{os.getpid()}", jack_connect_outputs=False, jack_connect_to=[probe_port]),
        expand_parameters(patch_class.PARAMETERS, ["p1"]), patch_class.TRIGGER_VOICES, crossfade_s=0.0)
    sound.start()
    said: list[str] = []
    try:
        sound.set("level", 0.3)
        sound.flush()
        time.sleep(0.5)
        probe.start_recording(2.5)
        time.sleep(0.8)
        cued_s = time.monotonic()
        sound.trigger("cue.nan", 1.0)
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            said += sound.poll()
            time.sleep(0.02)
        buffers, starts_s, _ = probe.recorded()
        trips = sound.watchdog_trips
    finally:
        sound.stop()
    frames = buffers.shape[1]
    x = buffers.reshape(-1)
    t = (starts_s[:, None] + np.arange(frames) / rate_hz).reshape(-1)
    runs = [r for r in silent_runs(x) if t[r[0]] >= cued_s]
    if not runs:
        raise BenchError("no silence was heard after the cue: did the watchdog trip?")
    start, end = runs[0]
    return NanReport(buffer_frames=frames, silence_after_buffer_start_samples=int(start % frames),
                     back_ms=1000.0 * (end - start) / rate_hz, watchdog_trips=trips, said=said)


def measure_scheduled(probe: Probe, probe_port: str, rate_hz: int, count: int = 20) -> ScheduledReport:
    """Triggers sent ahead of their time to a sound process playing the step patch; when each was heard."""
    from installation.bench import step_patch
    from installation.bench.detect import event_latencies_ms

    sound = SoundProcess(
        SoundSettings(patch_path=step_patch.__file__, wearers=["p1"], backend="jack", fade_in_s=0.0, fade_out_s=0.0,
                      jack_name=f"ecosymphony-scheduled-{os.getpid()}", jack_connect_outputs=False,
                      jack_connect_to=[probe_port]),
        expand_parameters(step_patch.StepPatch.PARAMETERS, ["p1"]), 1, crossfade_s=0.0)
    sound.start()
    due_s: list[float] = []
    try:
        gap_s = SCHEDULE_AHEAD_S + 0.1
        probe.start_recording(0.5 + count * gap_s + 0.5)
        time.sleep(0.5)
        for _ in range(count):
            due_s.append(time.monotonic() + SCHEDULE_AHEAD_S)
            sound.trigger("p1.pulse", 1.0, delay_s=SCHEDULE_AHEAD_S)
            time.sleep(gap_s)
        buffers, starts_s, _ = probe.recorded()
    finally:
        sound.stop()
    early_s = 0.05  # looked for from this long before its time (a step that came early is found too)
    lat_ms = event_latencies_ms(buffers, starts_s, np.asarray(due_s) - early_s, rate_hz, 0.2, 2 * early_s)
    err = lat_ms[np.isfinite(lat_ms)] - early_s * 1000.0
    return ScheduledReport(buffer_frames=int(buffers.shape[1]), count=count, found=int(err.size),
                           median_ms=round(float(np.median(err)), 2) if err.size else math.nan,
                           p90_abs_ms=round(float(np.quantile(np.abs(err), 0.9)), 2) if err.size else math.nan,
                           sd_ms=round(float(np.std(err)), 2) if err.size else math.nan)


def run(wearers: int, buffer_frames: int) -> dict[str, object]:
    """Both measurements under one JACK server."""
    with DummyJackServer(48000, buffer_frames) as settings:
        name = f"ecosymphony-probe-{os.getpid()}"
        with Probe(name) as probe:
            port = f"{name}:in"
            kill = measure_kill(probe, port, settings.sample_rate_hz, wearers, settings.buffer_frames)
            nan = measure_nan(probe, port, settings.sample_rate_hz)
            scheduled = measure_scheduled(probe, port, settings.sample_rate_hz)
    return {"kill": asdict(kill), "nan": asdict(nan), "scheduled": asdict(scheduled)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m installation.bench.sound_faults", description=__doc__.split("\n")[0])
    parser.add_argument("--wearers", type=int, default=4, help="simulated wearers in the rehearsal (default 4)")
    parser.add_argument("--buffer", type=int, default=256, help="JACK frames a cycle (default 256)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    result = run(args.wearers, args.buffer)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    k, n = result["kill"], result["nan"]
    assert isinstance(k, dict) and isinstance(n, dict)
    print(f"SIGKILL of the sound process ({k['wearers']} wearers, {k['buffer_frames']} frames a cycle):")
    print(f"  silence heard: {k['gap_ms']:.0f} ms; back to half its level after {k['back_to_half_ms']:.0f} ms")
    print(f"  sound restarts {k['sound_restarts']}, visuals restarts {k['visuals_restarts']}, "
          f"other faults {len(k['other_faults'])}; recorded samples {k['recorded_samples']} "
          f"of {k['analysed_samples']} analysed")
    print(f"NaN in the patch ({n['buffer_frames']} frames a cycle):")
    print(f"  silence from sample {n['silence_after_buffer_start_samples']} of the bad sample's buffer "
          f"(within one buffer: {n['silence_after_buffer_start_samples'] < n['buffer_frames']}); "
          f"sound back after {n['back_ms']:.0f} ms; watchdog trips {n['watchdog_trips']}")
    for line in n["said"]:  # type: ignore[union-attr]
        print(f"  said: {line}")
    d = result["scheduled"]
    assert isinstance(d, dict)
    print(f"Triggers stamped {SCHEDULE_AHEAD_S:g} s ahead ({d['buffer_frames']} frames a cycle): {d['found']} of "
          f"{d['count']} heard; heard - due: median {d['median_ms']} ms, 90 % within {d['p90_abs_ms']} ms, "
          f"SD {d['sd_ms']} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
