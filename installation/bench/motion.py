"""Benchmark of heart rate during motion: the error of the live core's heart rate, with and
without an accelerometer.

    python -m installation.bench.motion [--data DIR] [--json]

Heart-rate error: the median absolute difference, in beats per minute, between the
core's ``p1.heart.bpm`` read once a second and the reference rate (60 over the median
reference interval of the 8 s before; :func:`installation.dsp.scoring.heart_rate_error`),
from 10 s on. Beats: F1 and extra beats within 100 ms of the reference.

- The real record with motion artefacts (``ppg_bsnb_motion_artifact``) has no
  accelerometer: it is scored as the core runs without one.
- Synthetic walks: a simulated PPG (true beats known) whose wearer walks from 30 to
  70 s, the arm swing at a cadence of its own making an artefact in the pulse wave
  and showing on a wrist accelerometer (``ArmSwing``); eight pairs of heart rate and
  cadence, each replayed without and with the accelerometer. Pairs where the heart
  keeps the cadence (or its double or half) are in the table too: there the
  accelerometer cannot tell the movement's peaks from the heart's and changes nothing.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from installation.bench.core_accuracy import default_data_dir, find
from installation.commands.analyze import load_recording, nominal_rate_hz
from installation.dsp.core import SignalCore, compile_kernels
from installation.dsp.scoring import heart_rate_error, match_events
from installation.sensors.base import SampleBlock
from installation.sensors.simulated import ArmSwing, SimulatedWearer, WearerProfile

#: (heart rate at rest in bpm, arm swings per second, artefact in pulse heights) of the synthetic walks.
WALKS: tuple[tuple[float, float, float], ...] = (
    (72.0, 0.9, 1.5), (65.0, 1.4, 1.0), (80.0, 0.8, 2.0), (90.0, 1.0, 1.0),
    (60.0, 1.1, 3.0), (75.0, 1.25, 1.5), (100.0, 0.85, 1.0), (55.0, 1.6, 1.2),
)
WALK_S = (30.0, 70.0)
SECONDS = 90.0
PPG_HZ, ACC_HZ = 100.0, 25.0


def replay(ppg: tuple[np.ndarray, np.ndarray], acc: tuple[np.ndarray, np.ndarray] | None = None, block_s: float = 0.04,
           ppg_hz: float | None = None, acc_hz: float = ACC_HZ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Feed a PPG (and an accelerometer's three axes, ``(3, n)``) through the live core in blocks
    of ``block_s``, each arriving at its end. Returns the beat times, and the heart rate read
    once a second: ``(beats_s, read_at_s, bpm)``."""
    t, x = ppg
    rate = ppg_hz or nominal_rate_hz(t)
    core = SignalCore()
    beats: list[float] = []
    read_at, bpm = [], []
    next_read = float(t[0]) + 1.0
    start = float(t[0])
    for k in range(int(np.ceil((t[-1] - start) / block_s)) + 1):
        lo, hi = start + k * block_s, start + (k + 1) * block_s
        i0, i1 = np.searchsorted(t, [lo, hi])
        blocks = []
        if i1 > i0:
            blocks.append(SampleBlock("p1", "ppg", t[i0:i1], x[i0:i1], "adc", hi, rate))
        if acc is not None:
            ta, axes = acc
            j0, j1 = np.searchsorted(ta, [lo, hi])
            if j1 > j0:
                blocks += [SampleBlock("p1", s, ta[j0:j1], axes[a, j0:j1], "g", hi, acc_hz)  # type: ignore[arg-type]
                           for a, s in enumerate(("acc_x", "acc_y", "acc_z"))]
        beats += [e.time_s for e in core.process_many(blocks) if e.address == "p1.heart.beat"]
        if hi >= next_read:
            read_at.append(hi)
            bpm.append(core.features(hi).get("p1.heart.bpm", np.nan))
            next_read += 1.0
    return np.array(beats), np.array(read_at), np.array(bpm)


def walk(rest_bpm: float, cadence_hz: float, artefact: float, seed: int = 3) -> dict[str, np.ndarray]:
    """A synthetic walk: PPG at 100 Hz, a wrist accelerometer at 25 Hz, the true beats."""
    wearer = SimulatedWearer(WearerProfile("p1", rest_bpm), np.random.default_rng(seed))
    wearer.swings.append(ArmSwing(WALK_S[0], WALK_S[1], cadence_hz, artefact=artefact))
    t = np.arange(0.0, SECONDS, 1.0 / PPG_HZ)
    ta = np.arange(0.0, SECONDS, 1.0 / ACC_HZ)
    return {"t": t, "ppg": wearer.ppg(t), "t_acc": ta, "acc": wearer.acc(ta), "truth": wearer.true_beats_s(SECONDS)}


def score(beats: np.ndarray, read_at: np.ndarray, bpm: np.ndarray, truth: np.ndarray, lo: float, hi: float) -> dict[str, float]:
    m = match_events(beats, truth, 0.1, lo, hi)
    inside = (read_at >= lo) & (read_at < hi)
    return {"f1": round(100 * m.f1, 1), "extra": m.extra, "hr_error_bpm": round(heart_rate_error(read_at[inside], bpm[inside], truth), 1)}


def synthetic() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for rest_bpm, cadence_hz, artefact in WALKS:
        rec = walk(rest_bpm, cadence_hz, artefact)
        row: dict[str, object] = {"rest_bpm": rest_bpm, "cadence_hz": cadence_hz, "artefact": artefact}
        for name, acc in (("without_acc", None), ("with_acc", (rec["t_acc"], rec["acc"]))):
            beats, read_at, bpm = replay((rec["t"], rec["ppg"]), acc, ppg_hz=PPG_HZ)
            row[f"walk_{name}"] = score(beats, read_at, bpm, rec["truth"], WALK_S[0], WALK_S[1] + 2.0)
            row[f"whole_{name}"] = score(beats, read_at, bpm, rec["truth"], 10.0, SECONDS)
        rows.append(row)
    return rows


def real(data: Path) -> dict[str, object]:
    path = find(data, "ppg_bsnb_motion_artifact")
    if path is None:
        return {}
    t, v = load_recording(path)
    reference = np.loadtxt(data / "ppg_bsnb_motion_artifact.beats.csv", skiprows=1)
    beats, read_at, bpm = replay((t, v), None)
    return {"record": "ppg_bsnb_motion_artifact", "accelerometer": "none in the record",
            **score(beats, read_at, bpm, reference, 10.0, float(t[-1]) + 1.0)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=None, help="folder of recordings (default: shared data, else tests/data)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    args = parser.parse_args()
    compile_kernels()
    data = args.data or default_data_dir()
    result = {"real": real(data), "synthetic": synthetic()}
    if args.json:
        print(json.dumps(result))
        return 0
    r = result["real"]
    if r:
        print(f"heart rate during motion, real record {r['record']} ({r['accelerometer']}), from 10 s: "
              f"HR error {r['hr_error_bpm']} bpm (median absolute), beats F1 {r['f1']} %, extra {r['extra']}")
    print(f"synthetic walks ({WALK_S[0]:g}-{WALK_S[1]:g} s of {SECONDS:g} s; PPG {PPG_HZ:g} Hz, accelerometer {ACC_HZ:g} Hz), "
          "during the walk: HR error bpm / beats F1 % / extra beats, without -> with the accelerometer; whole record HR error")
    for row in result["synthetic"]:
        a, b = row["walk_without_acc"], row["walk_with_acc"]
        wa, wb = row["whole_without_acc"], row["whole_with_acc"]
        print(f"  heart {row['rest_bpm']:g} bpm, swing {row['cadence_hz']:g} Hz, artefact x{row['artefact']:g}: "
              f"walk {a['hr_error_bpm']} -> {b['hr_error_bpm']} bpm, F1 {a['f1']} -> {b['f1']} %, extra {a['extra']} -> {b['extra']}; "
              f"whole {wa['hr_error_bpm']} -> {wb['hr_error_bpm']} bpm")
    walks = result["synthetic"]
    for key in ("walk", "whole"):
        before = float(np.median([w[f"{key}_without_acc"]["hr_error_bpm"] for w in walks]))
        after = float(np.median([w[f"{key}_with_acc"]["hr_error_bpm"] for w in walks]))
        print(f"  median over the walks, {key}: HR error {before:.1f} -> {after:.1f} bpm")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
