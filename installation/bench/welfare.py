"""Cost of the welfare watch's check, which the core thread makes once a second.

    python -m installation.bench.welfare [--wearers 4 16 64] [--checks 600]

Every wearer calm (no rule holds, the usual case: no notice's words are made), their baseline
learned, the features and channel states as the core gives them. Prints the median and the
slowest check per wearer count, in microseconds.
"""

from __future__ import annotations

import argparse
import statistics
import time

from installation.care.board import NoticeBoard
from installation.care.welfare import WelfareWatch
from installation.config import CareWelfareConfig


def check_cost_us(wearers: int, checks: int) -> list[float]:
    """Each check's time, microseconds."""
    watch = WelfareWatch(CareWelfareConfig(baseline_s=10.0), NoticeBoard())
    features: dict[str, float] = {}
    states: dict[str, str] = {}
    for i in range(1, wearers + 1):
        features.update({f"p{i}.heart.bpm": 60.0 + i % 30, f"p{i}.heart.irregular": 0.0, f"p{i}.eda.scl": 5.0})
        states.update({f"p{i}.heart": "ok", f"p{i}.eda": "ok"})
    times = []
    for k in range(checks):
        started = time.perf_counter()
        watch.update(float(k), features, states)
        times.append((time.perf_counter() - started) * 1e6)
    return times[20:]  # after the baselines are learned


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wearers", type=int, nargs="+", default=[4, 16, 64])
    parser.add_argument("--checks", type=int, default=600)
    args = parser.parse_args(argv)
    for n in args.wearers:
        times = check_cost_us(n, args.checks)
        print(f"{n:3d} wearers: a check takes {statistics.median(times):7.0f} us (median), {max(times):7.0f} us (slowest)")


if __name__ == "__main__":
    main()
