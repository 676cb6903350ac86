"""The measuring side of the latency benchmark: a sensor and an oscilloscope, in a process of its own.

The probe plays the sensor rig (it sends each event: a UDP datagram to
127.0.0.1, or a line written to a pseudo-terminal it owns) and records the
program's output with a JACK client. Its JACK process callback only copies:
each cycle's buffer goes into a preallocated array with the monotonic time at
which the cycle began (``time.monotonic_ns()`` at the callback, less
``frames_since_cycle_start``). Sends are stamped with the same clock just
before they leave; :func:`installation.bench.detect.event_latencies_ms` then
finds each event's step in the recording.

Why a process of its own: the program under test runs Python threads (readers,
the core), and so does a JACK callback written in Python. In one process they
would take turns on the interpreter lock, and the recorder would be measuring
its own interference. JACK's frame counter is not used for timing: under the
dummy driver a late cycle repeats or skips frame times, while the cycle's start
on the monotonic clock stays right.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import socket
import time
import tty
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from installation.bench import BenchError
from installation.bench.detect import event_latencies_ms
from installation.sound.jack_server import JackError, ServerSettings, open_client

#: Longest the probe waits for its next command before deciding the parent is gone, seconds.
IDLE_TIMEOUT_S = 600.0
#: Longest the probe may take to start (a spawned interpreter importing numpy and JACK-Client), seconds.
START_TIMEOUT_S = 60.0

Target = tuple[str, int] | tuple[str]


@dataclass(frozen=True, slots=True)
class Measurement:
    """What the probe recorded for one series of events.

    Attributes
    ----------
    latencies_ms : list of float
        Per event sent, milliseconds to its step in the output (NaN: not found).
    xruns : int
        JACK cycles the server reported late while recording.
    buffers : int
        Cycles recorded.
    overflow : bool
        Cycles went unrecorded: the recording ran out of room, or the server
        changed its buffer size (events there may be missed).
    sent_s : list of float
        Monotonic time at which each event was sent, in seconds (the same clock
        in every process of the machine).
    """

    latencies_ms: list[float]
    xruns: int
    buffers: int
    overflow: bool
    sent_s: list[float]


class _Recorder:
    """A JACK client with one input port whose process callback copies every buffer."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.port = client.inports.register("in")
        self.sample_rate_hz = int(client.samplerate)
        self.buffer_frames = int(client.blocksize)
        self.buffers = np.zeros((0, self.buffer_frames), dtype=np.float32)
        self.starts_ns = np.zeros(0, dtype=np.int64)
        self.count = 0
        self.xruns = 0
        self.overflow = False
        self.recording = False

    # JACK's real-time thread: copy and stamp, nothing else.
    def process(self, frames: int) -> None:
        if not self.recording:
            return
        k = self.count
        if k >= self.starts_ns.size or frames != self.buffer_frames:
            self.overflow = True
            return
        now_ns = time.monotonic_ns()
        since = self.client.frames_since_cycle_start
        self.starts_ns[k] = now_ns - since * 1_000_000_000 // self.sample_rate_hz
        self.buffers[k] = self.port.get_array()
        self.count = k + 1

    def xrun(self, delayed_usecs: float) -> None:
        if self.recording:
            self.xruns += 1

    def record(self, seconds: float) -> tuple[np.ndarray, np.ndarray, int]:
        """Record whatever is connected to the input port for ``seconds``.

        Returns
        -------
        tuple
            The samples (one row per cycle), each cycle's start on the monotonic clock
            in seconds, and the xruns seen.
        """
        capacity = int(math.ceil(seconds * self.sample_rate_hz / self.buffer_frames)) + 64
        self.buffers = np.zeros((capacity, self.buffer_frames), dtype=np.float32)
        self.starts_ns = np.zeros(capacity, dtype=np.int64)
        self.count, self.xruns, self.overflow = 0, 0, False
        self.recording = True
        time.sleep(seconds)
        self.recording = False
        n = self.count
        return self.buffers[:n].copy(), self.starts_ns[:n] / 1e9, self.xruns

    def measure(self, output_port: str, send: Any, payloads: list[bytes], gaps_s: list[float],
                threshold: float, max_latency_s: float, settle_s: float) -> Measurement:
        """Record ``output_port`` while sending ``payloads``, each ``gaps_s`` after the one before."""
        total_s = settle_s + float(sum(gaps_s)) + max_latency_s + 0.5
        capacity = int(math.ceil(total_s * self.sample_rate_hz / self.buffer_frames)) + 64
        self.buffers = np.zeros((capacity, self.buffer_frames), dtype=np.float32)
        self.starts_ns = np.zeros(capacity, dtype=np.int64)
        self.count, self.xruns, self.overflow = 0, 0, False
        try:
            self.client.connect(output_port, self.port)
        except Exception as exc:  # JackError, or a port that is not there
            raise BenchError(f"cannot record {output_port}: {exc}") from None
        sends_ns: list[int] = []
        try:
            self.recording = True
            time.sleep(settle_s)
            next_s = time.monotonic()
            for payload, gap_s in zip(payloads, gaps_s):
                next_s += gap_s
                time.sleep(max(0.0, next_s - time.monotonic()))
                sends_ns.append(time.monotonic_ns())
                send(payload)
            time.sleep(max_latency_s + 0.05)
        finally:
            self.recording = False
            try:
                self.client.disconnect(output_port, self.port)
            except Exception:  # the program's client may already be gone
                pass
        n = self.count
        sent_s = np.asarray(sends_ns, dtype=np.int64) / 1e9
        latencies = event_latencies_ms(self.buffers[:n], self.starts_ns[:n] / 1e9, sent_s,
                                       self.sample_rate_hz, threshold, max_latency_s)
        return Measurement([float(v) for v in latencies], self.xruns, n, self.overflow, sent_s.tolist())


def _udp_sender(port: int) -> tuple[Any, Any]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    return (lambda payload: sock.sendto(payload, ("127.0.0.1", port))), sock.close


def _serve(conn: Connection, client_name: str) -> None:
    """The probe process: answer commands until told to quit or the parent goes quiet."""
    try:
        client = open_client(client_name)
    except JackError as exc:
        conn.send(("error", str(exc)))
        return
    recorder = _Recorder(client)
    client.set_process_callback(recorder.process)
    client.set_xrun_callback(recorder.xrun)
    pty: tuple[int, int] | None = None
    try:
        client.activate()
        conn.send(("ready", recorder.sample_rate_hz, recorder.buffer_frames))
        while conn.poll(IDLE_TIMEOUT_S):
            command, *args = conn.recv()
            if command == "quit":
                break
            try:
                if command == "pty":
                    if pty is None:
                        master, slave = os.openpty()
                        tty.setraw(slave)  # no echo, no line editing, before anyone opens it
                        os.set_blocking(master, False)
                        pty = (master, slave)
                    conn.send(("pty", os.ttyname(pty[1])))
                elif command == "record":
                    conn.send(("recorded", *recorder.record(float(args[0]))))
                elif command == "measure":
                    output_port, target, payloads, gaps_s, threshold, max_latency_s, settle_s = args
                    if target[0] == "udp":
                        send, done = _udp_sender(int(target[1]))
                    elif target[0] == "pty" and pty is not None:
                        master = pty[0]
                        send, done = (lambda payload: os.write(master, payload)), (lambda: None)
                    else:
                        raise BenchError(f"unknown target {target!r}")
                    try:
                        measurement = recorder.measure(output_port, send, payloads, gaps_s, threshold, max_latency_s, settle_s)
                    finally:
                        done()
                    conn.send(("measured", measurement))
                else:
                    raise BenchError(f"unknown probe command {command!r}")
            except Exception as exc:  # reported to the parent, which raises it
                conn.send(("error", f"{type(exc).__name__}: {exc}"))
    except (EOFError, BrokenPipeError):
        pass  # the parent went away
    finally:
        try:
            client.deactivate()
        finally:
            client.close()
            if pty is not None:
                os.close(pty[0])
                os.close(pty[1])


class Probe:
    """Handle on the probe process (spawned; stopped by :meth:`close`).

    Parameters
    ----------
    client_name : str
        JACK client name of the recorder.
    """

    def __init__(self, client_name: str = "ecosymphony-probe") -> None:
        self.client_name = client_name
        self.settings: ServerSettings | None = None
        self._conn: Connection | None = None
        self._process: Any = None
        self._recording_s = 0.0

    def start(self) -> ServerSettings:
        """Start the probe; its JACK client is active when this returns."""
        ctx = mp.get_context("spawn")
        parent, child = ctx.Pipe()
        self._process = ctx.Process(target=_serve, args=(child, self.client_name), name="latency-probe", daemon=True)
        self._process.start()
        child.close()
        self._conn = parent
        reply = self._receive(START_TIMEOUT_S, "start")
        self.settings = ServerSettings(int(reply[1]), int(reply[2]))
        return self.settings

    def _receive(self, timeout_s: float, what: str) -> tuple[Any, ...]:
        conn = self._conn
        if conn is None:
            raise BenchError("the probe is not running")
        try:
            if not conn.poll(timeout_s):
                raise BenchError(f"the latency probe did not answer ({what}) within {timeout_s:g} s")
            reply = conn.recv()
        except (EOFError, BrokenPipeError):
            raise BenchError(f"the latency probe stopped ({what})") from None
        if reply[0] == "error":
            raise BenchError(f"latency probe: {reply[1]}")
        return tuple(reply)

    def make_pty(self) -> str:
        """Path of a pseudo-terminal whose other end the probe writes events to."""
        assert self._conn is not None
        self._conn.send(("pty",))
        return str(self._receive(10.0, "pty")[1])

    def measure(self, output_port: str, target: Target, payloads: list[bytes], gaps_s: list[float],
                threshold: float, max_latency_s: float, settle_s: float = 0.3) -> Measurement:
        """Send the events and record ``output_port``; one latency per event.

        Parameters
        ----------
        output_port : str
            JACK port to record, e.g. ``"ecosymphony:output_1"``.
        target : tuple
            ``("udp", port)`` (sent to 127.0.0.1) or ``("pty",)`` (the probe's pseudo-terminal).
        payloads : list of bytes
            One datagram or line per event.
        gaps_s : list of float
            Seconds before each event (after the one before it).
        threshold : float
            Smallest sample-to-sample jump that counts as the event's change.
        max_latency_s : float
            Longest latency looked for, in seconds.
        settle_s : float
            Seconds recorded before the first event.
        """
        assert self._conn is not None
        self._conn.send(("measure", output_port, target, payloads, list(gaps_s), threshold, max_latency_s, settle_s))
        timeout_s = settle_s + float(sum(gaps_s)) + max_latency_s + 30.0
        return self._receive(timeout_s, "measure")[1]  # type: ignore[no-any-return]

    def start_recording(self, seconds: float) -> None:
        """Record the probe's input port (``<client>:in``) for ``seconds``, from now; collect with :meth:`recorded`."""
        assert self._conn is not None
        self._conn.send(("record", seconds))
        self._recording_s = seconds

    def recorded(self) -> tuple[np.ndarray, np.ndarray, int]:
        """The recording begun by :meth:`start_recording`: samples (a row per cycle), cycle starts
        (monotonic seconds) and xruns."""
        reply = self._receive(self._recording_s + 30.0, "record")
        return reply[1], reply[2], int(reply[3])

    def close(self) -> None:
        """Ask the probe to quit; terminate it (by its handle) if it does not within 5 s."""
        conn, process = self._conn, self._process
        self._conn, self._process = None, None
        if conn is not None:
            try:
                conn.send(("quit",))
            except (OSError, BrokenPipeError):
                pass
        if process is not None:
            process.join(timeout=5.0)
            if process.is_alive():
                process.terminate()
                process.join(timeout=5.0)
        if conn is not None:
            conn.close()

    def __enter__(self) -> "Probe":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
