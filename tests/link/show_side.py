"""The show's Link peer (:class:`installation.link.clock.LinkClock`) driven by a scripted group
heart rate, as the pipeline drives it (features every 10 ms, beat events every tick).

    python -m tests.link.show_side

Loading the show's code takes seconds, so one process plays every run the tests ask for: it
prints ``{"ready": ...}``, then reads one JSON line per run from its standard input,
``{"link": {...the [link] section}, "heart": "at_s:bpm,at_s:bpm,...", "duration": seconds}``
(or ``{"count_peers": seconds}``: preflight's look, which prints ``{"peers": n}`` or
``{"error": why}``), and prints JSON lines: every 50 ms ``{"t", "role", "tempo", "peers", "phase"}``; each event
``{"event": address, "at": its time, "value", "made": when it was made}`` (perf_counter
seconds); and ``{"done": ...}`` at the end of the run. It stops at the end of its input.
"""

from __future__ import annotations

import json
import logging
import math
import sys
import time
from typing import Any

from installation.config import LinkConfig
from installation.commands.preflight import probe_link
from installation.link.clock import LinkClock


def heart_at(script: list[tuple[float, float]], since_s: float) -> float:
    """The scripted heart rate ``since_s`` seconds into the run (the last step at or before it)."""
    value = math.nan
    for at_s, bpm in script:
        if since_s >= at_s:
            value = bpm
    return value


def play(run: dict[str, Any]) -> None:
    """One run: a Link peer of the show's for ``run["duration"]`` seconds."""
    script = [(float(a), float(b)) for a, b in (step.split(":") for step in run["heart"].split(","))]
    settings = LinkConfig.model_validate({"enabled": True, **run["link"]})
    clock = LinkClock(settings, time.perf_counter).start()
    start = time.perf_counter()
    last_print = -math.inf
    for _ in range(int(run["duration"] / 0.01) + 1):  # bounded: the run's length in 10 ms ticks
        now = time.perf_counter()
        if now - start >= run["duration"]:
            break
        features = clock.features(now, {settings.feature: heart_at(script, now - start)})
        for event in clock.take_events(now):
            print(json.dumps({"event": event.address, "at": event.time_s, "value": event.value, "made": now}))
        if now - last_print >= 0.05:
            last_print = now
            role = clock.timeline.role if clock.timeline is not None else "none"
            print(json.dumps({"t": now, "role": role, "tempo": features["link.tempo"],
                              "peers": features["link.peers"], "phase": features["link.phase"]}), flush=True)
        time.sleep(0.01)
    clock.close()


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    print(json.dumps({"ready": time.perf_counter()}), flush=True)
    for line in sys.stdin:
        run = json.loads(line) if line.strip() else None
        if run is not None and "count_peers" in run:
            peers = probe_link(run["count_peers"])
            print(json.dumps({"peers": peers} if isinstance(peers, int) else {"error": peers}))
            print(json.dumps({"done": time.perf_counter()}), flush=True)
        elif run is not None:
            play(run)
            print(json.dumps({"done": time.perf_counter()}), flush=True)


if __name__ == "__main__":
    main()
