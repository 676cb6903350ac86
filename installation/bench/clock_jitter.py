"""Benchmark: beat times from packet-stamped samples, with and without the rebuilt sample clock.

    python -m installation.bench.clock_jitter [--data DIR] [--live-s S] [--seed N] [--json]

The experiment of the issue "packet-stamped clocks make beats jitter": a resting
PPG (``ppg_bsnb_rest_1000hz``, 1000 Hz, with its reference beats) resampled to
64 Hz; every packet of 4 samples is stamped with its arrival, the time of its
last sample plus a random delay of 0-20 ms (fixed seed). Beat-time error = found
beat minus reference beat, for the beats matched within 100 ms after the first
5 s; its SD and median, in milliseconds:

(a) the true sample times, through ``analyze``'s path (``analyze_recording``);
(b) the packet stamps as they are (``--clock keep``);
(c) the packet stamps with the rebuilt clock (``--clock auto``, the default);
(d) live: the first ``--live-s`` seconds sent as OSC bundles of 4 samples
    (EmotiBit ``/EmotiBit/0/PPG:IR``, no time tag) over a real UDP socket on
    127.0.0.1, each sent at its packet's due time plus the random delay, read by
    the real ``OscSource`` (arrival stamps on the monotonic clock) and analysed
    by a ``SignalCore`` as the blocks come, in real time. Its ratio is against
    (a) on the same seconds.

Target: (c)/(a) and (d)/(a) <= 1.5.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from pythonosc import osc_bundle_builder, osc_message_builder

from installation.bench.core_accuracy import BEAT_TOLERANCE_S, SCORE_FROM_S, default_data_dir, find
from installation.clock import MonotonicClock
from installation.commands.analyze import analyze_recording, load_recording
from installation.dsp.core import SignalCore, compile_kernels
from installation.dsp.scoring import match_events
from installation.sensors.base import SampleBlock
from installation.sensors.osc_source import OscSource

RECORD = "ppg_bsnb_rest_1000hz"
RATE_HZ = 64.0
PER_PACKET = 4
MAX_DELAY_S = 0.02
START_S, TOLERANCE_S = SCORE_FROM_S, BEAT_TOLERANCE_S  # scored as the accuracy benchmark scores beats


def resting_ppg(data: Path, rate_hz: float = RATE_HZ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The resting PPG resampled to ``rate_hz``: (true sample times in s, values, reference beat times in s)."""
    from scipy.signal import resample_poly

    path = find(data, RECORD)
    if path is None:
        raise FileNotFoundError(f"{data}: no {RECORD}.csv(.gz)")
    t, v = load_recording(path)
    source_hz = round((t.size - 1) / float(t[-1] - t[0]))
    up, down = int(rate_hz), int(source_hz)
    g = np.gcd(up, down)
    mean = float(v.mean())
    x = resample_poly(v - mean, up // g, down // g) + mean
    times = float(t[0]) + np.arange(x.size) / rate_hz
    reference = np.loadtxt(data / f"{RECORD}.beats.csv", skiprows=1)
    return times, x, reference


def packet_stamps(times_s: np.ndarray, per_packet: int = PER_PACKET, max_delay_s: float = MAX_DELAY_S,
                  seed: int = 1) -> np.ndarray:
    """Every sample stamped with its packet's arrival: the packet's last sample time plus a delay in [0, max_delay_s).

    A last, incomplete packet is stamped at its own last sample.
    """
    rng = np.random.default_rng(seed)
    n = times_s.size
    last = np.minimum(np.arange(n) // per_packet * per_packet + per_packet - 1, n - 1)
    delays = rng.uniform(0.0, max_delay_s, size=(n + per_packet - 1) // per_packet)
    return times_s[last] + delays[np.arange(n) // per_packet]


def beat_errors(found_s: np.ndarray, reference_s: np.ndarray, start_s: float = START_S,
                end_s: float = np.inf, tolerance_s: float = TOLERANCE_S) -> np.ndarray:
    """Found minus reference time (s) of every reference beat in [start_s, end_s) with a found beat within the tolerance."""
    found = np.sort(np.asarray(found_s, dtype=float))
    errors = []
    if found.size == 0:
        return np.array([])
    for r in reference_s[(reference_s >= start_s) & (reference_s < end_s)]:
        j = int(np.argmin(np.abs(found - r)))
        if abs(found[j] - r) <= tolerance_s:
            errors.append(found[j] - r)
    return np.asarray(errors)


@dataclass(frozen=True, slots=True)
class Figures:
    """Beat-time errors of one way of stamping (milliseconds)."""

    beats: int
    reference: int
    f1_pct: float
    sd_ms: float
    median_ms: float
    clock: str

    @classmethod
    def of(cls, found_s: np.ndarray, reference_s: np.ndarray, clock: str, end_s: float = np.inf) -> "Figures":
        e = beat_errors(found_s, reference_s, end_s=end_s)
        m = match_events(np.asarray(found_s), reference_s, TOLERANCE_S, start_s=START_S, end_s=end_s)
        sd = float(np.std(e) * 1000) if e.size > 1 else float("nan")
        median = float(np.median(e) * 1000) if e.size else float("nan")
        return cls(int(e.size), m.reference, round(100 * m.f1, 2), round(sd, 2), round(median, 2), clock)


def beats_found(events: list) -> np.ndarray:
    return np.array([e.time_s for e in events if e.address.endswith(".heart.beat")])


def offline(times_s: np.ndarray, values: np.ndarray, reference_s: np.ndarray, clock: str, end_s: float = np.inf) -> Figures:
    """Through ``analyze``'s path, with ``--clock clock``."""
    keep = times_s < end_s
    analysis = analyze_recording(times_s[keep], values[keep], "ppg", clock=clock)  # type: ignore[arg-type]
    return Figures.of(beats_found(analysis.events), reference_s, analysis.clock, end_s)


def bundle(values: np.ndarray) -> bytes:
    """One OSC bundle (no time tag) with an EmotiBit PPG message of these samples."""
    m = osc_message_builder.OscMessageBuilder("/EmotiBit/0/PPG:IR")
    for v in values.tolist():
        m.add_arg(float(v))
    b = osc_bundle_builder.OscBundleBuilder(osc_bundle_builder.IMMEDIATELY)
    b.add_content(m.build())
    return b.build().dgram


def live(times_s: np.ndarray, values: np.ndarray, reference_s: np.ndarray, seconds: float, seed: int = 1,
         per_packet: int = PER_PACKET, max_delay_s: float = MAX_DELAY_S) -> tuple[Figures, dict[str, float]]:
    """The first ``seconds`` of the signal sent in real time as OSC bundles on loopback, read and analysed live."""
    n = int(np.searchsorted(times_s, times_s[0] + seconds)) // per_packet * per_packet
    due = packet_stamps(times_s[:n], per_packet, max_delay_s, seed)[per_packet - 1 :: per_packet] - times_s[0]
    packets = [bundle(values[i : i + per_packet]) for i in range(0, n, per_packet)]
    clock = MonotonicClock()
    source = OscSource(0, rates_hz={"ppg": 1.0 / float(times_s[1] - times_s[0])}, clock=clock)
    core = SignalCore()
    events: list = []
    late_s: list[float] = []
    with source:
        start_s = clock.now_s() + 0.2  # the clock time of the signal's first sample
        sent = threading.Event()

        def send() -> None:
            import socket

            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                for when, data in zip(due.tolist(), packets):
                    wait = start_s + when - clock.now_s()
                    if wait > 0:
                        time.sleep(wait)
                    late_s.append(clock.now_s() - start_s - when)
                    s.sendto(data, ("127.0.0.1", source.port))
            sent.set()

        sender = threading.Thread(target=send, name="clock-jitter-sender", daemon=True)
        sender.start()
        blocks: list[SampleBlock] = []
        deadline = time.monotonic() + seconds + 30.0  # the sender's time and a margin, whatever happens to it
        while time.monotonic() < deadline:
            done = sent.is_set()
            got = source.read(0.05)
            blocks += got
            events += core.process_many(got)
            if done and not got:
                break
        else:
            raise RuntimeError("the live part did not finish: the sender thread stopped early or stalled")
        sender.join()
    clock_fit = source.devices.clocks[(0, "ppg")]
    found = beats_found(events) - start_s + float(times_s[0])
    lateness = np.asarray(late_s) * 1000
    extra = {"packets": len(packets), "samples": int(sum(b.times_s.size for b in blocks)),
             "send_late_ms_p50": round(float(np.median(lateness)), 3), "send_late_ms_p99": round(float(np.percentile(lateness, 99)), 3),
             "rate_hz_learnt": round(clock_fit.rate_hz, 4), "jitter_ms": round(1000 * clock_fit.jitter_s, 2), "gaps": clock_fit.gaps}
    return Figures.of(found, reference_s, f"live, {clock_fit.reason}", float(times_s[0]) + seconds), extra


def run(data: Path, live_s: float = 30.0, seed: int = 1) -> dict[str, object]:
    compile_kernels()
    t, v, reference = resting_ppg(data)
    stamps = packet_stamps(t, seed=seed)
    result: dict[str, object] = {
        "record": RECORD, "rate_hz": RATE_HZ, "per_packet": PER_PACKET, "max_delay_ms": MAX_DELAY_S * 1000, "seed": seed,
        "a_true": asdict(offline(t, v, reference, "keep")),
        "b_packets_kept": asdict(offline(stamps, v, reference, "keep")),
        "c_packets_rebuilt": asdict(offline(stamps, v, reference, "auto")),
    }
    if live_s > 0:
        end_s = float(t[0]) + live_s
        result["a_true_live_span"] = asdict(offline(t, v, reference, "keep", end_s))
        figures, extra = live(t, v, reference, live_s, seed)
        result["d_live"] = asdict(figures) | extra
    a = result["a_true"]["sd_ms"]  # type: ignore[index]
    result["ratio_c_a"] = round(result["c_packets_rebuilt"]["sd_ms"] / a, 3)  # type: ignore[index]
    result["ratio_b_a"] = round(result["b_packets_kept"]["sd_ms"] / a, 3)  # type: ignore[index]
    if live_s > 0:
        result["ratio_d_a"] = round(result["d_live"]["sd_ms"] / result["a_true_live_span"]["sd_ms"], 3)  # type: ignore[index]
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=None, help="folder of recordings (default: shared data, else tests/data)")
    parser.add_argument("--live-s", type=float, default=30.0, help="seconds of the live run over OSC, in real time (0: none)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the packets' delays")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of lines")
    args = parser.parse_args()
    result = run(args.data or default_data_dir(), args.live_s, args.seed)
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"beat-time error, {RECORD} resampled to {RATE_HZ:g} Hz, packets of {PER_PACKET} samples stamped on arrival "
          f"(0-{MAX_DELAY_S * 1000:g} ms delay, seed {args.seed}); beats after {START_S:g} s matched within "
          f"{TOLERANCE_S * 1000:g} ms (target: rebuilt and live SD <= 1.5x true stamps)")
    rows = [("(a) true stamps, analyze", "a_true"), ("(b) packet stamps kept", "b_packets_kept"),
            ("(c) packet stamps, clock rebuilt", "c_packets_rebuilt")]
    if args.live_s > 0:
        rows += [(f"(a) true stamps, first {args.live_s:g} s", "a_true_live_span"),
                 (f"(d) live OSC on loopback, first {args.live_s:g} s", "d_live")]
    for label, key in rows:
        f = result[key]
        print(f"  {label:<44} SD {f['sd_ms']:6.2f} ms  median {f['median_ms']:+7.2f} ms  "  # type: ignore[index]
              f"beats {f['beats']}/{f['reference']}  F1 {f['f1_pct']} %  ({f['clock']})")  # type: ignore[index]
    if args.live_s > 0:
        d = result["d_live"]
        print(f"  live: {d['packets']} bundles, {d['samples']} samples; sent late by p50 {d['send_late_ms_p50']} ms, "  # type: ignore[index]
              f"p99 {d['send_late_ms_p99']} ms; rate learnt {d['rate_hz_learnt']} Hz, jitter {d['jitter_ms']} ms, "  # type: ignore[index]
              f"gaps {d['gaps']}")  # type: ignore[index]
    print(f"  ratio (b)/(a) {result['ratio_b_a']}   (c)/(a) {result['ratio_c_a']}"
          + (f"   (d)/(a) {result['ratio_d_a']}" if args.live_s > 0 else "") + "   target <= 1.5")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
