"""Beat -> MIDI note under JACK, measured at an independent receiver.

    python -m installation.bench.midi [--events 200] [--buffer 64] [--seed 1] [--json]

A receiver process of its own (a JACK-Client MIDI input port, not our code) plays the
sensor rig: it sends each beat as an OSC message (``/eco/p<N>/ibi 0.8``, a device-reported
beat, the wearers taking turns) to 127.0.0.1, stamped on the monotonic clock just before it
leaves, and stamps each note-on when its JACK process callback sees it (same clock: one
system-wide CLOCK_MONOTONIC). Two paths, the same events at the same random gaps, in one run:

bare
    A UDP socket, python-osc's parser and python-rtmidi on JACK, sending the note-on
    from the thread that received the message: the least a Python program can do.
ours
    The whole show: ``OscSource`` and its reader thread -> the session's core thread
    (the beat) -> the pipeline -> the ``[[outputs]] kind = "midi"`` entry (its mapping,
    its sending thread) -> python-rtmidi -> JACK.

Each wearer plays on their own channel; a note-on is matched to the beat sent to that
wearer just before it. The first round (one beat per wearer) is a warm-up, not counted.
Under JACK a message sent during a cycle reaches the receiver in the next one: both paths
carry that period (64 frames at 48 kHz: 1.33 ms).
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import socket
import sys
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, Callable

import numpy as np

from installation.bench import BenchError
from installation.bench.latency import GAP_RANGE_S, IBI_S, WEARERS, osc_datagram
from installation.bench.stats import LatencyStats, latency_stats, ratio
from installation.bench.step_patch import StepPatch
from installation.config import Show, parse_source
from installation.mapping.mapper import Mapper, compile_mappings
from installation.sensors.factory import source_from_config
from installation.sensors.osc_source import OscSource
from installation.runtime.session import Session
from installation.sound.jack_server import DummyJackServer, JackError, ServerSettings, open_client

#: Longest a note-on is waited for after its beat, seconds.
MAX_LATENCY_S = 0.5
#: Longest the receiver may take to start (a spawned interpreter importing JACK-Client), seconds.
START_TIMEOUT_S = 60.0
NOTE_ON = 0x90


# ---- the receiver (a process of its own) ------------------------------------------------------
def _serve(conn: Connection, client_name: str) -> None:
    """The receiver process: a JACK MIDI input port whose callback stamps each note-on; it also sends the beats."""
    try:
        client = open_client(client_name)
    except JackError as exc:
        conn.send(("error", str(exc)))
        return
    port = client.midi_inports.register("in")
    got: list[tuple[int, int]] = []  # (monotonic ns when seen, channel)
    xruns = [0]

    def process(frames: int) -> None:
        for _, buffer in port.incoming_midi_events():
            data = bytes(buffer)
            if len(data) == 3 and data[0] & 0xF0 == NOTE_ON and data[2] > 0:
                got.append((time.monotonic_ns(), data[0] & 0x0F))

    client.set_process_callback(process)
    client.set_xrun_callback(lambda delayed_usecs: xruns.__setitem__(0, xruns[0] + 1))
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        client.activate()
        conn.send(("ready", client.samplerate, client.blocksize))
        while conn.poll(600.0):
            command, *args = conn.recv()
            if command == "quit":
                break
            udp_port, payloads, gaps_s = args
            got.clear()
            xruns[0] = 0
            sends_ns = []
            next_s = time.monotonic()
            for payload, gap_s in zip(payloads, gaps_s):
                next_s += gap_s
                time.sleep(max(0.0, next_s - time.monotonic()))
                sends_ns.append(time.monotonic_ns())
                sock.sendto(payload, ("127.0.0.1", int(udp_port)))
            time.sleep(MAX_LATENCY_S)
            conn.send(("measured", sends_ns, list(got), xruns[0]))
    except (EOFError, BrokenPipeError):
        pass
    finally:
        sock.close()
        client.deactivate()
        client.close()


class Receiver:
    """Handle on the receiver process (spawned; stopped by :meth:`close`)."""

    def __init__(self, client_name: str) -> None:
        self.client_name = client_name
        self.port = f"{client_name}:in"
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(target=_serve, args=(child, client_name), name="midi-receiver", daemon=True)
        self._process.start()
        child.close()
        reply = self._receive(START_TIMEOUT_S)
        self.settings = ServerSettings(int(reply[1]), int(reply[2]))

    def _receive(self, timeout_s: float) -> tuple[Any, ...]:
        try:
            if not self._conn.poll(timeout_s):
                raise BenchError(f"the MIDI receiver did not answer within {timeout_s:g} s")
            reply = self._conn.recv()
        except (EOFError, BrokenPipeError):
            raise BenchError("the MIDI receiver stopped") from None
        if reply[0] == "error":
            raise BenchError(f"MIDI receiver: {reply[1]}")
        return tuple(reply)

    def measure(self, udp_port: int, payloads: list[bytes], gaps_s: list[float]) -> tuple[list[float], int]:
        """Send the beats to ``udp_port``; per beat, milliseconds to its note-on (NaN: none came), and
        the xruns JACK reported meanwhile (a cycle late: MIDI in it may be lost)."""
        self._conn.send(("measure", udp_port, payloads, gaps_s))
        _, sends_ns, got, xruns = self._receive(sum(gaps_s) + MAX_LATENCY_S + 30.0)
        return match_notes(sends_ns, [i % len(WEARERS) for i in range(len(sends_ns))], got), int(xruns)

    def close(self) -> None:
        try:
            self._conn.send(("quit",))
        except (OSError, BrokenPipeError):
            pass
        self._process.join(timeout=5.0)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(timeout=5.0)
        self._conn.close()


def match_notes(sends_ns: list[int], channels: list[int], got: list[tuple[int, int]]) -> list[float]:
    """Per beat, milliseconds from its send to the first note-on on its channel after it, before
    the next beat on that channel (NaN: none)."""
    by_channel: dict[int, list[int]] = {}
    for seen_ns, channel in got:
        by_channel.setdefault(channel, []).append(seen_ns)
    out = []
    for i, (sent_ns, channel) in enumerate(zip(sends_ns, channels)):
        later = [sends_ns[j] for j in range(i + 1, len(sends_ns)) if channels[j] == channel]
        until_ns = later[0] if later else sent_ns + int(MAX_LATENCY_S * 1e9)
        seen = [t for t in by_channel.get(channel, []) if sent_ns <= t < until_ns]
        out.append((seen[0] - sent_ns) / 1e6 if seen else math.nan)
    return out


# ---- the two senders ------------------------------------------------------------------------------
def _free_udp_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    return sock


def measure_bare(receiver: Receiver, payloads: list[bytes], gaps_s: list[float]) -> tuple[list[float], int]:
    """A UDP socket, python-osc and python-rtmidi on JACK, in one thread: no code of ours."""
    import rtmidi
    from pythonosc.osc_message import OscMessage

    out = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, f"ecosymphony-bare-{os.getpid()}")
    out.open_port(list(out.get_ports()).index(receiver.port), "out")
    sock = _free_udp_socket()
    sock.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                data = sock.recv(2048)
            except TimeoutError:
                continue
            address = OscMessage(data).address  # /eco/p<N>/ibi
            out.send_message([NOTE_ON | (int(address.split("/")[2][1:]) - 1), 60, 100])

    thread = threading.Thread(target=serve, name="bare midi", daemon=True)
    thread.start()
    try:
        return receiver.measure(sock.getsockname()[1], payloads, gaps_s)
    finally:
        stop.set()
        thread.join(timeout=2.0)
        sock.close()
        out.close_port()
        out.delete()


def bench_show(port: str) -> Show:
    """The show measured: every wearer's beat plays a note on their channel."""
    return Show.model_validate({
        "show": {"title": "MIDI latency benchmark"},
        "mappings": [{"from": "p*.heart.beat", "to": "sound.p*.pulse"}],
        "outputs": [{"kind": "midi", "port": port, "api": "jack", "name": f"ecosymphony-bench-{os.getpid()}",
                     "notes": [{"from": "p*.heart.beat", "length_s": 0.02}]}],
    })


def measure_ours(receiver: Receiver, payloads: list[bytes], gaps_s: list[float]) -> tuple[list[float], int]:
    """The show's own path, OSC source to the receiver's MIDI port (no sound engine: it plays no part here)."""
    show = bench_show(receiver.port)
    parameters = {f"sound.{address}": kind for address, kind in StepPatch.PARAMETERS.items()}
    mapper = Mapper(compile_mappings(show.mappings, parameters, "<midi benchmark>"))
    source = source_from_config(parse_source({"kind": "osc", "port": 0, "host": "127.0.0.1", "wearers": WEARERS}))
    assert isinstance(source, OscSource)
    session = Session(show, mapper, [source], WEARERS, None, None)
    session.start()
    try:
        outputs = session.pipeline.outputs
        deadline = time.monotonic() + 10.0
        while outputs is None or not all(state.open for _, state in outputs.midi_states()):
            if time.monotonic() > deadline:
                raise BenchError(f"the MIDI output did not open: {outputs.midi_states() if outputs else 'none'}")
            time.sleep(0.02)
        return receiver.measure(source.port, payloads, gaps_s)
    finally:
        session.stop()


# ---- the run -----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class MidiReport:
    """One run: both paths' latencies (ms), their ratio at the median, and the xruns JACK reported
    while each was measured."""

    sample_rate_hz: int
    buffer_frames: int
    events: int
    ours: LatencyStats
    bare: LatencyStats
    ratio_p50: float
    jack_started: bool
    xruns_ours: int = 0
    xruns_bare: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"sample_rate_hz": self.sample_rate_hz, "buffer_frames": self.buffer_frames, "events": self.events,
                "ours": self.ours.to_dict(), "bare": self.bare.to_dict(),
                "ratio_p50": None if not math.isfinite(self.ratio_p50) else self.ratio_p50,
                "jack_started": self.jack_started, "xruns_ours": self.xruns_ours, "xruns_bare": self.xruns_bare}


def bench_midi(events: int = 200, buffer_frames: int = 64, sample_rate_hz: int = 48000, seed: int = 1,
               notify: Callable[[str], None] = lambda line: None) -> MidiReport:
    """Measure beat -> note-on at the receiver, through the show and through the bare path.

    Raises
    ------
    JackNotInstalled
        No JACK server runs and jackd is not installed.
    JackError, BenchError
        Something failed; the message says what.
    """
    if not 1 <= events <= 100_000:
        raise BenchError(f"events must be 1..100000, got {events}")
    warmup = len(WEARERS)
    rng = np.random.default_rng(seed)
    gaps_s = [float(g) for g in rng.uniform(*GAP_RANGE_S, size=events + warmup)]
    payloads = [osc_datagram(f"/eco/p{i % len(WEARERS) + 1}/ibi", IBI_S) for i in range(events + warmup)]
    jack = DummyJackServer(sample_rate_hz, buffer_frames)
    settings = jack.start()
    started = jack.started
    try:
        notify(("Started JACK's dummy driver" if started else "Using the JACK server already running")
               + f": {settings.sample_rate_hz} Hz, {settings.buffer_frames} frames ({settings.period_ms:.2f} ms).")
        receiver = Receiver(f"ecosymphony-midi-receiver-{os.getpid()}")
        try:
            notify(f"Bare: UDP -> python-osc -> python-rtmidi, {events} beats after {warmup} warm-up...")
            bare, xruns_bare = measure_bare(receiver, payloads, gaps_s)
            notify(f"Ours: OSC source -> core -> [[outputs]] kind = \"midi\", {events} beats after {warmup} warm-up...")
            ours, xruns_ours = measure_ours(receiver, payloads, gaps_s)
        finally:
            receiver.close()
    finally:
        jack.stop()
    ours_stats, bare_stats = latency_stats(ours[warmup:]), latency_stats(bare[warmup:])
    return MidiReport(settings.sample_rate_hz, settings.buffer_frames, events, ours_stats, bare_stats,
                      ratio(ours_stats.p50_ms, bare_stats.p50_ms), started, xruns_ours, xruns_bare)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200, help="beats measured per path (default 200)")
    parser.add_argument("--buffer", type=int, default=64, help="frames per cycle of a JACK dummy server started")
    parser.add_argument("--seed", type=int, default=1, help="seed of the random gaps between beats")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    try:
        report = bench_midi(args.events, args.buffer, seed=args.seed,
                            notify=(lambda line: None) if args.json else print)
    except (BenchError, JackError) as exc:
        print(f"bench midi: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report.to_dict()))
        return 0
    print(f"Beat -> MIDI note-on at the receiver, JACK {report.sample_rate_hz} Hz, {report.buffer_frames} frames "
          f"({1000.0 * report.buffer_frames / report.sample_rate_hz:.2f} ms a cycle), {report.events} beats:")
    for name, s, xruns in (("ours", report.ours, report.xruns_ours), ("bare", report.bare, report.xruns_bare)):
        print(f"  {name}: p50 {s.p50_ms:.2f} ms  p99 {s.p99_ms:.2f} ms  max {s.max_ms:.2f} ms  "
              f"mean {s.mean_ms:.2f} +- {s.sd_ms:.2f} ms  ({s.count} found, {s.missed} missed; {xruns} xruns)")
    print(f"  ours / bare at p50: {report.ratio_p50:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
