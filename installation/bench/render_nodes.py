"""``python -m installation.bench.render_nodes``: conductor -> render node latency, and what serving costs.

A rehearsed show (the default show, simulated wearers, no sound, no window) serves
its scene on loopback (``[visual] serve``); ``--nodes`` render nodes run as processes
of their own (``ecosymphony visuals --from``, drawing every frame with SDL's dummy
driver, as a projector machine would). Figures, after a warm-up:

* snapshot -> node: from the snapshot's stamp in the conductor (when the visual sink
  made it) to the arrival of its line at the node, and to its application to the
  node's scene (the node's drawing loop takes it between frames). Both ends are on
  one machine and one clock; each node also estimates the offset between the two
  clocks from its pings, as it would across machines, and that estimate is printed.
* the conductor's CPU for publishing: the server's threads (encoding each node's
  lines, sending, answering pings) and the show thread's time in ``publish``, as a
  percentage of one core; and the conductor process's whole CPU for scale.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from installation.config import default_show_path, load_show
from installation.runtime.launch import LaunchOptions, build_session, make_sources, plan_outputs, prepare_show


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _q(values: list[float], q: float) -> float:
    return float(np.quantile(values, q)) if values else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m installation.bench.render_nodes", description=__doc__.splitlines()[0])
    parser.add_argument("--wearers", type=int, default=8, help="simulated wearers (default 8)")
    parser.add_argument("--nodes", type=int, default=2, help="render nodes (default 2)")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds (default 20)")
    parser.add_argument("--size", default="640x360", help="each node's picture (default 640x360)")
    args = parser.parse_args(argv)
    port = _free_port()
    show = load_show(default_show_path())
    show = show.model_copy(update={"visual": show.visual.model_copy(update={"serve": True, "serve_port": port})})
    options = LaunchOptions(participants=args.wearers, audio="none", visuals="none", console=False)
    prepared = prepare_show(show)
    sources, wearers = make_sources(show, options, rehearsal=True)
    plan = plan_outputs(show, options, "rehearse")
    session = build_session(prepared, sources, wearers, plan)
    server = session.pipeline.visuals.publishers[0]
    nodes: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory() as tmp:
        session.start()
        try:
            for i in range(args.nodes):
                nodes.append(subprocess.Popen(
                    [sys.executable, "-m", "installation", "visuals", "--from", f"127.0.0.1:{port}", "--size", args.size,
                     "--frames", str(Path(tmp) / f"frames{i}"), "--frame-every", "3600", "--stats", str(Path(tmp) / f"node{i}.json")],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            deadline = time.monotonic() + 60.0
            while len(server.nodes) < args.nodes and time.monotonic() < deadline:
                session.run(0.5)
            session.run(3.0)  # warm-up: the nodes' first frames, the core's baselines
            counts0 = [len(_stats(tmp, i).get("delays_ms", [])) for i in range(args.nodes)]
            cpu0, wall0, publish0 = time.process_time(), time.perf_counter(), server.publish_s
            thread_cpu0 = _live_thread_cpu(server)
            bytes0 = sum(n.bytes_sent for n in server.nodes.values())
            seq0 = server.seq
            session.run(args.seconds)
            wall = time.perf_counter() - wall0
            cpu = time.process_time() - cpu0
            publish = server.publish_s - publish0
            thread_cpu = _live_thread_cpu(server) - thread_cpu0
            sent = sum(n.bytes_sent for n in server.nodes.values()) - bytes0
            snapshots = server.seq - seq0
            connected = len(server.nodes)
        finally:
            for p in nodes:
                if p.poll() is None:
                    os.kill(p.pid, signal.SIGTERM)
            for p in nodes:
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.kill(p.pid, signal.SIGKILL)
                    p.wait(timeout=5)
            session.stop()
        stats = [_stats(tmp, i) for i in range(args.nodes)]
    # The measured window's lines (a node rewrites its stats every second; those before the window are dropped).
    arrivals = [v for s, n0 in zip(stats, counts0) for v in s.get("arrivals_ms", [])[n0:]]
    applied = [v for s, n0 in zip(stats, counts0) for v in s.get("delays_ms", [])[n0:]]
    print(f"render nodes: {args.wearers} wearers, {connected}/{args.nodes} nodes at {args.size}, {wall:.1f} s measured")
    print(f"  snapshots published: {snapshots} ({snapshots / wall:.0f}/s); sent per node: {sent / max(1, connected) / wall / 1000:.1f} kB/s")
    print(f"  snapshot -> line arrived at node   p50 {_q(arrivals, 0.5):.2f} ms  p99 {_q(arrivals, 0.99):.2f} ms  (n={len(arrivals)})")
    print(f"  snapshot -> applied to node scene  p50 {_q(applied, 0.5):.2f} ms  p99 {_q(applied, 0.99):.2f} ms  (n={len(applied)})")
    for i, s in enumerate(s for s in stats if s):
        print(f"  node {i}: clock offset estimate {1e6 * s['offset_s']:+.0f} us (true: 0, one machine), "
              f"round trip {1e3 * s['rtt_s']:.2f} ms, {s['frames_drawn']} frames")
    print(f"  conductor CPU for publishing: {100.0 * (thread_cpu + publish) / wall:.2f} % of one core "
          f"(server threads {100.0 * thread_cpu / wall:.2f} %, publish() {100.0 * publish / wall:.3f} %)")
    print(f"  conductor process CPU, whole show: {100.0 * cpu / wall:.1f} % of one core")
    return 0


def _stats(tmp: str, i: int) -> dict:
    try:
        return dict(json.loads((Path(tmp) / f"node{i}.json").read_text()))
    except (OSError, json.JSONDecodeError):
        return {}


def _live_thread_cpu(server: object) -> float:
    """CPU seconds of the server's live node threads so far, read from /proc (Linux), plus the ended ones."""
    total = float(getattr(server, "thread_cpu_s", 0.0))
    tick = os.sysconf("SC_CLK_TCK")
    import threading

    for t in threading.enumerate():
        if t.name.startswith("render-node") and t.native_id is not None:
            try:
                fields = Path(f"/proc/self/task/{t.native_id}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / tick  # utime + stime
    return total


if __name__ == "__main__":
    sys.exit(main())
