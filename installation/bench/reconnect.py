"""How soon the serial source is back after a sensor is plugged in again.

    python -m installation.bench.reconnect [--trials 20]

Each trial: a pseudo-terminal stands for the board (reached through a fixed
symlink, like a udev name); it streams native lines, is unplugged (closed and
removed) for 0.3-1.5 s, and plugged back. The figure is the time from the port
returning to the first block read from it, with the source's default backoff.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import tempfile
import time
from pathlib import Path

from installation.sensors.parsers import Native, native_encode
from installation.sensors.serial_source import SerialSource


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=20)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # the source's own reconnect messages are expected here
    link = Path(tempfile.mkdtemp()) / "ttyECO"
    master, slave = os.openpty()
    link.symlink_to(os.ttyname(slave))
    os.close(slave)
    source = SerialSource(str(link), 115200, Native(), ["p1"])
    seq, times = 0, []
    with source:
        for trial in range(args.trials):
            os.write(master, (native_encode(seq, seq * 10, {"ppg": 500}) + "\n").encode())
            seq += 1
            while not source.read(0.02):
                pass
            os.close(master)
            link.unlink()
            away_until = time.monotonic() + 0.3 + 1.2 * (trial % 5) / 4
            while time.monotonic() < away_until:
                source.read(0.02)
            master, slave = os.openpty()
            link.symlink_to(os.ttyname(slave))
            os.close(slave)
            back = time.monotonic()
            got = []
            while not got:
                if source.connected:
                    os.write(master, (native_encode(seq, seq * 10, {"ppg": 500}) + "\n").encode())
                    seq += 1
                got = source.read(0.005)
                if time.monotonic() - back > 10:
                    print("did not reconnect within 10 s")
                    return 1
            times.append(time.monotonic() - back)
    os.close(master)
    link.unlink()
    ms = sorted(t * 1000 for t in times)
    print(f"reconnect after the port returned, {len(ms)} trials: median {statistics.median(ms):.0f} ms, "
          f"max {ms[-1]:.0f} ms (target <= 1000 ms); reconnects counted {source.reconnects - 1}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
