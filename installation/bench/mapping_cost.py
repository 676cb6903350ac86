"""Cost of applying a show's mappings once per tick.

    python -m installation.bench.mapping_cost [--wearers 32] [--ticks 2000]

Ten per-wearer mappings (ranges, curves, smoothing, slew, One-Euro, quantise,
a threshold) for 32 wearers, applied to a fresh feature snapshot every tick, as
the core thread does. The baseline in the same run is the bare cost of reading
the same 320 values out of the snapshot and writing them to a dict.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from installation.config import Mapping
from installation.dsp.core import SignalCore
from installation.mapping.mapper import Mapper, compile_mappings

SPECS = [
    {"from": "p*.eda.arousal", "to": "visual.p*.hue", "out_range": [0.48, 0.95], "curve": "s-curve"},
    {"from": "p*.eda.arousal", "to": "sound.p*.tone", "smooth": {"rise_s": 0.3, "fall_s": 2.0}},
    {"from": "p*.heart.bpm", "to": "sound.p*.pitch", "in_range": [50, 120], "out_range": [110, 440],
     "curve": "exponential", "quantize": {"scale": "pentatonic", "root_hz": 110}},
    {"from": "p*.heart.rmssd", "to": "visual.p*.glow", "in_range": [10, 120], "slew_per_s": 0.5},
    {"from": "p*.quality", "to": "sound.p*.level", "one_euro": {"min_cutoff_hz": 1.0, "beta": 0.5}},
    {"from": "p*.quality", "to": "visual.p*.presence", "deadband": 0.05},
    {"from": "p*.eda.phasic", "to": "sound.p*.grain", "in_range": [0, 2], "curve": "power", "power": 3},
    {"from": "p*.heart.next_in", "to": "visual.p*.anticipation", "in_range": [1, 0], "invert": True},
    {"from": "p*.eda.scl", "to": "sound.p*.drone", "in_range": [1, 20], "curve": "logarithmic"},
    {"from": "p*.eda.arousal", "to": "sound.p*.bell", "threshold": {"on": 0.8, "off": 0.6}},
]
PARAMETERS = {f"{sink}.p*.{name}": "continuous" for sink, name in
              [("visual", "hue"), ("sound", "tone"), ("sound", "pitch"), ("visual", "glow"), ("sound", "level"),
               ("visual", "presence"), ("sound", "grain"), ("visual", "anticipation"), ("sound", "drone")]}
PARAMETERS["sound.p*.bell"] = "trigger"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wearers", type=int, default=32)
    parser.add_argument("--ticks", type=int, default=2000)
    args = parser.parse_args()
    mapper = Mapper(compile_mappings([Mapping.model_validate(s) for s in SPECS], PARAMETERS))  # type: ignore[arg-type]
    wearers = [f"p{i + 1}" for i in range(args.wearers)]
    names = ["eda.arousal", "heart.bpm", "heart.rmssd", "quality", "eda.phasic", "heart.next_in", "eda.scl"]
    rng = np.random.default_rng(0)
    snapshots = []
    for _ in range(64):
        snap = {f"{w}.{n}": float(v) for w in wearers for n, v in zip(names, rng.uniform(0, 1, len(names)) * [1, 120, 100, 1, 2, 1, 20])}
        snap |= {f"{w}.quality": float(rng.uniform(0.5, 1.0)) for w in wearers}  # every wearer present: every chain runs
        snap |= {k: float(rng.uniform(0, 1)) for k in SignalCore().features(0.0)}  # group features
        snapshots.append(snap)
    pairs = [(f"{w}.{s['from'].split('.', 1)[1]}", s["to"].replace("p*", w)) for s in SPECS for w in wearers]
    ours, bare = [], []
    for tick in range(args.ticks):
        snap = snapshots[tick % len(snapshots)]
        t0 = time.perf_counter()
        mapper.apply_features(snap, tick * 0.01, wearers)
        t1 = time.perf_counter()
        out = {}
        for feature, target in pairs:
            out[target] = snap[feature]
        t2 = time.perf_counter()
        ours.append(t1 - t0)
        bare.append(t2 - t1)
    p50, p99 = statistics.median(ours) * 1e6, sorted(ours)[int(0.99 * len(ours))] * 1e6
    b50 = statistics.median(bare) * 1e6
    print(f"{args.wearers} wearers x {len(SPECS)} mappings = {len(pairs)} per tick, {args.ticks} ticks: "
          f"p50 {p50:.0f} us, p99 {p99:.0f} us per tick (target <= 200 us); bare copy of the same values "
          f"{b50:.0f} us; ratio {p50 / b50:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
