"""Benchmark: the show's ``link.beat`` events against a musician's Ableton Link beats.

    python -m installation.bench.link_grid [--seconds 20] [--bpm 100] [--here] [--json]

A musician's peer (aalink alone, at ``--bpm``) starts first; then the show's
:class:`~installation.link.clock.LinkClock` (``lead = false``) joins its session and is driven
as the pipeline drives it: features every 10 ms, beat events taken at each tick. Figures:

* how long the show took to join (its peer enabled -> following the musician's tempo);
* the beat error: each ``link.beat`` event's time minus the musician's nearest whole beat
  (the musician's timeline sampled every 5 ms and interpolated), p50 and p99 of its size,
  milliseconds; and how many landed on the wrong place in the bar;
* how far ahead of its beat each event was made (the sound takes it then, to land it on
  its buffer), p50 and the fewest, milliseconds; events made after their beat, counted;
* whether the musician's tempo stayed untouched.

Link finds its peers by multicast on every network of the machine: as root, with the
``ip`` command (Debian ``iproute2``), the benchmark runs itself inside a throwaway network
namespace of its own, so that nothing leaves the machine (``--here``: run where it is).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import shutil
import subprocess
import sys
import threading
import time
from typing import Any

import numpy as np

from installation.config import LinkConfig
from installation.link.clock import LinkClock, import_aalink

SAMPLE_PERIOD_S = 0.005
TICK_S = 0.01


class Musician:
    """A Link peer of aalink alone in a thread of its own, sampling its beat every 5 ms."""

    def __init__(self, bpm: float, quantum: float) -> None:
        self.bpm, self.quantum = bpm, quantum
        self.samples: list[tuple[float, float, float]] = []  # (perf_counter s, beat, tempo)
        self.ready = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), name="musician", daemon=True)

    async def _run(self) -> None:
        link = import_aalink().Link(self.bpm)
        link.quantum = self.quantum
        link.enabled = True
        self.ready.set()
        while not self._stop.is_set():
            self.samples.append((time.perf_counter(), float(link.beat), float(link.tempo)))
            await asyncio.sleep(SAMPLE_PERIOD_S)
        link.enabled = False

    def start(self) -> None:
        self._thread.start()
        self.ready.wait(10.0)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5.0)


def measure(seconds: float, bpm: float, quantum: int = 4) -> dict[str, Any]:
    """Run the musician and the show's peer for ``seconds`` and score the show's beats."""
    musician = Musician(bpm, quantum)
    musician.start()
    time.sleep(1.0)  # the musician's session is there first
    clock = LinkClock(LinkConfig(enabled=True, quantum=quantum), time.perf_counter).start()
    started_s = time.perf_counter()
    joined_s = math.nan
    events: list[tuple[float, float, float]] = []  # (beat time s, place in the bar, made at s)
    for _ in range(int(seconds / TICK_S)):  # bounded
        now_s = time.perf_counter()
        if now_s - started_s >= seconds:
            break
        clock.features(now_s, {"group.heart.bpm": 70.0})  # a group heart that would ask for 70 bpm
        events += [(e.time_s, e.value, now_s) for e in clock.take_events(now_s) if e.address == "link.beat"]
        t = clock.timeline
        if math.isnan(joined_s) and t is not None and t.role == "following" and abs(t.tempo_bpm - bpm) < 0.01:
            joined_s = now_s - started_s
        time.sleep(TICK_S)
    clock.close()
    musician.stop()
    stamps = np.array([s[0] for s in musician.samples])
    beats = np.array([s[1] for s in musician.samples])
    tempos = np.array([s[2] for s in musician.samples])
    scored = [(at, place, made) for at, place, made in events
              if stamps[0] <= at <= stamps[-1] and at - started_s > joined_s]
    theirs = np.interp([at for at, _, _ in scored], stamps, beats)
    error_ms = (theirs - np.round(theirs)) * 60.0 / bpm * 1000.0
    wrong_place = int(sum(place != round(b) % quantum for (_, place, _), b in zip(scored, theirs)))
    ahead_ms = np.array([(at - made) * 1000.0 for at, _, made in scored])
    return {
        "seconds": seconds, "bpm": bpm, "join_s": round(joined_s, 3), "beats": len(scored),
        "error_p50_ms": round(float(np.quantile(np.abs(error_ms), 0.5)), 2) if len(scored) else math.nan,
        "error_p99_ms": round(float(np.quantile(np.abs(error_ms), 0.99)), 2) if len(scored) else math.nan,
        "wrong_place_in_bar": wrong_place,
        "made_ahead_p50_ms": round(float(np.median(ahead_ms)), 1) if len(scored) else math.nan,
        "made_ahead_min_ms": round(float(ahead_ms.min()), 1) if len(scored) else math.nan,
        "made_late": int((ahead_ms < 0.0).sum()),
        "musician_tempo_untouched": bool(np.all(np.abs(tempos - bpm) < 0.01)),
    }


def _in_namespace(argv: list[str]) -> int | None:
    """Run this benchmark again inside a throwaway network namespace (root, ``ip``); None: not possible."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        return None
    name = f"eco-link-bench-{os.getpid()}"
    try:
        subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True, timeout=10.0)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
        return None
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True, capture_output=True, timeout=10.0)
        subprocess.run(["ip", "-n", name, "route", "add", "224.0.0.0/4", "dev", "lo"], check=True,
                       capture_output=True, timeout=10.0)
        return subprocess.run(["ip", "netns", "exec", name, sys.executable, "-m", "installation.bench.link_grid",
                               *argv, "--here"]).returncode
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10.0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="how long the two peers play")
    parser.add_argument("--bpm", type=float, default=100.0, help="the musician's tempo")
    parser.add_argument("--here", action="store_true", help="run on this machine's networks, not in a namespace")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    if not args.here:
        code = _in_namespace(sys.argv[1:])
        if code is not None:
            return code
        print("(not root, or no ip command: running on this machine's networks)", file=sys.stderr)
    try:
        result = measure(args.seconds, args.bpm)
    except Exception as exc:  # aalink missing, no network
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"link.beat against a musician's Link peer at {result['bpm']:g} bpm, {result['seconds']:g} s: "
          f"joined in {result['join_s']} s; {result['beats']} beats")
    print(f"  beat error |event - musician's beat|: p50 {result['error_p50_ms']} ms, p99 {result['error_p99_ms']} ms; "
          f"wrong place in the bar: {result['wrong_place_in_bar']}")
    print(f"  made ahead of the beat: p50 {result['made_ahead_p50_ms']} ms, fewest {result['made_ahead_min_ms']} ms; "
          f"made late: {result['made_late']}")
    print(f"  the musician's tempo untouched: {'yes' if result['musician_tempo_untouched'] else 'NO'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
