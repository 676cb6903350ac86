"""CPU cost of the eco-symphony patch, measured on pyo's manual backend.

    python -m installation.bench.patch_cpu [--wearers 1 8 32 64] [--seconds 10] [--buffer-frames 64 256]
                                           [--solo-wearers N]

Every wearer's bell is struck at 60-100 beats per minute, a grain burst is set
off now and then, and the pad, ticks and ambient grains play at middling
settings, while ``server.process()`` is timed buffer by buffer. The figure is
the processor time spent computing (this process's CPU time, so that other
work on a shared machine does not count) divided by the audio's duration: the
fraction of one core that real-time playback needs (the median of three runs,
as these shared machines drift). The bare safety chain (the engine with a
silent patch) is measured in the same run as a baseline. ``--solo-wearers``
sets the patch's setting of that name (default: the patch's own, 8): with it
above the largest count, every wearer plays voices of their own, as the patch
did before crowds shared voices.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("PYO_GUI_WX", "0")

from installation.sound.engine import SoundEngine  # noqa: E402
from installation.sound.inputs import PatchInputs  # noqa: E402
from installation.sound.patch import Patch, load_patch  # noqa: E402

PATCH = Path(__file__).resolve().parents[2] / "patches" / "eco_symphony.py"
SAMPLE_RATE_HZ = 48000


class Silent(Patch):
    """The baseline: no sound of its own, only the engine's chain."""

    def build(self, inputs: PatchInputs) -> Any:
        import pyo

        self._out = pyo.Sig([0.0, 0.0])
        return self._out


def core_fraction(patch_class: type[Patch], wearers: int, seconds: float, buffer_frames: int, seed: int,
                  settings: dict[str, float | str] | None = None) -> float:
    """Fraction of one core spent computing ``seconds`` of audio for ``wearers`` wearers."""
    names = [f"p{i + 1}" for i in range(wearers)]
    engine = SoundEngine(patch_class(names, settings or {}), "manual", SAMPLE_RATE_HZ, buffer_frames, fade_in_s=0.1)
    engine.start()
    play = patch_class is not Silent
    rng = np.random.default_rng(seed)
    buffer_s = buffer_frames / SAMPLE_RATE_HZ
    next_beat_s = rng.uniform(0.0, 1.0, wearers)
    busy_s, now_s = 0.0, 0.0
    try:
        if play:
            for address, value in (("drone.level", 0.6), ("texture.density", 0.5), ("rhythm.level", 0.5)):
                engine.set(address, value)
        while now_s < seconds:
            if play:
                for i in np.flatnonzero(next_beat_s <= now_s):
                    engine.trigger(f"{names[i]}.pulse", 0.6)
                    next_beat_s[i] += 60.0 / rng.uniform(60.0, 100.0)
                    if rng.random() < 0.05:
                        engine.trigger(f"{names[i]}.texture", 0.8)
            start = time.process_time()
            engine.process(1)
            busy_s += time.process_time() - start
            now_s += buffer_s
    finally:
        engine.stop()
    return busy_s / now_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wearers", type=int, nargs="+", default=[1, 8, 32, 64])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--buffer-frames", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--solo-wearers", type=int, default=None,
                        help="the patch's solo_wearers setting (default: the patch's own)")
    args = parser.parse_args()
    eco = load_patch(PATCH)
    settings: dict[str, float | str] = {} if args.solo_wearers is None else {"solo_wearers": args.solo_wearers}
    print(f"eco-symphony at {SAMPLE_RATE_HZ} Hz: fraction of one core for real-time audio (median of 3 runs)"
          + ("" if args.solo_wearers is None else f", solo_wearers = {args.solo_wearers}"))
    for frames in args.buffer_frames:
        base = statistics.median(core_fraction(Silent, 1, args.seconds, frames, s) for s in range(3))
        print(f"  buffer {frames:4d} frames: engine chain alone {100 * base:5.1f} %")
        for n in args.wearers:
            cost = statistics.median(core_fraction(eco, n, args.seconds, frames, s, settings) for s in range(3))
            print(f"  buffer {frames:4d} frames: {n:3d} wearers {100 * cost:5.1f} %")


if __name__ == "__main__":
    main()
