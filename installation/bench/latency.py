"""``ecosymphony bench latency``: sensor event -> first changed sample, in real time.

Under JACK (its dummy driver when no server runs), a probe process plays the
sensor rig and records the output (see :mod:`installation.bench.probe`). Two
paths are measured in one run, with the same events at the same random gaps:

floor
    A bare pyo ``OscReceive`` on a UDP port, its value sent straight to the
    output: the least any pyo program can do.
ours
    The whole program: the real source (``OscSource`` on a UDP port, or
    ``SerialSource`` on a pseudo-terminal) -> its reader thread -> the
    session's core thread (a device-reported beat: an inter-beat interval) ->
    the mapper (``p*.heart.beat`` -> ``sound.p*.pulse``) -> an OSC datagram on
    loopback -> the sound process (pyo's own ``OscReceive``, ``jack`` backend) -> a
    patch whose trigger flips its output level -> the watchdog and the master chain
    (DC blocker, fade, limiter, clip) -> JACK.

Events go to eight wearers in turn, so each wearer's beats are further apart
than the shortest interval a heart makes (beats closer than that are refused).
The first round (one event per wearer) is a warm-up and is not counted.
"""

from __future__ import annotations

import gc
import math
import os
import socket
from dataclasses import dataclass
from typing import Any, Callable, Literal

import numpy as np
from pythonosc.osc_message_builder import OscMessageBuilder

from installation.bench import BenchError
from installation.bench.probe import Measurement, Probe, Target
from installation.bench.stats import LatencyStats, latency_stats, ratio
from installation.bench import step_patch
from installation.bench.step_patch import StepPatch
from installation.config import Show, parse_source
from installation.mapping.mapper import Mapper, compile_mappings
from installation.sensors.base import Source
from installation.sensors.factory import source_from_config
from installation.sensors.osc_source import OscSource
from installation.runtime.session import Session
from installation.sound.process import SoundProcess, SoundSettings
from installation.sound.wire import expand_parameters
from installation.sound.jack_server import DummyJackServer, ServerSettings

os.environ.setdefault("PYO_GUI_WX", "0")
import pyo  # noqa: E402  (after the environment that silences its GUI notice)

Transport = Literal["osc", "serial"]

WEARERS = [f"p{i + 1}" for i in range(8)]
#: The inter-beat interval every event reports, seconds.
IBI_S = 0.8
#: Events are sent at random gaps drawn from this range, seconds.
GAP_RANGE_S = (0.04, 0.08)
#: Smallest sample-to-sample jump taken as the event's change (the steps are 0.1 and 0.5).
STEP_THRESHOLD = 0.02
#: Longest latency looked for, seconds (below the shortest gap, so no event takes the next one's step).
MAX_LATENCY_S = 0.035
FLOOR_ADDRESS = "/eco/p1/ibi"
FLOOR_VALUES = (0.85, 0.75)  # alternated, so that every message changes the output
#: JACK client names (the PID added: two benchmarks on one server keep their own ports).
OURS_CLIENT = "ecosymphony-bench"
FLOOR_CLIENT = "ecosymphony-floor"
PROBE_CLIENT = "ecosymphony-probe"
SERIAL_BAUD = 115200

#: What the program aims for (DESIGN: at 64 frames, 48 kHz); printed, never enforced.
TARGETS = {"p50_ms": 1.5, "p99_ms": 3.0, "sd_ms": 0.5, "ratio_p50": 1.3}


@dataclass(frozen=True, slots=True)
class LatencyReport:
    """One run of the latency benchmark.

    Attributes
    ----------
    transport : {"osc", "serial"}
        How events entered the program.
    sample_rate_hz, buffer_frames : int
        What the JACK server ran at.
    events : int
        Events counted per path (warm-up excluded).
    ours, floor : LatencyStats
        Event -> first changed sample through the program, and through a bare pyo OscReceive.
    ratio_p50 : float
        ``ours.p50_ms / floor.p50_ms``.
    xruns_ours, xruns_floor : int
        Late JACK cycles the server reported while each path was recorded.
    triggers : int
        Triggers the session fired (warm-up included; one per event when nothing was lost).
    jack_started : bool
        The benchmark started (and stopped) the JACK dummy server itself.
    """

    transport: Transport
    sample_rate_hz: int
    buffer_frames: int
    events: int
    ours: LatencyStats
    floor: LatencyStats
    ratio_p50: float
    xruns_ours: int
    xruns_floor: int
    triggers: int
    jack_started: bool

    def targets_met(self) -> dict[str, bool]:
        """Each target of :data:`TARGETS`: met or not."""
        return {
            "p50_ms": self.ours.p50_ms <= TARGETS["p50_ms"],
            "p99_ms": self.ours.p99_ms <= TARGETS["p99_ms"],
            "sd_ms": self.ours.sd_ms <= TARGETS["sd_ms"],
            "ratio_p50": self.ratio_p50 <= TARGETS["ratio_p50"],
        }

    def to_dict(self) -> dict[str, Any]:
        """Plain values for JSON (unknown numbers as None)."""
        return {
            "transport": self.transport,
            "sample_rate_hz": self.sample_rate_hz,
            "buffer_frames": self.buffer_frames,
            "events": self.events,
            "ours": self.ours.to_dict(),
            "floor": self.floor.to_dict(),
            "ratio_p50": self.ratio_p50 if math.isfinite(self.ratio_p50) else None,
            "xruns": {"ours": self.xruns_ours, "floor": self.xruns_floor},
            "triggers": self.triggers,
            "jack_started": self.jack_started,
            "targets": dict(TARGETS),
            "targets_met": self.targets_met(),
        }


def osc_datagram(address: str, value: float) -> bytes:
    """One OSC message with one float argument."""
    message = OscMessageBuilder(address)
    message.add_arg(float(value))
    return message.build().dgram


def event_payloads(transport: Transport, count: int) -> list[bytes]:
    """What the sensor rig sends for ``count`` beats, the wearers taking turns.

    OSC: ``/eco/p<N>/ibi <seconds>``; serial: ``ibi<N>=<seconds>`` lines (key-value format).
    """
    slots = [i % len(WEARERS) + 1 for i in range(count)]
    if transport == "osc":
        return [osc_datagram(f"/eco/p{n}/ibi", IBI_S) for n in slots]
    return [f"ibi{n}={IBI_S:.3f}\r\n".encode("ascii") for n in slots]


def floor_payloads(count: int) -> list[bytes]:
    """OSC messages for the bare OscReceive, alternating values so each one changes its output."""
    return [osc_datagram(FLOOR_ADDRESS, FLOOR_VALUES[i % 2]) for i in range(count)]


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def measure_floor(probe: Probe, settings: ServerSettings, gaps_s: list[float]) -> Measurement:
    """A bare pyo ``OscReceive`` on JACK, no code of ours: the floor."""
    os.environ.setdefault("JACK_NO_START_SERVER", "1")
    name = f"{FLOOR_CLIENT}-{os.getpid()}"
    server = pyo.Server(sr=settings.sample_rate_hz, nchnls=1, buffersize=settings.buffer_frames, duplex=0,
                        audio="jack", jackname=name)
    server.setJackAuto(False, False)
    server.deactivateMidi()
    server.setVerbosity(1)
    server.boot()
    if not server.getIsBooted():
        raise BenchError("the bare pyo server did not boot on JACK")
    nodes: list[Any] = []
    try:
        server.start()
        port = _free_udp_port()
        nodes.append(pyo.OscReceive(port, FLOOR_ADDRESS))  # held only here: freed before the server goes
        nodes[0].setInterpolation(False)  # a step, as a trigger makes; not a ramp over the buffer
        nodes.append(pyo.Sig(nodes[0]).out())
        return probe.measure(f"{name}:output_1", ("udp", port), floor_payloads(len(gaps_s)), gaps_s,
                             STEP_THRESHOLD, MAX_LATENCY_S)
    finally:
        server.stop()
        nodes.clear()
        gc.collect()  # pyo objects go while their server exists
        server.shutdown()


def bench_show() -> Show:
    """The show the benchmark plays: every wearer's beat triggers their pulse."""
    return Show.model_validate({
        "show": {"title": "latency benchmark"},
        "mappings": [{"from": "p*.heart.beat", "to": "sound.p*.pulse"}],
        "sound": {"fade_in_s": 0.0, "fade_out_s": 0.0},
    })


def measure_ours(probe: Probe, settings: ServerSettings, transport: Transport, gaps_s: list[float]) -> tuple[Measurement, int]:
    """The program's own path, from its source to JACK; also returns the triggers the session fired."""
    show = bench_show()
    parameters = {f"sound.{address}": kind for address, kind in StepPatch.PARAMETERS.items()}
    mapper = Mapper(compile_mappings(show.mappings, parameters, "<latency benchmark>"))
    name = f"{OURS_CLIENT}-{os.getpid()}"
    engine = SoundProcess(
        SoundSettings(patch_path=step_patch.__file__, wearers=WEARERS, backend="jack",
                      sample_rate_hz=settings.sample_rate_hz, buffer_frames=settings.buffer_frames,
                      ceiling_db=show.sound.ceiling_db, fade_in_s=0.0, fade_out_s=0.0, jack_name=name,
                      jack_connect_outputs=False),
        expand_parameters(StepPatch.PARAMETERS, WEARERS), StepPatch.TRIGGER_VOICES, crossfade_s=0.0)
    source: Source
    osc: OscSource | None = None
    if transport == "osc":
        source = source_from_config(parse_source({"kind": "osc", "port": 0, "host": "127.0.0.1", "wearers": WEARERS}))
        assert isinstance(source, OscSource)
        osc = source
    else:
        source = source_from_config(parse_source({"kind": "serial", "port": probe.make_pty(), "baud": SERIAL_BAUD,
                                                  "format": "key-value", "wearers": WEARERS}))
    session = Session(show, mapper, [source], WEARERS, engine, None)
    session.start()
    try:
        target: Target = ("udp", osc.port) if osc is not None else ("pty",)
        measurement = probe.measure(f"{name}:output_1", target, event_payloads(transport, len(gaps_s)), gaps_s,
                                    STEP_THRESHOLD, MAX_LATENCY_S)
        triggers = len(session.stats.trigger_latency_s)
    finally:
        session.stop()
    if engine.errors:
        raise BenchError(f"the patch failed {engine.errors} time(s) during the benchmark")
    return measurement, triggers


def bench_latency(
    transport: Transport = "osc",
    buffer_frames: int = 64,
    events: int = 200,
    sample_rate_hz: int = 48000,
    seed: int = 1,
    notify: Callable[[str], None] = lambda line: None,
) -> LatencyReport:
    """Measure event -> first changed sample through the program and through the bare floor.

    Parameters
    ----------
    transport : {"osc", "serial"}
        How events enter the program.
    buffer_frames : int
        Frames per cycle of the JACK dummy server started (a running server keeps its own).
    events : int
        Events counted per path (a warm-up round of one per wearer comes first).
    sample_rate_hz : int
        Sampling rate of the JACK dummy server started.
    seed : int
        Seed of the random gaps between events.
    notify : callable
        Receives one-line progress notes.

    Raises
    ------
    JackNotInstalled
        No JACK server runs and jackd is not installed.
    JackError, BenchError
        Something failed; the message says what.
    """
    if transport not in ("osc", "serial"):
        raise BenchError(f"unknown transport {transport!r}: use osc or serial")
    if not 1 <= events <= 100_000:
        raise BenchError(f"events must be 1..100000, got {events}")
    warmup = len(WEARERS)
    rng = np.random.default_rng(seed)
    gaps_s = [float(g) for g in rng.uniform(*GAP_RANGE_S, size=events + warmup)]
    jack = DummyJackServer(sample_rate_hz, buffer_frames)
    settings = jack.start()
    started = jack.started
    try:
        if started:
            notify(f"Started JACK's dummy driver (jackd PID {jack.pid}): {settings.sample_rate_hz} Hz, "
                   f"{settings.buffer_frames} frames a cycle ({settings.period_ms:.2f} ms).")
        else:
            notify(f"Using the JACK server already running: {settings.sample_rate_hz} Hz, "
                   f"{settings.buffer_frames} frames a cycle ({settings.period_ms:.2f} ms).")
        with Probe(f"{PROBE_CLIENT}-{os.getpid()}") as probe:
            notify(f"Floor: bare pyo OscReceive, {events} events after {warmup} warm-up...")
            floor = measure_floor(probe, settings, gaps_s)
            notify(f"Ours: {transport} source -> core -> mapper -> patch trigger, {events} events after {warmup} warm-up...")
            ours, triggers = measure_ours(probe, settings, transport, gaps_s)
    finally:
        jack.stop()
    ours_stats = latency_stats(ours.latencies_ms[warmup:])
    floor_stats = latency_stats(floor.latencies_ms[warmup:])
    return LatencyReport(
        transport=transport,
        sample_rate_hz=settings.sample_rate_hz,
        buffer_frames=settings.buffer_frames,
        events=events,
        ours=ours_stats,
        floor=floor_stats,
        ratio_p50=ratio(ours_stats.p50_ms, floor_stats.p50_ms),
        xruns_ours=ours.xruns,
        xruns_floor=floor.xruns,
        triggers=triggers,
        jack_started=started,
    )
