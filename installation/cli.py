"""The ``ecosymphony`` command: subcommands only, no logic."""

from __future__ import annotations

import argparse
import json
import logging
import math
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any, Callable

from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn
from rich.table import Table

from installation import __version__
from installation.config import ConfigError, HubConfig, LslNetConfig, SimulatedSource, default_show_path, load_hub, load_show, load_show_for_check, parse_source
from installation.runtime.console import console_wanted
from installation.dsp.core import CoreSettings
from installation.clock import FakeClock
from installation.bench import BenchError
from installation.bench.latency import TARGETS, bench_latency as run_bench
from installation.runtime.launch import LaunchOptions, Summary, finite_or_dash, make_engine, make_renderer, make_sources, perform, plan_outputs, prepare_show
from installation.record.reader import Recording, RecordingFormatError, load_recording as load_show_recording
from installation.record.forget import ForgetError, forget
from installation.commands.replay import recorded_show, replay
from installation.commands.report import write_report
from installation.commands.listen import Listener
from installation.outputs.fanout import describe as describe_output
from installation.outputs.midi_ports import output_ports as midi_output_ports
from installation.sensors.base import Source, SourceError
from installation.sensors.factory import source_from_config
from installation.commands.hub import run_hub
from installation.sensors import lsl_net
from installation.hub.run import simulated_hub
from installation.sensors.parsers import LINE_FORMATS, FormatError
from installation.sensors.simulated import SimulatedAudience
from installation.sensors.emitters import Emitter, LslEmitter, OscEmitter, SerialPtyEmitter, Simulation
from installation.sensors.scripted import Scenario, ScriptedAudience, load_scenario
from installation.commands.analyze import (EVENT_COLUMNS, RecordingError, analyze_recording, event_rows, load_recording,
                                           nominal_rate_hz, recording_clock, summarize)
from installation.runtime.session import SessionError
from installation.commands.starter import StarterError, write_starter
from installation.commands.render import VisualsOutput, render_offline
from installation.visuals.frames import INSTALL_FFMPEG, VideoError, ffmpeg_path
from installation.sensors.playback import PlaybackSource
from installation.sound.devices import output_devices
from installation.sound.engine import SoundError
from installation.sound.jack_server import JackError, JackNotInstalled



def _positive_seconds(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text}")
    return value


def _count_in(low: int, high: int, what: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number of {what}, got {text}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be {low}..{high} {what}, got {text}")
        return value
    return parse


def _size(text: str) -> tuple[int, int]:
    w, sep, h = text.lower().partition("x")
    if not sep or not w.isdigit() or not h.isdigit() or not (16 <= int(w) <= 8192 and 16 <= int(h) <= 8192):
        raise argparse.ArgumentTypeError(f"must look like 1280x720 (16..8192 pixels each way), got {text!r}")
    return int(w), int(h)


def _add_show_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--duration", type=_positive_seconds, metavar="S", help="stop after S seconds (default: until Esc / Ctrl-C)")
    p.add_argument("--runs-dir", type=Path, default=Path("runs"), metavar="DIR", help="where run folders are made (default: runs)")
    p.add_argument("--audio", choices=["auto", "file", "none"], default="auto", help="auto: a sound card if any, else a WAV file")
    p.add_argument("--visuals", choices=["auto", "frames", "none"], default="auto", help="auto: a window if there is a display, else PNG frames")
    p.add_argument("--record", type=Path, metavar="DIR", help="record every raw sample, event and operator action into a new folder in DIR")
    p.add_argument("--console", action=argparse.BooleanOptionalAction, default=None,
                   help="the operator console in this terminal: wearers, latency, events, keys (default: on in a terminal)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ecosymphony", description="Biofeedback eco-symphony: heartbeats and skin conductance into sound and light.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("rehearse", help="play a show with a simulated audience")
    r.add_argument("show", nargs="?", type=Path, help="show file (default: patches/default.toml)")
    r.add_argument("--participants", type=int, metavar="N", help="simulated wearers (default: the show's, else 4)")
    r.add_argument("--seed", type=int, help="seed of the simulated audience")
    r.add_argument("--via", choices=["memory", "osc", "serial", "lsl"], default="memory",
                   help="send the simulated audience through a real transport (default: straight to the core)")
    r.add_argument("--format", dest="wire_format", choices=["native", "emotibit", "pulsesensor", "openbci"], default="native",
                   help="wire format spoken with --via (default native)")
    r.add_argument("--scenario", type=Path, help="TOML file scripting moods (calm, excite, startle) and faults")
    _add_show_options(r)
    run = sub.add_parser("run", help="play a show with the sources named in its show file")
    run.add_argument("show", type=Path, help="show file")
    _add_show_options(run)
    pf = sub.add_parser("preflight", help="warm-up check before doors open: sensors, audio, display, OSC outputs; a go / no-go table")
    pf.add_argument("show", type=Path, help="show file")
    pf.add_argument("--listen-s", type=_positive_seconds, default=5.0, metavar="S",
                    help="seconds to listen to each source (default 5; a heart needs about 4 to be judged)")
    pf.add_argument("--audio", choices=["auto", "file", "none"], default="auto", help="as the show will run (default auto)")
    pf.add_argument("--visuals", choices=["auto", "frames", "none"], default="auto", help="as the show will run (default auto)")
    it = sub.add_parser("init", help="write a starter show file (the default show) into a folder, to edit")
    it.add_argument("folder", type=Path, help="folder to write show.toml into (made if missing)")
    ck = sub.add_parser("check", help="validate a show file and list what it reads and drives, without starting anything")
    ck.add_argument("show", type=Path, help="show file")
    li = sub.add_parser("listen", help="show every sensor stream that arrives, once a second")
    li.add_argument("--osc", type=int, metavar="PORT", action="append", default=[], help="listen for OSC on this UDP port (repeatable)")
    li.add_argument("--osc-host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; 0.0.0.0 opens it)")
    li.add_argument("--serial", metavar="DEVICE[@BAUD]", action="append", default=[], help="read a serial port (repeatable; BAUD default 115200)")
    li.add_argument("--lsl", metavar="TYPE", action="append", default=[], help="read LSL streams of this type, e.g. PPG (repeatable)")
    li.add_argument("--format", default="auto", choices=list(LINE_FORMATS), help="serial line format (default: recognise it)")
    li.add_argument("--wearers", default="p1,p2,p3,p4,p5,p6,p7,p8", help="slots of the sensors on each device, in order")
    li.add_argument("--duration", type=_positive_seconds, metavar="S", help="stop after S seconds (default: until Ctrl-C)")
    li.add_argument("--json", action="store_true", help="one JSON object per stream per second on standard output")
    hb = sub.add_parser("hub", help="publish a hub's sensors as Lab Streaming Layer streams, for a conductor elsewhere")
    hb.add_argument("config", type=Path, help="hub config (TOML: [hub] name, [[sources]] as in a show, [lsl])")
    hb.add_argument("--duration", type=_positive_seconds, metavar="S", help="stop after S seconds (default: until Ctrl-C)")
    hb.add_argument("--json", action="store_true", help="one JSON object per stream per second on standard output")
    si = sub.add_parser("simulate", help="send simulated wearers over a real transport (OSC, a serial pty, LSL)")
    si.add_argument("--participants", type=int, default=2, metavar="N", help="simulated wearers (default 2)")
    target = si.add_mutually_exclusive_group(required=True)
    target.add_argument("--osc", metavar="HOST:PORT", help="send OSC to this address")
    target.add_argument("--serial-pty", action="store_true", help="make a pseudo-terminal and speak serial on it (its path is printed)")
    target.add_argument("--lsl", action="store_true", help="publish LSL streams eco-sim-ppg and eco-sim-eda")
    si.add_argument("--format", choices=["native", "emotibit", "pulsesensor", "openbci"], default="native", help="wire format (default native)")
    si.add_argument("--heart", choices=["ppg", "ecg"], default="ppg", help="heart sensor of the simulated wearers (default ppg)")
    si.add_argument("--scenario", type=Path, help="TOML file scripting moods and faults over time")
    si.add_argument("--seed", type=int, default=1, help="seed of the simulated audience")
    si.add_argument("--hub", metavar="NAME", help="with --lsl: be a hub of this name (a stream per wearer and signal, as ecosymphony hub)")
    si.add_argument("--duration", type=_positive_seconds, metavar="S", help="stop after S seconds (default: until Ctrl-C)")
    a = sub.add_parser("analyze", help="replay a recording (CSV time_s,value) through the live signal core")
    a.add_argument("file", type=Path, help="CSV file with header time_s,value (may be .gz)")
    a.add_argument("--signal", required=True, choices=["ecg", "ppg", "eda"], help="what the recording holds")
    a.add_argument("--out", type=Path, help="write the events CSV here (default: standard output, unless --json)")
    a.add_argument("--json", action="store_true", help="print a one-line JSON summary on standard output")
    a.add_argument("--block-ms", type=float, default=20.0, help="milliseconds of signal per block, as it would arrive (default 20)")
    a.add_argument("--polarity", choices=["auto", "normal", "inverted"], default="auto", help="PPG waveform polarity")
    a.add_argument("--clock", choices=["auto", "keep", "fit"], default="auto",
                   help="sample times: rebuilt from packet, coarse or arrival stamps (auto), kept as recorded, or always rebuilt")
    a.add_argument("--unit", default="", help="unit of the values, e.g. uS for calibrated skin conductance")
    rd = sub.add_parser("render", help="render a simulated or recorded session's sound to a WAV file, faster than real time")
    rd.add_argument("show", nargs="?", type=Path, help="show file (default: patches/default.toml)")
    rd.add_argument("--input", type=Path, metavar="FILE",
                    help="a scenario (.toml: scripted simulated audience) or a recording (.csv / .csv.gz, time_s,value, played as p1); "
                         "default: the show's simulated audience")
    rd.add_argument("--signal", choices=["ppg", "ecg", "eda"], default="ppg", help="what a CSV recording holds (default ppg)")
    rd.add_argument("--unit", default="", help="unit of a CSV recording's values, e.g. uS")
    rd.add_argument("--participants", type=int, metavar="N", help="simulated wearers (default: the show's, else 4)")
    rd.add_argument("--seed", type=int, help="seed of the simulated audience")
    rd.add_argument("--duration", type=_positive_seconds, metavar="S",
                    help="seconds to render (default: a recording's length, else 120)")
    rd.add_argument("--out", type=Path, help="WAV file to write (32-bit float)")
    rd.add_argument("--frames", type=Path, metavar="DIR", help="also draw the visuals: numbered PNG frames into DIR")
    rd.add_argument("--video", type=Path, metavar="OUT.mp4", help="also draw the visuals into an MP4 with the sound (needs ffmpeg)")
    rd.add_argument("--fps", type=_count_in(1, 240, "frames per second"), default=30, help="frames per second of show time (default 30)")
    rd.add_argument("--size", type=_size, metavar="WxH", help="frame size (default: the show's visual.size)")
    rd.add_argument("--outputs", choices=["on", "off"], default="off",
                    help="send to the show's live OSC and LSL peers ([osc_out], [[outputs]]) too (default off)")
    rp = sub.add_parser("replay", help="play a recording back through the same pipeline, deterministically")
    rp.add_argument("recording", type=Path, help="a recording folder or .xdf file (made by --record DIR or [record])")
    rp.add_argument("--speed", type=_positive_seconds, metavar="X", help="times real time (1: real time; default: as fast as it goes)")
    rp.add_argument("--events", type=Path, metavar="OUT.csv", help="write every event (time_s,wearer,kind,value) here")
    rp.add_argument("--params", type=Path, metavar="OUT.csv", help="write the parameter stream (time_s,kind,parameter,value) here")
    rp.add_argument("--audio", choices=["auto", "file", "none"], default="none", help="play the sound too (default none; needs real time)")
    rp.add_argument("--visuals", choices=["auto", "frames", "none"], default="none", help="show the scene too (default none; needs real time)")
    rp.add_argument("--runs-dir", type=Path, default=Path("runs"), metavar="DIR", help="where a WAV file or frames go (default: runs)")
    rp.add_argument("--outputs", choices=["on", "off"], default="off",
                    help="send to the show's live OSC and LSL peers ([osc_out], [[outputs]]) too (default off)")
    rr = sub.add_parser("report", help="draw a PNG report of a recording: heart rate, HRV, EDA, SCRs, scenes, synchrony, quality")
    rr.add_argument("recording", type=Path, help="a recording folder or .xdf file")
    rr.add_argument("--out", type=Path, metavar="report.png", help="PNG file to write (default: report.png in the recording folder, or NAME-report.png beside NAME.xdf)")
    fg = sub.add_parser("forget", help="remove a wearer's samples and events from a recording, or from every recording in a folder")
    fg.add_argument("recording", type=Path, help="a recording folder, an .xdf file, or a folder of recordings")
    fg.add_argument("--wearer", action="append", required=True, metavar="pN",
                    help="the wearer's slot (p3); repeat for more than one")
    vn = sub.add_parser("visuals", help="a render node: draw a conductor's scene on this machine (its tile of a projector wall)")
    vn.add_argument("--from", dest="conductor", required=True, metavar="HOST[:PORT]",
                    help="the conductor's address (its show file has [visual] serve = true; port 7420 by default)")
    vn.add_argument("--tile", default="1/1", metavar="I/N", help="show the I-th of N tiles, left to right (default 1/1: all of it)")
    vn.add_argument("--overlap", type=int, default=0, metavar="PX", help="columns shared with each neighbouring tile, blended (default 0)")
    vn.add_argument("--size", type=_size, default=(1280, 720), metavar="WxH", help="this node's picture (default 1280x720; fullscreen: the display's)")
    vn.add_argument("--fullscreen", action="store_true", help="fullscreen on --display")
    vn.add_argument("--display", type=int, default=0, metavar="N", help="display index (default 0)")
    vn.add_argument("--fps", type=_count_in(1, 240, "frames per second"), default=60, help="frames per second (default 60)")
    vn.add_argument("--frames", type=Path, metavar="DIR", help="no window: save PNG frames (and their state as JSON) into DIR")
    vn.add_argument("--frame-every", type=_positive_seconds, default=1.0, metavar="S", help="seconds of scene time between saved frames (default 1)")
    vn.add_argument("--stats", type=Path, metavar="FILE", help="write the node's figures (latency, offset) as JSON to FILE every second")
    vn.add_argument("--duration", type=_positive_seconds, metavar="S", help="stop after S seconds")
    sub.add_parser("devices", help="list the audio output devices (index and name, for sound.device) and the MIDI output ports")
    be = sub.add_parser("bench", help="benchmarks of the running program")
    bench = be.add_subparsers(dest="bench", required=True)
    la = bench.add_parser("latency", help="sensor event -> first changed audio sample, in real time under JACK, against a bare pyo OscReceive")
    la.add_argument("--transport", choices=["osc", "serial"], default="osc", help="how events enter the program: a UDP socket or a pseudo-terminal (default osc)")
    la.add_argument("--buffer", type=_count_in(16, 8192, "frames"), default=64, metavar="FRAMES", help="frames per JACK cycle of the dummy server started (default 64)")
    la.add_argument("--events", type=_count_in(1, 100_000, "events"), default=200, metavar="N", help="events measured per path (default 200)")
    la.add_argument("--seed", type=int, default=1, help="seed of the random gaps between events")
    la.add_argument("--json", action="store_true", help="print one JSON object")
    vi = bench.add_parser("visuals", help="frames per second and frame times of the scene on one core, and sensor event -> first frame showing it")
    vi.add_argument("--participants", type=_count_in(1, 64, "wearers"), default=8, metavar="N", help="wearers (default 8)")
    vi.add_argument("--size", type=_size, default=(1280, 720), metavar="WxH", help="frame size (default 1280x720)")
    vi.add_argument("--seconds", type=_positive_seconds, default=10.0, metavar="S", help="seconds of each measurement (default 10)")
    vi.add_argument("--json", action="store_true", help="print one JSON object")
    so = bench.add_parser("soak", help="a long simulated show (30 min, 16 wearers by default): memory growth, xruns, faults")
    so.add_argument("--seconds", type=_positive_seconds, default=1800.0, metavar="S", help="length of the show (default 1800)")
    so.add_argument("--wearers", type=_count_in(1, 128, "wearers"), default=16, metavar="N", help="simulated wearers (default 16)")
    so.add_argument("--audio", choices=["jack", "wav", "none"], default="jack", help="sound on JACK (dummy driver started when none runs), the real-time WAV fallback, or none (default jack)")
    so.add_argument("--every", type=_positive_seconds, default=10.0, metavar="S", help="seconds between looks (default 10)")
    so.add_argument("--record", type=Path, metavar="DIR", help="record the show into a new folder in DIR as well")
    so.add_argument("--show", type=Path, metavar="FILE", help="the show to play (default: the default show)")
    so.add_argument("--no-visuals", action="store_true", help="draw no visuals here (render nodes elsewhere): the conductor's and its sound's figures")
    so.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def render_node(args: argparse.Namespace, console: Console, errors: Console) -> int:
    """``ecosymphony visuals --from HOST[:PORT]``: a render node."""
    from installation.visuals.node import NodeSettings, run_node
    from installation.visuals.serve import DEFAULT_PORT
    from installation.visuals.tiles import TileError, parse_tile

    host, port_text = args.conductor, str(DEFAULT_PORT)
    if args.conductor.count(":") == 1:
        host, _, port_text = args.conductor.partition(":")
    elif args.conductor.startswith("["):
        host, _, port_text = args.conductor[1:].partition("]:")
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        errors.print(f"[red]error:[/red] --from {escape(args.conductor)}: the port must be 1..65535")
        return 2
    try:
        tile = parse_tile(args.tile, args.overlap, args.size[0])
    except TileError as exc:
        errors.print(f"[red]error:[/red] {escape(str(exc))}")
        return 2
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda signum, frame: stop.set())
    settings = NodeSettings(host, int(port_text), tile, args.size, args.fps, args.fullscreen, args.display,
                            args.frames, args.frame_every, args.stats, args.duration)
    console.print(f"Render node {tile.index}/{tile.count}: following {host}:{port_text}", markup=False)
    stats = run_node(settings, stop.is_set)
    delays = sorted(stats.delays_s)
    p50 = 1000.0 * delays[len(delays) // 2] if delays else math.nan
    console.print(f"{stats.frames_drawn} frames drawn, {stats.lines} state lines (last snapshot {stats.seq}), "
                  f"{stats.connections} connection(s); snapshot -> applied p50 {finite_or_dash(p50, '{:.2f}')} ms",
                  markup=False)
    return 0


def devices(args: argparse.Namespace, console: Console, errors: Console) -> int:
    """``ecosymphony devices``: the PortAudio output devices, probed safely, then the MIDI output ports."""
    found = output_devices()
    if not found:
        errors.print("No audio output device found (no sound card, or PortAudio sees none). "
                     "Rehearsals and shows render to a WAV file instead; sound.backend = \"jack\" uses a running JACK server.")
    else:
        table = Table("index", "name", "default")
        for d in found:
            table.add_row(str(d.index), escape(d.name), "yes" if d.is_default else "")
        console.print(table)
        console.print("Choose one in the show file: [sound] device = INDEX or a part of its name.")
    midi_devices(console)
    return 0 if found else 1


def midi_devices(console: Console) -> None:
    """The MIDI output ports of JACK and ALSA, or why a system has none to list."""
    table = Table("midi api", "output port")
    for api in ("jack", "alsa"):
        listed = midi_output_ports(api)
        if listed.problem:
            table.add_row(api, f"(none: {escape(listed.problem)})")
        for name in listed.names or ([] if listed.problem else ["(no ports)"]):
            table.add_row(api, escape(name))
    console.print(table)
    console.print(escape('Send to one: [[outputs]] kind = "midi", port = its name or a part of it (api = "jack" or '
                         '"alsa"); or virtual = true for a port of our own that a DAW connects to.'))


def render(args: argparse.Namespace, show_path: Path, console: Console, errors: Console) -> int:
    """``ecosymphony render``: a session's sound, offline, through the live pipeline."""
    try:
        prepared = prepare_show(load_show(show_path))
    except ConfigError as exc:
        errors.print(f"[red]error:[/red] {escape(str(exc))}")
        return 2
    if args.out is None and args.frames is None and args.video is None:
        errors.print("[red]error:[/red] nothing to write: give --out mix.wav, --frames DIR and/or --video out.mp4")
        return 2
    video = args.video
    if video is not None and ffmpeg_path() is None:
        errors.print(f"No video: ffmpeg is not installed ({INSTALL_FFMPEG}); {escape(str(video))} is left out.")
        video = None
        if args.out is None and args.frames is None:
            return 1
    visuals = None
    if args.frames is not None or video is not None:
        v = prepared.show.visual
        visuals = VisualsOutput(args.size or v.size_px, float(args.fps), args.frames, video,
                                flash_limit=v.flash_limit, max_flashes_per_s=v.max_flashes_per_s)
    clock = FakeClock()
    sources: list[Source]
    given = args.input
    try:
        if given is not None and given.name.endswith((".csv", ".csv.gz")):
            times_s, values = load_recording(given)
            times_s, _ = recording_clock(times_s, nominal_rate_hz(times_s))  # packet or coarse stamps: the rebuilt clock
            replay = PlaybackSource("p1", args.signal, times_s, values, args.unit, clock=clock)
            sources, wearers = [replay], ["p1"]
            duration_s = args.duration or replay.duration_s
        else:
            options = LaunchOptions(participants=args.participants, seed=args.seed, scenario=given)
            sources, wearers = make_sources(prepared.show, options, rehearsal=True, clock=clock)
            duration_s = args.duration or 120.0
    except (RecordingError, ConfigError, ValueError, OSError) as exc:
        errors.print(f"[red]error:[/red] {escape(str(exc))}")
        return 2
    if args.outputs == "on":
        console.print("Live outputs on: the show's [osc_out] and [[outputs]] peers get the render.", markup=False)
    with Progress(TextColumn("rendering"), BarColumn(), TaskProgressColumn(), TextColumn("{task.fields[at]}"),
                  console=errors, transient=True, disable=not errors.is_terminal) as bar:
        task = bar.add_task("render", total=duration_s, at="")
        try:
            summary = render_offline(prepared, sources, wearers, clock, args.out, duration_s,
                                     progress=lambda done, total: bar.update(task, completed=done, at=f"{done:.0f}/{total:.0f} s"),
                                     visuals=visuals, seed=args.seed if args.seed is not None else 1,
                                     live_outputs=args.outputs == "on")
        except (SoundError, VideoError, OSError) as exc:
            errors.print(f"[red]error:[/red] render failed: {escape(str(exc))}")
            return 1
    beats = ", ".join(f"{w} {n}" for w, n in summary.beats.items())
    wrote = [str(p) for p in (args.out, args.frames, video) if p is not None]
    console.print(f"Rendered {summary.seconds:.1f} s of show to {escape(', '.join(wrote))} in {summary.wall_s:.1f} s "
                  f"({summary.speed:.1f}x real time); beats: {beats}"
                  + (f"; {summary.frames} frames at {args.fps} fps" if visuals is not None else ""))
    for at_s, notice in summary.notices:  # the welfare watch's, for the operator
        console.print(f"notice at {at_s:.1f} s: {notice.rule}: {notice.message}", markup=False)
    return 0


def _progress_bar(errors: Console, what: str) -> Progress:
    return Progress(TextColumn(what), BarColumn(), TaskProgressColumn(), TextColumn("{task.fields[at]}"),
                    console=errors, transient=True, disable=not errors.is_terminal)


def _load(folder: Path, errors: Console) -> Recording | int:
    try:
        recording = load_show_recording(folder)
    except RecordingFormatError as exc:
        errors.print(f"[red]error:[/red] {escape(str(exc))}")
        return 2
    for note in recording.warnings:
        errors.print(f"[yellow]note:[/yellow] {escape(note)}")
    return recording


def replay_command(args: argparse.Namespace, console: Console, errors: Console) -> int:
    """``ecosymphony replay``: a recording played back through the pipeline; its events and parameters."""
    recording = _load(args.recording, errors)
    if isinstance(recording, int):
        return recording
    speed = args.speed
    outputs = args.audio != "none" or args.visuals != "none"
    if outputs and speed is None:
        speed = 1.0
        errors.print("Sound or visuals: replaying in real time (--speed 1).", markup=False)
    elif outputs and speed != 1.0:
        errors.print("[red]error:[/red] sound and visuals play in real time only: use --speed 1 (or --audio none --visuals none)")
        return 2
    try:
        prepared = prepare_show(recorded_show(recording))
        sound = renderer = None
        if outputs:
            options = LaunchOptions(audio=args.audio, visuals=args.visuals, runs_dir=args.runs_dir)
            plan = plan_outputs(prepared.show, options, "replay")
            for line in plan.notices:
                console.print(line, markup=False)
            sound = make_engine(prepared, recording.wearers, plan)
            renderer = make_renderer(prepared.show, recording.wearers, plan)
        if args.outputs == "on":
            console.print("Live outputs on: the show's [osc_out] and [[outputs]] peers get the replay.", markup=False)
    except (ConfigError, SessionError, SoundError) as exc:
        return _failed_to_start(exc, errors)
    with _progress_bar(errors, "replaying") as bar:
        task = bar.add_task("replay", total=max(recording.duration_s, 1e-6), at="")
        try:
            result = replay(recording, speed, progress=lambda done, total: bar.update(task, completed=done, at=f"{done:.0f}/{total:.0f} s"),
                            prepared=prepared, sound=sound, renderer=renderer, live_outputs=args.outputs == "on",
                            should_stop=(lambda: renderer.quit_requested) if renderer is not None else (lambda: False))
        except (SoundError, SessionError) as exc:
            errors.print(f"[red]error:[/red] replay failed: {escape(str(exc))}")
            return 1
        except KeyboardInterrupt:
            errors.print("Interrupted: nothing written.")
            return 130
    for path, text in ((args.events, result.events.csv_text()), (args.params, result.params_csv_text())):
        if path is None:
            continue
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            errors.print(f"[red]error:[/red] cannot write {escape(str(path))}: {escape(exc.strerror or str(exc))}")
            return 1
    beats = ", ".join(f"{w} {n}" for w, n in result.beats.items())
    speedup = result.duration_s / result.wall_s if result.wall_s > 0 else math.inf
    console.print(f"Replayed {result.duration_s:.1f} s of {recording.folder} in {result.wall_s:.1f} s ({speedup:.1f}x real time): "
                  f"{result.samples} samples, {len(result.events.rows)} events; beats: {beats}", markup=False)
    for at_s, notice in result.notices:  # the welfare watch's, for the operator
        console.print(f"notice at {at_s:.1f} s: {notice.rule}: {notice.message}", markup=False)
    for path, what in ((args.events, "events"), (args.params, "parameters")):
        if path is not None:
            console.print(f"{what}: {path}", markup=False)
    return 0


def report_command(args: argparse.Namespace, console: Console, errors: Console) -> int:
    """``ecosymphony report``: a PNG of the recorded show, from its replay."""
    recording = _load(args.recording, errors)
    if isinstance(recording, int):
        return recording
    out = args.out or recording.beside("report.png")
    with _progress_bar(errors, "replaying for the report") as bar:
        task = bar.add_task("report", total=max(recording.duration_s, 1e-6), at="")
        try:
            summary = write_report(recording, out, progress=lambda done, total: bar.update(task, completed=done, at=f"{done:.0f}/{total:.0f} s"))
        except ConfigError as exc:
            errors.print(f"[red]error:[/red] {escape(str(exc))}")
            return 2
        except OSError as exc:
            errors.print(f"[red]error:[/red] cannot write {escape(str(out))}: {escape(exc.strerror or str(exc))}")
            return 1
    console.print(f"Report of {recording.folder} ({len(summary.wearers)} wearers, {summary.duration_s:.1f} s, "
                  f"{summary.scenes} scene changes) written to {summary.path}", markup=False)
    return 0


def forget_command(args: argparse.Namespace, console: Console, errors: Console) -> int:
    """``ecosymphony forget RECORDING --wearer pN``: a wearer's data out of recordings, a line per file."""
    try:
        done = forget(args.recording, args.wearer, progress=lambda line: console.print(line, markup=False))
    except ForgetError as exc:
        errors.print(f"[red]error:[/red] {escape(str(exc))}")
        return 2
    except OSError as exc:
        errors.print(f"[red]error:[/red] cannot rewrite {escape(str(exc.filename or args.recording))}: "
                     f"{escape(exc.strerror or str(exc))} (the files not yet rewritten are as they were; run it again)")
        return 1
    samples = sum(d.samples for d in done)
    events = sum(d.events for d in done)
    console.print(f"Forgot {', '.join(dict.fromkeys(w for d in done for w in d.wearers))} in {len(done)} recording(s): "
                  f"{samples} samples and {events} events removed.", markup=False)
    return 0


def check(args: argparse.Namespace, console: Console, errors: Console) -> int:
    """``ecosymphony check``: validate a show and say what it will read and drive."""
    show, schema_error = load_show_for_check(args.show)  # what the schema refuses, and the rest to check further
    problems = str(schema_error) if schema_error else ""
    prepared = None
    if show is not None:
        try:
            prepared = prepare_show(show)
        except ConfigError as exc:
            later = [line.removeprefix(f"{show.path}: ") for line in str(exc).splitlines()]
            problems = "\n".join([problems] + [f"  - {line}" for line in later]) if problems else str(exc)
    if problems or prepared is None:
        errors.print(f"[red]error:[/red] {escape(problems)}")
        return 2
    show = prepared.show
    console.print(f"{args.show}: valid. {show.show.title}", markup=False)
    console.print(f"sound patch: {show.patch_path()} (ceiling {show.sound.ceiling_db:g} dBFS)", markup=False)
    for i, src in enumerate(show.sources):
        where = {"serial": lambda c: f"{c.port} @ {c.baud} ({c.format})", "osc": lambda c: f"{c.host}:{c.port}",
                 "lsl": lambda c: f"{'name' if c.stream_name else 'type'} {c.stream_name or c.stream_type}",
                 "simulated": lambda c: f"{c.wearers} simulated wearers"}[src.kind](src)
        slots = ", ".join(src.wearers) if isinstance(src.wearers, list) else ""
        console.print(f"source {i}: {src.kind} {where}" + (f" -> {slots}" if slots else ""), markup=False)
    for i, out in enumerate(show.outputs):
        console.print(f"output {i}: {describe_output(out)}", markup=False)
    if show.visual.serve:
        v = show.visual
        console.print(f"render nodes: the scene served on {v.serve_host}:{v.serve_port} (ecosymphony visuals --from "
                      f"{v.serve_host}:{v.serve_port})" + (f", only from {', '.join(v.serve_allow)}" if v.serve_allow else ""),
                      markup=False)
    table = Table(title="mappings")
    for column in ("#", "reads", "drives", "how"):
        table.add_column(column)
    for m in prepared.mapper.mappings:
        spec = m.spec
        how = [f"{spec.in_range[0]:g}..{spec.in_range[1]:g} -> {spec.out_range[0]:g}..{spec.out_range[1]:g}", spec.curve]
        how += [name for name, on in (("invert", spec.invert), ("deadband", spec.deadband), ("smooth", spec.smooth),
                                      ("slew", spec.slew_per_s), ("one-euro", spec.one_euro), ("quantize", spec.quantize),
                                      ("threshold", spec.threshold)) if on]
        kind = "event" if m.is_event else "threshold" if m.is_threshold else "feature"
        table.add_row(str(m.index), f"{spec.source} ({kind})", spec.target, ", ".join(how))
    console.print(table)
    return 0


def init(args: argparse.Namespace, console: Console, errors: Console) -> int:
    """``ecosymphony init DIR``: the default show as DIR/show.toml, and what to do next."""
    try:
        written = write_starter(args.folder)
    except StarterError as exc:
        errors.print(f"[red]error:[/red] {escape(str(exc))}")
        return 1
    console.print(f"Wrote {written}: the default show, with its comments, to make your own. Next:", markup=False)
    console.print(f"  ecosymphony check {written}      validate it, list what it reads and drives", markup=False)
    console.print(f"  ecosymphony rehearse {written}   play it with a simulated audience", markup=False)
    return 0


def preflight(args: argparse.Namespace, console: Console, errors: Console) -> int:
    """``ecosymphony preflight``: every check, a go / no-go table, exit 0 go, 1 no-go, 2 bad show file."""
    from installation.commands.preflight import SEVERITY, Check, PreflightOptions, preflight as run_checks, verdict

    try:
        prepared = prepare_show(load_show(args.show))
    except ConfigError as exc:
        errors.print(f"[red]error:[/red] {escape(str(exc))}")
        errors.print("NO-GO: the show file is not valid", markup=False)
        return 2
    show = prepared.show
    if any(getattr(src, "hubs", None) for src in show.sources) or show.lsl != LslNetConfig():
        lsl_net.apply(show.lsl.scope, show.lsl.listen, show.lsl.known_peers, show.lsl.session_id, show.lsl.port_range)
    errors.print(f"Preflight of {args.show}: listening to {len(show.sources)} source(s) for {args.listen_s:g} s...",
                 markup=False)
    scenes = f", {len(show.scenes)} scenes" if show.scenes else ""
    checks = [Check("show file", str(args.show), "GO", f"valid: {show.show.title}, {len(show.mappings)} mappings{scenes}")]
    checks += run_checks(show, PreflightOptions(args.listen_s, args.audio, args.visuals))
    table = Table(title=f"preflight: {show.show.title}")
    for column in ("check", "target", "result", "detail"):
        table.add_column(column, overflow="fold")
    colour = {"GO": "green", "WARN": "yellow", "NO-GO": "bold red"}
    for c in checks:
        table.add_row(escape(c.check), escape(c.target), f"[{colour[c.result]}]{c.result}[/]", escape(c.detail))
    console.print(table)
    code, last = verdict(checks)
    worst = max((c.result for c in checks), key=SEVERITY.__getitem__)
    console.print(f"[{colour[worst]}]{escape(last)}[/]")
    return code


def listen(args: argparse.Namespace, console: Console, errors: Console) -> int:
    """``ecosymphony listen``: every stream's health, once a second."""
    wearers = [w.strip() for w in args.wearers.split(",") if w.strip()]
    sources: list[Source] = []
    try:
        configs = [parse_source({"kind": "serial", "port": device, "baud": int(baud or 115200), "format": args.format,
                                 "wearers": wearers}, f"--serial {spec}")
                   for spec in args.serial for device, _, baud in [spec.partition("@")]]
        configs += [parse_source({"kind": "osc", "port": port, "host": args.osc_host, "wearers": wearers}, f"--osc {port}")
                    for port in args.osc]
        configs += [parse_source({"kind": "lsl", "stream_type": t, "wearers": wearers}, f"--lsl {t}") for t in args.lsl]
        sources = [source_from_config(cfg) for cfg in configs]
    except (ValueError, FormatError) as exc:
        errors.print(f"[red]error:[/red] {escape(str(exc))}")
        return 2
    if not sources:
        errors.print("[red]error:[/red] nothing to listen to: give --osc PORT, --serial DEVICE[@BAUD] and/or --lsl TYPE")
        return 2
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    def report(rows: list[dict[str, object]]) -> None:
        if args.json:
            for row in rows:
                sys.stdout.write(json.dumps(row) + "\n")
            sys.stdout.flush()
            return
        table = Table(title=time.strftime("%H:%M:%S"))
        for column in ("transport", "address", "format", "wearer", "signal", "rate_hz", "samples", "lost", "corrupt", "quality", "state", "last"):
            table.add_column(column)
        for row in rows:
            table.add_row(*["" if row.get(c) is None else str(row.get(c)) for c in
                            ("transport", "address", "format", "wearer", "signal", "rate_hz", "samples", "lost", "corrupt", "quality", "state", "last")])
        console.print(table)

    try:
        Listener(sources).run(args.duration, report, stop.is_set)
    except SourceError as exc:
        errors.print(f"[red]error:[/red] {escape(str(exc))}")
        return 1
    return 0


def hub(args: argparse.Namespace, console: Console, errors: Console, cfg: HubConfig | None = None) -> int:
    """``ecosymphony hub``: a hub's sources published as LSL streams."""
    try:
        cfg = cfg or load_hub(args.config)
    except ConfigError as exc:
        errors.print(f"[red]error:[/red] {escape(str(exc))}")
        return 2
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    errors.print(f"Hub {cfg.hub.name}: {len(cfg.sources)} source(s), LSL scope {cfg.lsl.scope}; Ctrl-C stops.", markup=False)
    running = run_hub(cfg, args.duration, args.json, stop.is_set)
    for problem in running.errors:
        errors.print(f"[red]error:[/red] {escape(problem)}")
    return 1 if running.errors and len(running.errors) == len(running.sources) else 0


def simulate(args: argparse.Namespace, console: Console, errors: Console) -> int:
    """``ecosymphony simulate``: simulated wearers on a real transport."""
    if not 1 <= args.participants <= 64:
        errors.print("[red]error:[/red] --participants must be 1..64")
        return 2
    if args.hub is not None:
        if not args.lsl:
            errors.print("[red]error:[/red] --hub needs --lsl")
            return 2
        try:
            cfg = simulated_hub(args.hub, args.participants, args.seed, args.heart)
        except ValueError as exc:
            errors.print(f"[red]error:[/red] --hub: {escape(str(exc))}")
            return 2
        args.json = False
        return hub(args, console, errors, cfg)
    try:
        scenario = load_scenario(args.scenario) if args.scenario else Scenario()
        emitter: Emitter
        if args.osc:
            host, _, port = args.osc.rpartition(":")
            if not host or not port.isdigit():
                raise ConfigError(f"--osc wants HOST:PORT, got {args.osc!r}")
            emitter = OscEmitter(host, int(port), args.format)
            where = f"OSC to {args.osc}"
        elif args.serial_pty:
            emitter = SerialPtyEmitter(args.format)
            where = f"serial on {emitter.path}"
        else:
            audience_rates = (250.0 if args.heart == "ecg" else 100.0, 25.0)
            emitter = LslEmitter([f"p{i + 1}" for i in range(args.participants)], *audience_rates)
            where = f"LSL streams eco-sim-{args.heart} and eco-sim-eda"
    except ConfigError as exc:
        errors.print(f"[red]error:[/red] {escape(str(exc))}")
        return 2
    if args.serial_pty:
        sys.stdout.write(emitter.path + "\n")  # type: ignore[union-attr]
        sys.stdout.flush()
    errors.print(f"Simulating {args.participants} wearers ({args.format}) as {where}; Ctrl-C stops.", markup=False)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if args.heart == "ecg" and args.format in ("emotibit", "pulsesensor"):
        errors.print(f"[red]error:[/red] {args.format} sends no ECG: use --format native or openbci")
        emitter.close()
        return 2
    audience = source_from_config(SimulatedSource(wearers=args.participants, seed=args.seed, heart=args.heart))
    assert isinstance(audience, SimulatedAudience)
    sim = Simulation(ScriptedAudience(audience, scenario), emitter)
    sim.scripted.audience.open()
    started = time.monotonic()
    try:
        while not stop.is_set() and (args.duration is None or time.monotonic() - started < args.duration):
            sim.step(0.05)
    finally:
        emitter.close()
    errors.print(f"Sent {emitter.sent} messages/lines in {time.monotonic() - started:.1f} s.", markup=False)
    return 0


def analyze(args: argparse.Namespace, console: Console, errors: Console) -> int:
    """``ecosymphony analyze``: replay a recording through the live core and write its events."""
    try:
        times_s, values = load_recording(args.file)
    except RecordingError as exc:
        errors.print(f"[red]error:[/red] {escape(str(exc))}")
        return 2
    if args.block_ms <= 0:
        errors.print("[red]error:[/red] --block-ms must be positive")
        return 2
    settings = CoreSettings(ppg_polarity=args.polarity)
    with Progress(TextColumn("analysing"), BarColumn(), TaskProgressColumn(), console=errors, transient=True,
                  disable=not errors.is_terminal) as bar:
        task = bar.add_task("analyse", total=times_s.size)
        analysis = analyze_recording(times_s, values, args.signal, args.block_ms / 1000.0, args.unit, settings,
                                     progress=lambda done, _total: bar.update(task, completed=done), clock=args.clock)
    header = ",".join(EVENT_COLUMNS[args.signal])
    lines = [header] + [",".join(str(v) if isinstance(v, int) else f"{v:.4f}" if math.isfinite(v) else "" for v in row)
                        for row in event_rows(analysis, args.signal)]
    text = "\n".join(lines) + "\n"
    if args.out is not None:
        try:
            args.out.write_text(text)
        except OSError as exc:
            errors.print(f"[red]error:[/red] cannot write {escape(str(args.out))}: {escape(exc.strerror or str(exc))}")
            return 1
    elif not args.json:
        sys.stdout.write(text)
    if args.json:
        sys.stdout.write(json.dumps(summarize(analysis, args.signal, times_s)) + "\n")
    return 0


def _measure(run: Callable[[Callable[[str], None]], Any], errors: Console) -> Any:
    """Run a benchmark, its progress lines on standard error; an exit status instead of a report on failure."""
    try:
        return run(lambda line: errors.print(line, markup=False))
    except JackNotInstalled as exc:
        errors.print(f"[red]error:[/red] {escape(str(exc))}")
        return 2
    except (JackError, BenchError, SoundError, SessionError) as exc:
        errors.print(f"[red]error:[/red] {escape(str(exc))}")
        return 1
    except KeyboardInterrupt:
        errors.print("Interrupted: nothing measured.")
        return 130


def bench_latency(args: argparse.Namespace, console: Console, errors: Console) -> int:
    """``ecosymphony bench latency``: event -> first changed sample, ours against the bare floor."""
    report = _measure(lambda notify: run_bench(args.transport, args.buffer, args.events, seed=args.seed, notify=notify),
                      errors)
    if isinstance(report, int):
        return report
    if args.json:
        sys.stdout.write(json.dumps(report.to_dict()) + "\n")
        return 0
    table = Table(title=f"event -> first changed sample ({report.transport}, {report.buffer_frames} frames at "
                        f"{report.sample_rate_hz} Hz, {report.events} events)")
    for column in ("path", "p50 ms", "p95 ms", "p99 ms", "max ms", "SD ms", "missed", "xruns"):
        table.add_column(column, justify="left" if column == "path" else "right")
    for name, stats, xruns in (("ours", report.ours, report.xruns_ours), ("floor", report.floor, report.xruns_floor)):
        table.add_row(name, *[finite_or_dash(v, "{:.3f}") for v in (stats.p50_ms, stats.p95_ms, stats.p99_ms, stats.max_ms, stats.sd_ms)],
                      str(stats.missed), str(xruns))
    console.print(table)
    console.print("ours: the program's source, core, mapper and patch; floor: a bare pyo OscReceive, same events", markup=False)
    met = report.targets_met()
    console.print(f"p50 ours / floor: {finite_or_dash(report.ratio_p50, '{:.2f}')}x")
    console.print("targets: " + ", ".join(f"{name} <= {TARGETS[name]:g} {'met' if ok else 'not met'}" for name, ok in met.items()),
                  markup=False)
    return 0


def bench_visuals(args: argparse.Namespace, console: Console, errors: Console) -> int:
    """``ecosymphony bench visuals``: the scene's frame rate on one core, and event -> frame latency."""
    from installation.bench.frame_rate import TARGETS as VISUAL_TARGETS, bench_visuals as run_visuals

    report = _measure(lambda notify: run_visuals(args.participants, args.size, args.seconds, notify=notify), errors)
    if isinstance(report, int):
        return report
    if args.json:
        sys.stdout.write(json.dumps(report.to_dict()) + "\n")
        return 0
    w, h = report.size_px
    table = Table(title=f"visuals: {report.participants} wearers at {w}x{h}, dummy video driver")
    for column in ("measure", "value"):
        table.add_column(column, justify="left" if column == "measure" else "right")
    rows = [
        (f"fps (one core: cpu {report.cpu}, {report.frames} frames)", finite_or_dash(report.fps, "{:.0f}")),
        ("frame time p50 ms", finite_or_dash(report.frame_p50_ms, "{:.2f}")),
        ("frame time p99 ms", finite_or_dash(report.frame_p99_ms, "{:.2f}")),
        ("frame time max ms", finite_or_dash(report.frame_max_ms, "{:.2f}")),
        (f"event -> frame p50 ms ({report.latency_events} beats)", finite_or_dash(report.latency_p50_ms, "{:.2f}")),
        ("event -> frame p99 ms", finite_or_dash(report.latency_p99_ms, "{:.2f}")),
        ("event -> frame max ms", finite_or_dash(report.latency_max_ms, "{:.2f}")),
        ("  of which event -> in the visuals process p50 ms", finite_or_dash(report.arrival_p50_ms, "{:.2f}")),
        ("  of which event -> in the visuals process p99 ms", finite_or_dash(report.arrival_p99_ms, "{:.2f}")),
        ("visuals process fps (paced at 60)", finite_or_dash(report.renderer_fps, "{:.1f}")),
    ]
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)
    met = report.targets_met()
    console.print("targets: " + ", ".join(f"{name} {'>=' if name == 'fps' else '<='} {VISUAL_TARGETS[name]:.4g} "
                                          f"{'met' if ok else 'not met'}" for name, ok in met.items()), markup=False)
    for note in report.notes:
        console.print(f"note: {note}", markup=False)
    return 0


def bench_soak(args: argparse.Namespace, console: Console, errors: Console) -> int:
    """``ecosymphony bench soak``: a long simulated show; memory growth, xruns and faults."""
    from installation.bench.soak import run_soak

    report = _measure(lambda notify: run_soak(args.seconds, args.wearers, args.audio, args.every,
                                                        show_path=args.show, record_dir=args.record, notify=notify,
                                                        visuals=not args.no_visuals), errors)
    if isinstance(report, int):
        return report
    if args.json:
        sys.stdout.write(json.dumps(report.to_dict()) + "\n")
        return 0
    table = Table(title=f"soak: {report.wearers} simulated wearers, {report.seconds:g} s, sound {report.audio}")
    for column in ("measure", "value"):
        table.add_column(column, justify="left" if column == "measure" else "right")
    rows = [
        ("memory after settling MB", finite_or_dash(report.rss_start_mb)),
        ("memory at the end MB", finite_or_dash(report.rss_end_mb)),
        ("memory growth MB per hour (fit)", finite_or_dash(report.growth_mb_per_h())),
        ("visuals process growth MB per hour", finite_or_dash(report.growth_mb_per_h(visuals=True))),
        ("xruns" if report.audio == "jack" else "late audio buffers", str(report.xruns)),
        ("xruns a minute: show / idle server", f"{finite_or_dash(report.xruns_per_min)} / "
                                               f"{finite_or_dash(report.idle_xruns_per_min)}"),
        ("beats found / simulated", f"{report.beats} / {report.true_beats}"),
        ("block -> trigger p50 / p99 ms", f"{finite_or_dash(report.latency_p50_ms, '{:.2f}')} / "
                                          f"{finite_or_dash(report.latency_p99_ms, '{:.2f}')}"),
        ("CPU, % of one core: show / sound / visuals process", f"{finite_or_dash(report.cpu_percent)} / "
         f"{finite_or_dash(report.sound_cpu_percent)} / {finite_or_dash(report.visuals_cpu_percent)}"),
        ("sound process restarts", str(report.sound_restarts)),
        ("visuals restarts", str(report.visuals_restarts)),
        ("faults", str(len(report.faults))),
    ]
    if report.recording is not None:
        rows.append(("recorded samples (dropped)", f"{report.recorded_samples} ({report.recording_dropped})"
                     + (f", stopped: {report.recording_failed}" if report.recording_failed else "")))
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)
    for line in report.faults[:20]:
        console.print(f"fault: {line}", markup=False)
    return 0


#: The newest faults the summary lists (all were logged as they happened).
FAULTS_IN_SUMMARY = 12


def _failed_to_start(exc: Exception, errors: Console) -> int:
    """Print why a show could not start; exit status 2 for a show-file problem, 1 for anything else."""
    errors.print(f"[red]error:[/red] {escape(str(exc))}")
    return 2 if isinstance(exc, ConfigError) else 1


def print_summary(console: Console, s: Summary) -> None:
    table = Table(title=f"{s.title}: {len(s.wearers)} participants, {s.duration_s:.1f} s")
    table.add_column("wearer")
    table.add_column("beats", justify="right")
    table.add_column("mean HR (bpm)", justify="right")
    show_truth = bool(s.simulated_bpm)
    if show_truth:
        table.add_column("simulated HR (bpm)", justify="right")
    for w in s.wearers:
        row = [w, str(s.beats.get(w, 0)), finite_or_dash(s.mean_bpm.get(w, float("nan")))]
        if show_truth:
            row.append(finite_or_dash(s.simulated_bpm.get(w, float("nan"))))
        table.add_row(*row)
    console.print(table)
    console.print(f"beat -> trigger latency in the core: p50 {finite_or_dash(s.latency_p50_ms, '{:.2f}')} ms, "
                  f"p99 {finite_or_dash(s.latency_p99_ms, '{:.2f}')} ms")
    console.print(f"start-up {finite_or_dash(s.startup_s)} s and shutdown {finite_or_dash(s.shutdown_s)} s, "
                  "not counted in the show's time")
    console.print(f"audio: {s.audio}", markup=False)
    console.print(f"visuals: {s.visuals}" + (f" ({s.frames_written} written)" if s.frames_written else ""), markup=False)
    console.print(f"run folder: {s.run_dir if s.run_dir else '(nothing written)'}", markup=False)
    if s.recording is not None:
        console.print(f"recording: {s.recording}", markup=False)
    for p in s.problems:
        console.print(f"[yellow]problem:[/yellow] {escape(p)}")
    for line in s.faults[-FAULTS_IN_SUMMARY:]:
        console.print(f"fault: {line}", markup=False)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = Console(highlight=False, soft_wrap=True)
    errors = Console(stderr=True, highlight=False, soft_wrap=True)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=errors, show_path=False)],
    )
    if args.command == "analyze":
        return analyze(args, console, errors)
    if args.command == "listen":
        return listen(args, console, errors)
    if args.command == "check":
        return check(args, console, errors)
    if args.command == "init":
        return init(args, console, errors)
    if args.command == "preflight":
        return preflight(args, console, errors)
    if args.command == "simulate":
        return simulate(args, console, errors)
    if args.command == "hub":
        return hub(args, console, errors)
    if args.command == "devices":
        return devices(args, console, errors)
    if args.command == "visuals":
        return render_node(args, console, errors)
    if args.command == "replay":
        return replay_command(args, console, errors)
    if args.command == "report":
        return report_command(args, console, errors)
    if args.command == "forget":
        return forget_command(args, console, errors)
    if args.command == "bench":
        run_bench_command = {"visuals": bench_visuals, "soak": bench_soak}.get(args.bench, bench_latency)
        return run_bench_command(args, console, errors)
    show_path = args.show or default_show_path()
    if args.command == "render":
        return render(args, show_path, console, errors)
    try:
        show = load_show(show_path)
    except ConfigError as exc:
        errors.print(f"[red]error:[/red] {escape(str(exc))}")
        return 2
    if any(getattr(src, "hubs", None) for src in show.sources) or show.lsl != LslNetConfig():
        lsl_net.apply(show.lsl.scope, show.lsl.listen, show.lsl.known_peers, show.lsl.session_id, show.lsl.port_range)
    terminated = threading.Event()

    def on_stop_signal(signum: int, frame: FrameType | None) -> None:
        # First Ctrl-C / SIGTERM: stop cleanly (fade out, close everything).
        # A second Ctrl-C while that runs: give up waiting.
        if terminated.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        terminated.set()
        errors.print("Stopping: fading out and closing (Ctrl-C again to force)...")

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_stop_signal)
        signal.signal(signal.SIGINT, on_stop_signal)
    options = LaunchOptions(
        duration_s=args.duration,
        participants=getattr(args, "participants", None),
        seed=getattr(args, "seed", None),
        runs_dir=args.runs_dir,
        audio=args.audio,
        visuals=args.visuals,
        via=getattr(args, "via", "memory"),
        wire_format=getattr(args, "wire_format", "native"),
        scenario=getattr(args, "scenario", None),
        record_dir=args.record,
        console=console_wanted(args.console),
    )
    console.print(f"Eco-Symphony {__version__}: {args.command} {show_path}", markup=False)
    try:
        summary = perform(
            show,
            options,
            rehearsal=args.command == "rehearse",
            notify=lambda line: console.print(line, markup=False),
            should_stop=terminated.is_set,
        )
    except (ConfigError, SessionError, SoundError) as exc:
        return _failed_to_start(exc, errors)
    print_summary(console, summary)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
