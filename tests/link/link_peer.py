"""An independent Ableton Link peer (aalink only, none of the show's code), as a musician's app.

    python -m tests.link.link_peer --bpm 100 --duration 8 [--set-at 5.0 --set-bpm 125] [--quantum 4]

Prints ``{"ready": ...}`` once it is loaded, waits for a line on its standard input, then
prints one JSON line every 50 ms: ``{"t": perf_counter seconds, "peers", "tempo", "beat"}``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

from aalink import Link


async def main(args: argparse.Namespace) -> None:
    print(json.dumps({"ready": time.perf_counter()}), flush=True)
    sys.stdin.readline()  # "go" (or the end of the input)
    link = Link(args.bpm)
    link.quantum = args.quantum
    link.enabled = True
    start = time.perf_counter()
    tempo_set = False
    for _ in range(int(args.duration / 0.05) + 1):  # bounded: the run's length in steps
        now = time.perf_counter()
        if now - start >= args.duration:
            break
        if args.set_at is not None and not tempo_set and now - start >= args.set_at:
            link.tempo = args.set_bpm
            tempo_set = True
        print(json.dumps({"t": time.perf_counter(), "peers": link.num_peers, "tempo": link.tempo,
                          "beat": link.beat}), flush=True)
        await asyncio.sleep(0.05)
    link.enabled = False


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--bpm", type=float, default=120.0)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--quantum", type=float, default=4.0)
    parser.add_argument("--set-at", type=float, default=None)
    parser.add_argument("--set-bpm", type=float, default=120.0)
    asyncio.run(main(parser.parse_args()))
