"""Benchmark of the signal core: accuracy on real recordings and cost per sample.

    python -m installation.bench.core_accuracy [--data DIR] [--json]

Accuracy: every ECG / PPG / EDA record in DIR (the team's shared data set when it
is beside the repository, else tests/data) replayed through the live core in
20 ms blocks and scored against its reference (beats within 100 ms; scoring
starts after 5 s of learning).

EDA is replayed in microsiemens (the records' datasheet conversions) and scored
against NeuroKit2 ``eda_process`` (default method) run offline on the same
signal in the same run: only responses of at least 0.05 uS count, and a found
response matches a reference one when their rises (onset to peak) overlap, one to
one (:func:`installation.dsp.scoring.match_rises`). ``found_pct`` is the share of
reference responses found, ``extra_pct`` the found responses that match none, per
hundred reference responses. A long synthetic record with known responses
(:mod:`installation.sensors.eda_record`) is scored the same way against them. The
old score (SCR peaks within 1 s of the shared ``.scr.csv`` references) follows as
``peak_1s_found`` / ``peak_1s_extra``.

Cost: 32 simulated wearers (PPG at 100 Hz + EDA at 32 Hz) fed in 20 ms blocks
through one SignalCore (a tick's blocks together, and one by one), against NeuroKit2 ``ecg_process`` and HeartPy ``process``
(offline, whole-minute) on the same minute of signal, measured in the same run.
Needs the bench extra: ``pip install -e '.[bench]'`` (``make bench`` does it).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path
from typing import Callable

import numpy as np

from installation.dsp.core import SignalCore
from installation.dsp.scoring import match_events
from installation.commands.analyze import analyze_recording, load_recording
from installation.dsp.scoring import RiseMatch, match_rises
from installation.sensors.base import SampleBlock
from installation.sensors.eda_record import synthetic_eda
from installation.sensors.simulated import SimulatedWearer, WearerProfile

REPO = Path(__file__).resolve().parents[2]
#: A found beat matches a reference beat within this many seconds; scoring starts this many seconds in (learning).
BEAT_TOLERANCE_S, SCORE_FROM_S = 0.1, 5.0


TARGETS = {"ecg": "sens and PPV >= 99.5 %, delay median <= 250 ms, SD <= 20 ms",
           "ppg": "F1 >= 99 % at rest", "eda": ">= 95 % of NeuroKit2's / the known SCRs >= 0.05 uS found, <= 15 % extra"}
#: Microsiemens per count of the EDA records (the vendors' datasheet conversions; see the data README).
EDA_US_PER_COUNT = {"eda_bsnb_hot_surface_1000hz": 3.3 / 2**10 / 0.132, "eda_bsnb_slow_100hz": 3.0 / 2**16 / 0.12}
#: Smallest skin-conductance response scored, microsiemens.
SCR_MIN_US = 0.05
#: Responses scored from this many seconds in (the core's phasic high-pass settles first).
SCR_START_S = 5.0


def scr_rises(events: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # type: ignore[type-arg]
    """(onset_s, peak_s, amplitude) of the core's ``*.eda.scr`` events."""
    scr = [e for e in events if e.address.endswith(".eda.scr")]
    return (np.array([e.onset_s for e in scr]), np.array([e.time_s for e in scr]), np.array([e.value for e in scr]))


def neurokit_scrs(times_s: np.ndarray, microsiemens: np.ndarray, sampling_rate_hz: float) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """NeuroKit2 ``eda_process`` (default method), offline on the whole record: (onset_s, peak_s, amplitude)."""
    try:
        import neurokit2 as nk
    except ImportError:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, info = nk.eda_process(microsiemens, sampling_rate=sampling_rate_hz)
    onsets = np.asarray(info["SCR_Onsets"], dtype=float)
    peaks = np.asarray(info["SCR_Peaks"], dtype=float)
    return (np.interp(onsets, np.arange(times_s.size), times_s), np.interp(peaks, np.arange(times_s.size), times_s),
            np.asarray(info["SCR_Amplitude"], dtype=float))


def rise_score(found: tuple[np.ndarray, ...], reference: tuple[np.ndarray, ...]) -> dict[str, object]:
    m: RiseMatch = match_rises(*found, *reference, SCR_MIN_US, start_s=SCR_START_S)
    return {"found": f"{m.hits}/{m.reference}", "found_pct": round(m.found_pct, 1), "extra": m.extra, "extra_pct": round(m.extra_pct, 1)}


def synthetic_accuracy() -> dict[str, object]:
    """The core on the long synthetic EDA record, against its known responses (and NeuroKit2's)."""
    rec = synthetic_eda()
    analysis = analyze_recording(rec.times_s, rec.values_us, "eda", unit="uS")
    found = scr_rises(analysis.events)
    known = (rec.onset_s, rec.peak_s, rec.amplitude_us)
    row: dict[str, object] = {"record": "synthetic_eda_seed16", "signal": "eda", "seconds": round(float(rec.times_s[-1]), 1),
                              "us_per_sample": round(analysis.processing_s / analysis.samples * 1e6, 2), "against": "known"}
    row |= rise_score(found, known)
    theirs = neurokit_scrs(rec.times_s, rec.values_us, rec.sampling_rate_hz)
    if theirs is not None:  # how the reference tool itself does on known responses
        nk = rise_score(theirs, known)
        row |= {"neurokit2_found_pct": nk["found_pct"], "neurokit2_extra_pct": nk["extra_pct"]}
    return row


def default_data_dir() -> Path:
    shared = REPO.parent / "shared" / "data"
    return shared if shared.is_dir() else REPO / "tests" / "data"


def find(data: Path, stem: str) -> Path | None:
    for suffix in (".csv", ".csv.gz"):
        if (data / f"{stem}{suffix}").is_file():
            return data / f"{stem}{suffix}"
    return None


def accuracy(data: Path) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for path in sorted(data.glob("*.csv*")):
        stem = path.name.split(".csv")[0]
        if "." in stem:
            continue  # a reference file
        signal = stem.split("_")[0]
        if signal not in ("ecg", "ppg", "eda"):
            continue
        t, v = load_recording(path)
        analysis = analyze_recording(t, v, signal)  # type: ignore[arg-type]
        row: dict[str, object] = {"record": stem, "signal": signal, "seconds": round(float(t[-1] - t[0]), 1),
                                  "us_per_sample": round(analysis.processing_s / analysis.samples * 1e6, 2)}
        if signal == "eda":
            us_per_count = EDA_US_PER_COUNT.get(stem)
            if us_per_count is not None:  # replay in microsiemens, as a calibrated sensor sends
                analysis = analyze_recording(t, v * us_per_count, "eda", unit="uS")
                row["us_per_sample"] = round(analysis.processing_s / analysis.samples * 1e6, 2)
                found = scr_rises(analysis.events)
                theirs = neurokit_scrs(t, v * us_per_count, analysis.sampling_rate_hz)
                if theirs is not None:
                    row |= {"against": "neurokit2"} | rise_score(found, theirs)
            peaks = np.array([e.time_s for e in analysis.events if e.address.endswith(".eda.scr")])
            ref = np.atleast_1d(np.genfromtxt(data / f"{stem}.scr.csv", delimiter=",", names=True)["peak_s"])
            m = match_events(peaks, ref, 1.0)
            row |= {"peak_1s_found": f"{m.hits}/{m.reference}", "peak_1s_extra": m.extra}
        else:
            reference = data / f"{stem}.beats.csv"
            events = [e for e in analysis.events if e.address.endswith(".heart.beat")]
            found = np.array([e.time_s for e in events])
            delays = np.array([e.reported_s - e.time_s for e in events])
            m = match_events(found, np.loadtxt(reference, skiprows=1), BEAT_TOLERANCE_S, start_s=SCORE_FROM_S)
            row |= {"sensitivity": round(100 * m.sensitivity, 2), "ppv": round(100 * m.ppv, 2), "f1": round(100 * m.f1, 2),
                    "delay_median_ms": round(1000 * float(np.median(delays)), 1), "delay_sd_ms": round(1000 * float(np.std(delays)), 1)}
        rows.append(row)
    return rows


def cost(wearers: int = 32, seconds: float = 60.0, block_s: float = 0.02) -> dict[str, float]:
    """Microseconds per sample per channel of the live core, fed like a live rehearsal.

    Every ``block_s`` each wearer's PPG and EDA send a block. ``batched``: the core
    analyses a tick's blocks together, as its thread does with whatever is queued
    when it wakes; ``one_by_one``: a call per block, the worst case (the core thread
    woken for every single block).
    """
    ppg_hz, eda_hz = 100.0, 32.0
    streams = []
    for i in range(wearers):
        w = SimulatedWearer(WearerProfile(f"p{i + 1}", 60.0 + i % 30), np.random.default_rng(i))
        tp = np.arange(0.0, seconds, 1.0 / ppg_hz)
        te = np.arange(0.0, seconds, 1.0 / eda_hz)
        streams.append((f"p{i + 1}", tp, w.ppg(tp), te, w.eda(te)))
    ticks: list[list[SampleBlock]] = []
    for k in range(int(seconds / block_s)):
        lo, hi = k * block_s, (k + 1) * block_s
        tick = []
        for name, tp, xp, te, xe in streams:
            for signal, t, x, rate in (("ppg", tp, xp, ppg_hz), ("eda", te, xe, eda_hz)):
                i0, i1 = np.searchsorted(t, [lo, hi])
                if i1 > i0:
                    tick.append(SampleBlock(name, signal, t[i0:i1], x[i0:i1], "adc" if signal == "ppg" else "uS", hi, rate))
        ticks.append(tick)
    samples = sum(b.values.size for tick in ticks for b in tick)
    SignalCore().process_many(ticks[0])  # compile the kernels (cached on disk after the first run)
    out: dict[str, float] = {"wearers": wearers, "samples": samples, "seconds_of_signal": seconds}
    for mode in ("batched", "one_by_one"):
        core = SignalCore()
        beats = 0
        started = time.perf_counter()
        for tick in ticks:
            if mode == "batched":
                beats += len(core.process_many(tick))
            else:
                for b in tick:
                    beats += len(core.process(b))
        elapsed = time.perf_counter() - started
        out |= {f"{mode}_processing_s": round(elapsed, 4), f"{mode}_us_per_sample": round(elapsed / samples * 1e6, 3),
                f"{mode}_share_of_one_cpu": round(elapsed / seconds, 4), f"{mode}_events": beats}
    out["us_per_sample"] = out["batched_us_per_sample"]
    return out


def baselines(data: Path) -> dict[str, float]:
    """NeuroKit2 ecg_process and HeartPy process on one minute, microseconds per sample."""
    out: dict[str, float] = {}
    ecg = find(data, "ecg_bsnb_5min_1000hz") or find(data, "ecg_bsnb_5min_1000hz_120s")
    ppg = find(data, "ppg_heartpy_data3")
    try:
        import heartpy
        import neurokit2 as nk
    except ImportError as exc:
        print(f"(baselines skipped: {exc}; install with pip install -e '.[bench]')", file=sys.stderr)
        return out
    def per_sample_us(run: Callable[[], object], samples: int) -> float:
        started = time.perf_counter()
        run()
        return round((time.perf_counter() - started) / samples * 1e6, 3)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path, signal, rate, name, theirs in (
            (ecg, "ecg", 1000.0, "neurokit2_ecg_process", lambda x: nk.ecg_process(x, sampling_rate=1000)),
            (ppg, "ppg", 100.42, "heartpy_process", lambda x: heartpy.process(x, sample_rate=100.42)),
        ):
            if path is None:
                continue
            t, v = load_recording(path)
            minute = t < 60.0
            out[f"{name}_us_per_sample"] = per_sample_us(lambda: theirs(v[minute]), int(minute.sum()))
            out[f"ours_{signal}_same_minute_us_per_sample"] = per_sample_us(
                lambda: analyze_recording(t[minute], v[minute], signal), int(minute.sum()))  # type: ignore[arg-type]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=None, help="folder of recordings (default: shared data, else tests/data)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    args = parser.parse_args()
    data = args.data or default_data_dir()
    result = {"data": data.name, "accuracy": accuracy(data) + [synthetic_accuracy()], "cost": cost(), "baselines": baselines(data)}
    c, b = result["cost"], result["baselines"]
    ratios = {f"ours_live_vs_{k.split('_us')[0]}": round(c["us_per_sample"] / v, 3) for k, v in b.items() if not k.startswith("ours")}
    result["ratios"] = ratios
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"accuracy on {data} (targets: {TARGETS})")
    for row in result["accuracy"]:
        print("  " + ", ".join(f"{k}={v}" for k, v in row.items()))
    print(f"cost, live core, {c['wearers']} wearers PPG 100 Hz + EDA 32 Hz in 20 ms blocks: "
          f"{c['batched_us_per_sample']} us/sample/channel ({100 * c['batched_share_of_one_cpu']:.1f} % of one core); "
          f"target <= 1 us")
    print(f"  the same, one call per block (no batching at all): {c['one_by_one_us_per_sample']} us/sample/channel "
          f"({100 * c['one_by_one_share_of_one_cpu']:.1f} % of one core)")
    for k, v in b.items():
        print(f"  {k}: {v}")
    for k, v in ratios.items():
        print(f"  ratio {k}: {v}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
