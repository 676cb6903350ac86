"""The lights' figures: beat -> DMX frame on the wire, and the lighting output's CPU.

    python -m installation.bench.lights [--seconds 20] [--json]

* **Beat -> frame, at the receiver.** A live session with four simulated wearers whose
  heartbeats pulse four RGB washes (``pK.heart.beat -> light.washK.pulse``) on sACN universe 1,
  sent to a UDP socket on this machine where the ``sacn`` library's parser reads every packet.
  Each beat's sensor block is stamped at its arrival (the session's clock); each packet at its
  reception (the same clock). The latency of a beat is the reception of the first frame in which
  its wash's green channel jumps up, minus the arrival of the block that held the beat. It
  includes the frame pacing (a universe goes out at most 40 times a second: up to 25 ms). The
  first :data:`WARM_UP_S` seconds are left out.
* **CPU for 512 pixels at 40 Hz.** Three strips of 170 RGB pixels and one of 2 (512 pixels,
  1536 channels on sACN universes 1-4), with waves running and every wearer's segment moving, so
  that every universe changes every frame: 160 packets a second. Measured: the render thread
  (the look, the flash-limiter hook, the pipe) and the sender process (pacing, the packets,
  the sockets), as a share of one core. Baseline, in the same run: a bare process sending the
  same four universes, as packets built once, at 40 Hz.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
from sacn.messages.data_packet import DataPacket

from installation.config import SimulatedSource, default_show_path, parse_show
from installation.pipeline.sinks import Firing, Sink
from installation.runtime.launch import prepare_show
from installation.runtime.session import Session
from installation.sensors.factory import source_from_config

WEARERS = 4
RATE_HZ = 40.0
#: Beats in the first seconds are not counted: the signal core's first passes load its kernels,
#: and a pipeline that stalls for more than a second shows the house look (as it should).
WARM_UP_S = 5.0


class SacnReceiver:
    """sACN packets on a UDP socket on this machine, parsed by the ``sacn`` library (not our code),
    each with its arrival time on ``clock`` (seconds).

    Parameters
    ----------
    clock : callable
        The clock that stamps each packet's arrival (``time.perf_counter`` for latency figures).
    """

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.packets: list[tuple[float, DataPacket]] = []
        self._clock = clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():  # until close()
            try:
                data = self.sock.recv(2048)
            except socket.timeout:
                continue
            self.packets.append((self._clock(), DataPacket.make_data_packet(tuple(data))))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)
        self.sock.close()


class _BeatStamps(Sink):
    """A tap keeping, for each wash pulse fired by a beat, the arrival of the block that held the beat
    (``Firing.stamp_s``, the session's clock), by wearer."""

    def __init__(self) -> None:
        self.beats: dict[str, list[float]] = {}

    def trigger(self, firing: Firing) -> None:
        if firing.address.startswith("light.wash") and firing.address.endswith(".pulse"):
            wearer = "p" + firing.address.removeprefix("light.wash").removesuffix(".pulse")
            self.beats.setdefault(wearer, []).append(firing.stamp_s)


def beat_to_frame(seconds: float) -> dict[str, Any]:
    """Run the live session and match each beat to the first frame that shows it."""
    rx = SacnReceiver()
    washes = "".join(f'[[fixtures]]\nname = "wash{k}"\nuniverse = 1\naddress = {3 * k - 2}\nlayout = "rgb"\n\n'
                     f'[[mappings]]\nfrom = "p{k}.heart.beat"\nto = "light.wash{k}.pulse"\n\n' for k in range(1, WEARERS + 1))
    text = (f'[show]\ntitle = "bench lights"\n[sound]\npatch = "eco_symphony.py"\n'
            f'[[outputs]]\nkind = "sacn"\nhost = "127.0.0.1"\nport = {rx.port}\nuniverses = [1]\nrate_hz = {RATE_HZ:g}\n\n'
            + washes)
    prepared = prepare_show(parse_show(text, "bench lights", default_show_path()))
    wearers = [f"p{k}" for k in range(1, WEARERS + 1)]
    audience = source_from_config(SimulatedSource(wearers=WEARERS, seed=11))
    session = Session(prepared.show, prepared.mapper, [audience], wearers, None, None)
    stamps = session.pipeline.add_tap(_BeatStamps())
    session.start()
    try:
        session.run(seconds)
    finally:
        session.stop()
        time.sleep(0.2)
        rx.close()
    frames = [(t, p.dmxData[:WEARERS * 3]) for t, p in rx.packets]
    times = np.array([t for t, _ in frames])
    values = np.array([v for _, v in frames], dtype=int).reshape(len(frames), WEARERS * 3)
    latencies_ms: list[float] = []
    missed = 0
    for k, wearer in enumerate(wearers):
        green = values[:, 3 * k + 1]
        jumps = np.flatnonzero(np.diff(green) > 100) + 1  # a pulse starts: green jumps up
        for beat_s in stamps.beats.get(wearer, []):
            if beat_s < times[0] + WARM_UP_S:
                continue
            after = jumps[times[jumps] >= beat_s]
            if after.size == 0 or times[after[0]] - beat_s > 0.5:
                missed += 1
                continue
            latencies_ms.append((times[after[0]] - beat_s) * 1000.0)
    lat = np.array(latencies_ms)
    counted = sum(int(np.count_nonzero(np.array(v) >= times[0] + WARM_UP_S)) for v in stamps.beats.values())
    return {"beats": counted, "matched": int(lat.size), "missed": missed,
            "p50_ms": float(np.quantile(lat, 0.5)) if lat.size else float("nan"),
            "p99_ms": float(np.quantile(lat, 0.99)) if lat.size else float("nan"),
            "max_ms": float(lat.max()) if lat.size else float("nan"), "frames_received": len(frames),
            "fired_p50_ms": session.stats.latency_ms(0.5), "fired_p99_ms": session.stats.latency_ms(0.99)}


def _cpu_s(pid: int, tid: int | None = None) -> float:
    """CPU time (user + system) of a process, or of one of its threads, seconds."""
    path = f"/proc/{pid}/task/{tid}/stat" if tid is not None else f"/proc/{pid}/stat"
    fields = Path(path).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


_BARE = r"""
import socket, sys, time
from sacn.messages.data_packet import DataPacket
port, seconds = int(sys.argv[1]), float(sys.argv[2])
packets = [bytes(DataPacket(cid=tuple(range(16)), sourceName="bare", universe=u, dmxData=tuple([u] * 512)).getBytes())
           for u in (1, 2, 3, 4)]
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
cpu0 = time.process_time()
start = next_s = time.monotonic()
while next_s - start < seconds:
    for p in packets:
        sock.sendto(p, ("127.0.0.1", port))
    next_s += 1.0 / 40.0
    time.sleep(max(0.0, next_s - time.monotonic()))
print(time.process_time() - cpu0, time.monotonic() - start)
"""


def pixels_cpu(seconds: float) -> dict[str, Any]:
    """The lighting output's CPU for 512 pixels at 40 Hz, and the bare baseline's, in one run."""
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    port = sink.getsockname()[1]
    strips = [(1, 170), (2, 170), (3, 170), (4, 2)]
    text = (f'[show]\ntitle = "bench pixels"\n[sound]\npatch = "eco_symphony.py"\n'
            f'[[outputs]]\nkind = "sacn"\nhost = "127.0.0.1"\nport = {port}\nuniverses = [1, 2, 3, 4]\nrate_hz = {RATE_HZ:g}\n\n'
            + "".join(f'[[fixtures]]\nname = "strip{u}"\nuniverse = {u}\naddress = 1\nlayout = "strip"\npixels = {n}\n\n'
                      for u, n in strips)
            + '[[mappings]]\nfrom = "p*.eda.arousal"\nto = "light.strip1.segment.p*"\n')
    prepared = prepare_show(parse_show(text, "bench pixels", default_show_path()))
    from installation.lights.rig import LightRig

    wearers = [f"p{k}" for k in range(1, 9)]
    rig = LightRig(prepared.show, wearers)
    drain = threading.Event()

    def drain_socket() -> None:
        sink.settimeout(0.05)
        while not drain.is_set():
            try:
                sink.recv(2048)
            except socket.timeout:
                pass

    drainer = threading.Thread(target=drain_socket, daemon=True)
    drainer.start()
    rig.start()
    time.sleep(1.0)  # the sender process has started
    render = next(t for t in threading.enumerate() if t.name == "lights")
    assert rig._proc is not None and render.native_id is not None
    child, tid = rig._proc.pid, render.native_id
    before = (_cpu_s(child), _cpu_s(os.getpid(), tid), time.monotonic())
    rendered0, sent0 = rig.frames_rendered, list(rig.sent)
    start_s = time.monotonic()
    while time.monotonic() - start_s < seconds:  # every universe changes every frame
        t = time.monotonic() - start_s
        rig.fed()
        for u, _ in strips:
            if int(t) != int(t - 0.02):  # a wave along each strip every second
                rig.trigger(f"strip{u}.wave", 0.25)
            for w in wearers:  # (below full: no pixel saturates, so every universe changes every frame)
                rig.set(f"strip{u}.segment.{w}", 0.2 + 0.2 * np.sin(t * 20.0 + int(w[1:])))
        time.sleep(0.02)
    after = (_cpu_s(child), _cpu_s(os.getpid(), tid), time.monotonic())
    time.sleep(0.6)  # the sender's next count
    sent = [a - b for a, b in zip(rig.sent, sent0)]
    rendered = rig.frames_rendered - rendered0
    rig.close()
    wall_s = after[2] - before[2]
    bare = subprocess.run([sys.executable, "-c", _BARE, str(port), str(seconds)], capture_output=True, text=True,
                          timeout=seconds + 60, check=True)
    bare_cpu_s, bare_wall_s = (float(x) for x in bare.stdout.split())
    drain.set()
    drainer.join(timeout=2.0)
    sink.close()
    return {"pixels": sum(n for _, n in strips), "universes": len(strips), "seconds": round(wall_s, 1),
            "sender_process_pct": 100.0 * (after[0] - before[0]) / wall_s,
            "render_thread_pct": 100.0 * (after[1] - before[1]) / wall_s,
            "packets_sent_per_s": sent[0] / wall_s if sent else 0.0,
            "frames_rendered_per_s": rendered / wall_s,
            "bare_baseline_pct": 100.0 * bare_cpu_s / bare_wall_s}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each measurement (default 20 s)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    latency = beat_to_frame(args.seconds)
    cpu = pixels_cpu(args.seconds)
    if args.json:
        print(json.dumps({"beat_to_frame": latency, "cpu": cpu}, indent=2))
        return 0
    print(f"beat -> DMX frame at the receiver (sACN, {RATE_HZ:g} Hz, {WEARERS} wearers, {args.seconds:g} s): "
          f"p50 {latency['p50_ms']:.1f} ms, p99 {latency['p99_ms']:.1f} ms, max {latency['max_ms']:.1f} ms "
          f"({latency['matched']} of {latency['beats']} beats matched; of which block arrival -> trigger fired: "
          f"p50 {latency['fired_p50_ms']:.1f} ms, p99 {latency['fired_p99_ms']:.1f} ms)")
    ours = cpu["sender_process_pct"] + cpu["render_thread_pct"]
    print(f"CPU for {cpu['pixels']} pixels on {cpu['universes']} universes at {RATE_HZ:g} Hz "
          f"({cpu['frames_rendered_per_s']:.0f} frames rendered/s, {cpu['packets_sent_per_s']:.0f} packets/s): {ours:.1f}% of one core (render thread "
          f"{cpu['render_thread_pct']:.1f}%, sender process {cpu['sender_process_pct']:.1f}%); bare baseline "
          f"(the same universes, packets built once) {cpu['bare_baseline_pct']:.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
