"""What recording costs per sample: the XDF writer against the CSV folder's, in one run.

A show's worth of blocks (wearers with PPG at 100 Hz, EDA at 25 Hz and a three-axis
accelerometer at 25 Hz, in 20 ms blocks, as the simulated audience sends them) is handed
to each recorder as the reader threads would, then written out (with ``fsync``) and
loaded back. The two formats take turns (CSV, XDF, CSV, XDF, ...) and the median of
the rounds is printed: microseconds per sample to hand over (on the reader thread), to
write (the writer thread's work), to load (``load_recording``), and bytes per sample.

Run: ``python -m installation.bench.record_cost [--wearers 16] [--seconds 30] [--rounds 3] [--ppg-hz 100] [--json]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from installation.record.reader import load_recording
from installation.record.writer import Recorder
from installation.record.xdf_writer import XdfRecorder
from installation.sensors.base import SampleBlock

BLOCK_S = 0.02
SIGNALS = (("ppg", 100.0, "adc"), ("eda", 25.0, "uS"), ("acc_x", 25.0, "g"), ("acc_y", 25.0, "g"), ("acc_z", 25.0, "g"))


def show_blocks(wearers: int, seconds: float, seed: int = 1, ppg_hz: float = 100.0) -> list[list[SampleBlock]]:
    """The blocks of ``seconds`` of a show, grouped as one reader hands them over every 20 ms."""
    rng = np.random.default_rng(seed)
    out = []
    signals = [(s, ppg_hz if s == "ppg" else r, u) for s, r, u in SIGNALS]
    sent = {s: 0 for s, _, _ in signals}
    for step in range(int(round(seconds / BLOCK_S))):
        arrival_s = 100.0 + (step + 1) * BLOCK_S + 0.001
        batch = []
        for signal, rate_hz, unit in signals:
            end = int(np.floor((step + 1) * BLOCK_S * rate_hz))
            times = np.arange(sent[signal], end) / rate_hz
            sent[signal] = end
            if not times.size:
                continue
            for w in range(wearers):
                values = np.round(rng.normal(500.0, 50.0, times.size)) if signal == "ppg" else rng.normal(1.0, 0.1, times.size)
                batch.append(SampleBlock(f"p{w + 1}", signal, times, values, unit, arrival_s, rate_hz))  # type: ignore[arg-type]
        out.append(batch)
    return out


def one_round(kind: str, batches: list[list[SampleBlock]], folder: Path, wearers: int) -> dict[str, float]:
    """Hand over, write and load one recording; seconds and bytes."""
    path = folder / (f"{kind}-{time.perf_counter_ns()}" + (".xdf" if kind == "xdf" else ""))
    recorder: Recorder = (XdfRecorder(path, "", "run", None, flush_period_s=3600.0) if kind == "xdf"
                          else Recorder(path, "", "run", None, flush_period_s=3600.0))
    recorder.start(100.0, [f"p{w + 1}" for w in range(wearers)], ["bench"])
    t0 = time.perf_counter()
    for batch in batches:
        recorder.samples(batch)
    t1 = time.perf_counter()
    recorder.stop(100.0 + len(batches) * BLOCK_S)  # everything is still pending: this is the writer's whole work
    t2 = time.perf_counter()
    assert recorder.failed is None and recorder.dropped_samples == 0
    recording = load_recording(path)
    t3 = time.perf_counter()
    size = sum(p.stat().st_size for p in path.iterdir()) if path.is_dir() else path.stat().st_size
    return {"hand_over_s": t1 - t0, "write_s": t2 - t1, "load_s": t3 - t2, "bytes": float(size),
            "samples": float(len(recording.samples))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wearers", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=30.0, help="seconds of show recorded per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--ppg-hz", type=float, default=100.0, help="PPG rate (1000: 20 samples a block, so the "
                        "cost per sample rather than per block shows)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    batches = show_blocks(args.wearers, args.seconds, ppg_hz=args.ppg_hz)
    n = sum(b.values.size for batch in batches for b in batch)
    results: dict[str, list[dict[str, float]]] = {"csv": [], "xdf": []}
    with tempfile.TemporaryDirectory(prefix="record-cost-") as tmp:
        for _ in range(args.rounds):
            for kind in ("csv", "xdf"):
                r = one_round(kind, batches, Path(tmp), args.wearers)
                assert r["samples"] == n, (kind, r["samples"], n)
                results[kind].append(r)
    summary = {}
    for kind, rounds in results.items():
        summary[kind] = {
            "hand_over_us_per_sample": statistics.median(r["hand_over_s"] for r in rounds) / n * 1e6,
            "write_us_per_sample": statistics.median(r["write_s"] for r in rounds) / n * 1e6,
            "load_us_per_sample": statistics.median(r["load_s"] for r in rounds) / n * 1e6,
            "bytes_per_sample": statistics.median(r["bytes"] for r in rounds) / n,
        }
    summary["samples"] = n  # type: ignore[assignment]
    summary["blocks"] = sum(len(batch) for batch in batches)  # type: ignore[assignment]
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(f"recording cost: {args.wearers} wearers x {args.seconds:g} s, PPG at {args.ppg_hz:g} Hz, EDA and 3 axes of "
          f"acceleration at 25 Hz ({n} samples in {summary['blocks']} blocks of 20 ms), median of {args.rounds} rounds, formats taking turns")
    print(f"{'':10}{'hand over':>12}{'write':>12}{'load':>12}{'size':>14}")
    for kind in ("csv", "xdf"):
        s = summary[kind]
        print(f"{kind:10}{s['hand_over_us_per_sample']:9.3f} us{s['write_us_per_sample']:9.3f} us"
              f"{s['load_us_per_sample']:9.3f} us{s['bytes_per_sample']:8.1f} B/sample")
    c, x = summary["csv"], summary["xdf"]
    print(f"xdf / csv: write {x['write_us_per_sample'] / c['write_us_per_sample']:.2f}x, load "
          f"{x['load_us_per_sample'] / c['load_us_per_sample']:.2f}x, size {x['bytes_per_sample'] / c['bytes_per_sample']:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
