"""The show's Link peer (:class:`installation.link.clock.LinkClock`) driven by a scripted group
heart rate, as the pipeline drives it (features every 10 ms, beat events every tick).

    python -m tests.link.show_side --link '{"enabled": true, "smooth_s": 1}' --heart 0:70,4:110 --duration 8

Prints ``{"ready": ...}`` once it is loaded, waits for a line on its standard input, then
prints JSON lines: every 50 ms ``{"t", "role", "tempo", "peers", "phase"}``; each event
``{"event": address, "at": its time, "value", "made": when it was made}`` (perf_counter seconds).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import time

from installation.config import LinkConfig
from installation.link.clock import LinkClock


def heart_at(script: list[tuple[float, float]], since_s: float) -> float:
    """The scripted heart rate ``since_s`` seconds into the run (the last step at or before it)."""
    value = math.nan
    for at_s, bpm in script:
        if since_s >= at_s:
            value = bpm
    return value


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--link", default="{}", help="the [link] section, as JSON")
    parser.add_argument("--heart", default="0:70", help="at_s:bpm,at_s:bpm,... the group's heart rate")
    parser.add_argument("--duration", type=float, default=5.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    script = [(float(a), float(b)) for a, b in (step.split(":") for step in args.heart.split(","))]
    settings = LinkConfig.model_validate({"enabled": True, **json.loads(args.link)})
    print(json.dumps({"ready": time.perf_counter()}), flush=True)
    sys.stdin.readline()  # "go" (or the end of the input)
    clock = LinkClock(settings, time.perf_counter).start()
    start = time.perf_counter()
    last_print = -math.inf
    for _ in range(int(args.duration / 0.01) + 1):  # bounded: the run's length in 10 ms ticks
        now = time.perf_counter()
        if now - start >= args.duration:
            break
        features = clock.features(now, {settings.feature: heart_at(script, now - start)})
        for event in clock.take_events(now):
            print(json.dumps({"event": event.address, "at": event.time_s, "value": event.value, "made": now}),
                  flush=True)
        if now - last_print >= 0.05:
            last_print = now
            role = clock.timeline.role if clock.timeline is not None else "none"
            print(json.dumps({"t": now, "role": role, "tempo": features["link.tempo"],
                              "peers": features["link.peers"], "phase": features["link.phase"]}), flush=True)
        time.sleep(0.01)
    clock.close()


if __name__ == "__main__":
    main()
