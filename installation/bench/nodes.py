"""Hubs and a conductor over LSL on this machine: latency, clock agreement, beats found, CPU per role.

``python -m installation.bench.nodes --hubs 4 --wearers 32`` starts ``--hubs`` hub processes
(``ecosymphony hub``, simulated wearers, hubs 0 and 1 with the same simulated hearts) and runs
a conductor's LSL source and signal core in this process for ``--seconds``. It prints:

- hub sample -> conductor beat trigger, p50 / p99 (the newest sample of the block that
  confirmed a beat, taken at the hub, to the beat event at the conductor; one machine, one clock);
- clock agreement between hubs after LSL's correction: each found beat's time against the
  simulated beat's known time, per hub (median), and the spread of those medians across hubs;
- beats found against simulated (matched within 100 ms, after 8 s of learning);
- CPU per role (each hub process, the conductor's source and core), % of one core.

The streams stay on this machine (LSL scope ``machine``, a session id of the benchmark's own).
The conductor here has no sound: the sound's own cost is measured by ``installation.bench.soak``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

LEARN_S = 8.0
MATCH_S = 0.1


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(hubs: int, wearers: int, seconds: float) -> dict[str, object]:
    from installation.sensors import lsl_net

    session = f"bench-nodes-{os.getpid()}"
    port_range = max(128, 4 * wearers)  # every stream of every hub on this one machine takes a port
    lsl_net.apply("machine", known_peers=(), session_id=session, port_range=port_range)
    from installation.dsp.core import SignalCore, compile_kernels
    from installation.sensors.lsl_hubs import LslHubSource
    from installation.sensors.simulated import SimulatedAudience

    compile_kernels()
    per_hub = wearers // hubs
    seeds = [7, 7] + [8 + i for i in range(max(0, hubs - 2))]
    folder = Path(tempfile.mkdtemp(prefix="bench-nodes-"))
    procs, outputs = [], []
    for i in range(hubs):
        cfg = folder / f"hub{i}.toml"
        cfg.write_text(f'[hub]\nname = "hub{i}"\n[[sources]]\nkind = "simulated"\nwearers = {per_hub}\nseed = {seeds[i]}\n'
                       f'[lsl]\nsession_id = "{session}"\nport_range = {port_range}\n', encoding="utf-8")
        proc = subprocess.Popen([sys.executable, "-m", "installation", "hub", str(cfg), "--json", "--duration", str(seconds + 90)],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        lines: list[str] = []
        threading.Thread(target=lambda p=proc, out=lines: out.extend(line for line in p.stdout), daemon=True).start()  # type: ignore[union-attr]
        procs.append(proc)
        outputs.append(lines)
    slots = {f"hub{i}": [f"p{i * per_hub + k + 1}" for k in range(per_hub)] for i in range(hubs)}
    source = LslHubSource(slots)
    core = SignalCore()
    beats: dict[str, list[float]] = {}
    latencies: list[float] = []
    source.open()
    try:
        deadline = time.monotonic() + 60.0
        while len({s["slot"] for s in source.streams()}) < wearers and time.monotonic() < deadline:
            source.read(0.05)
        cpu0 = {p.pid: _cpu_s(p.pid) for p in procs}
        own0 = time.process_time()
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            for ev in core.process_many(source.read(0.01)):
                if ev.address.endswith(".heart.beat"):
                    now = time.monotonic()
                    latencies.append(now - ev.reported_s)
                    beats.setdefault(ev.address.split(".")[0], []).append(ev.time_s - source._offset_s)  # LSL clock
        elapsed = time.monotonic() - start
        cpu = {f"hub{i}": 100.0 * (_cpu_s(p.pid) - cpu0[p.pid]) / elapsed for i, p in enumerate(procs)}
        cpu["conductor (source + core)"] = 100.0 * (time.process_time() - own0) / elapsed
        offsets_ms = [abs(float(s["offset_s"])) * 1e3 for s in source.streams()]
    finally:
        source.close()
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=10.0)
    found = total = 0
    errors_ms: dict[str, list[float]] = {}
    for i in range(hubs):
        ties = [json.loads(line)["tie_s"] for line in outputs[i] if line.startswith('{"transport"')]
        tie = float(ties[-1])
        audience = SimulatedAudience(per_hub, seeds[i])
        for k, w in enumerate(audience.wearers):
            got = np.asarray(beats.get(slots[f"hub{i}"][k], []))
            if not got.size:
                total += 1
                continue
            truth = w.true_beats_s(got.max() - tie + 5.0) + tie
            truth = truth[(truth > got.min() + LEARN_S) & (truth < got.max() - 1.0)]
            for t in truth:
                j = int(np.argmin(np.abs(got - t)))
                if abs(got[j] - t) <= MATCH_S:
                    found += 1
                    errors_ms.setdefault(f"hub{i}", []).append((got[j] - t) * 1e3)
            total += truth.size
    medians = {h: float(np.median(e)) for h, e in errors_ms.items()}
    lat = np.asarray(latencies) * 1e3
    return {"hubs": hubs, "wearers": wearers, "seconds": seconds,
            "latency_p50_ms": float(np.percentile(lat, 50)) if lat.size else float("nan"),
            "latency_p99_ms": float(np.percentile(lat, 99)) if lat.size else float("nan"),
            "beat_error_median_ms": medians,
            "clock_agreement_ms": (max(medians.values()) - min(medians.values())) if medians else float("nan"),
            "lsl_offset_max_ms": max(offsets_ms, default=float("nan")),
            "beats_found": found, "beats_simulated": total, "cpu_percent": cpu}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--hubs", type=int, default=4)
    p.add_argument("--wearers", type=int, default=32, help="in all, shared evenly by the hubs")
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    r = run(args.hubs, args.wearers, args.seconds)
    if args.json:
        print(json.dumps(r))
        return 0
    print(f"nodes: {r['hubs']} hubs, {r['wearers']} wearers, {r['seconds']:g} s (hubs and conductor on this machine)")
    print(f"  hub sample -> conductor beat trigger: p50 {r['latency_p50_ms']:.1f} ms, p99 {r['latency_p99_ms']:.1f} ms")
    print("  beat time - simulated beat time, median per hub (ms): "
          + ", ".join(f"{h} {m:+.1f}" for h, m in r["beat_error_median_ms"].items()))  # type: ignore[union-attr]
    print(f"  clock agreement between hubs (spread of those medians): {r['clock_agreement_ms']:.2f} ms; "
          f"largest LSL clock offset measured: {r['lsl_offset_max_ms']:.3f} ms")
    found, total = r["beats_found"], r["beats_simulated"]
    print(f"  beats found / simulated: {found} / {total} ({100.0 * found / max(total, 1):.2f} %)")  # type: ignore[operator]
    print("  CPU, % of one core: " + ", ".join(f"{k} {v:.1f}" for k, v in r["cpu_percent"].items()))  # type: ignore[union-attr]
    return 0


if __name__ == "__main__":
    sys.exit(main())
