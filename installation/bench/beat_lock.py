"""Heartbeat-locked sound: how close a predicted beat's sound lands to the real heartbeat.

    python -m installation.bench.beat_lock [--record NAME] [--seconds 60] [--buffer 64] [--json]

A real ECG or PPG recording is replayed in real time (``PlaybackSource`` on the
monotonic clock) through the live session: core, mapper (``p*.heart.predicted``
-> ``sound.p1.pulse``, and for comparison ``p*.heart.beat`` -> ``sound.p2.pulse``)
and a pyo engine on JACK (its dummy driver is started when no server runs). The
patch stamps, on the monotonic clock, the moment pyo computes the buffer that
carries each sound (a predicted beat's trigger is fired by pyo's own audio clock;
the buffer is heard one JACK period later, 1.3 ms at 64 frames, not included). A
sound's time on the recording's clock is then compared with the reference beat
times of the recording:

* predicted: the sound scheduled at each beat to land on the next one (error =
  sound time - nearest reference beat; negative = early);
* reacting: the sound fired when the beat is reported (its delay behind the beat).

Needs Debian's jackd2 (``apt-get install jackd2``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from installation.config import Show
from installation.mapping.mapper import Mapper, compile_mappings
from installation.commands.analyze import load_recording
from installation.sensors.playback import PlaybackSource
from installation.runtime.session import Session
from installation.sound.engine import SoundEngine
from installation.sound.jack_server import DummyJackServer, JackError
from installation.sound.inputs import PatchInputs
from installation.sound.patch import Patch

os.environ.setdefault("PYO_GUI_WX", "0")
import pyo  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
LEVEL = 0.25


class StampPatch(Patch):
    """Two channels of constant level; ``pK.pulse`` flips channel K's sign and stamps the moment."""

    PARAMETERS = {"p*.pulse": "trigger"}

    def __init__(self, wearers: list[str], settings: dict[str, float | str]) -> None:
        super().__init__(wearers, settings)
        self.stamps_s: dict[str, list[float]] = {"p1": [], "p2": []}

    def build(self, inputs: PatchInputs) -> Any:
        self._levels, self._stamps = [], []
        for wearer in ("p1", "p2"):
            (voice,) = inputs.trigger(f"{wearer}.pulse")
            self._levels.append(LEVEL * (1.0 - 2.0 * voice.toggle))
            # Stamped from pyo's audio thread, at the buffer that carries the sound.
            self._stamps.append(pyo.TrigFunc(voice.fire, self._stamp, arg=wearer))
        self._mix = pyo.Mix(self._levels, voices=2)
        return self._mix

    def _stamp(self, wearer: str) -> None:
        self.stamps_s.setdefault(wearer, []).append(time.perf_counter())


def data_dir() -> Path:
    shared = REPO.parent / "shared" / "data"
    return shared if shared.is_dir() else REPO / "tests" / "data"


def find(data: Path, stem: str) -> Path:
    for suffix in (".csv", ".csv.gz"):
        if (data / f"{stem}{suffix}").is_file():
            return data / f"{stem}{suffix}"
    raise SystemExit(f"no recording {stem} in {data}")


def errors_ms(sounds_s: np.ndarray, beats_s: np.ndarray) -> np.ndarray:
    """Each sound's time minus the nearest reference beat, milliseconds."""
    idx = np.clip(np.searchsorted(beats_s, sounds_s), 1, beats_s.size - 1)
    nearest = np.where(np.abs(beats_s[idx - 1] - sounds_s) < np.abs(beats_s[idx] - sounds_s), beats_s[idx - 1], beats_s[idx])
    return (sounds_s - nearest) * 1000.0


def summary(e: np.ndarray) -> dict[str, float]:
    if e.size == 0:
        return {"count": 0}
    return {"count": int(e.size), "median_ms": round(float(np.median(e)), 2), "mean_abs_ms": round(float(np.mean(np.abs(e))), 2),
            "p90_abs_ms": round(float(np.quantile(np.abs(e), 0.9)), 2), "sd_ms": round(float(np.std(e)), 2)}


def run(record: str, seconds: float, buffer_frames: int) -> dict[str, object]:
    data = data_dir()
    path = find(data, record)
    signal = record.split("_")[0]
    t, v = load_recording(path)
    keep = t < t[0] + seconds
    t, v = t[keep], v[keep]
    reference = np.loadtxt(data / f"{record}.beats.csv", skiprows=1)
    show = Show.model_validate({
        "show": {"title": "beat-lock benchmark"},
        "mappings": [{"from": "p1.heart.predicted", "to": "sound.p1.pulse"}, {"from": "p1.heart.beat", "to": "sound.p2.pulse"}],
        "sound": {"fade_in_s": 0.0, "fade_out_s": 0.0},
    })
    mapper = Mapper(compile_mappings(show.mappings, {"sound.p*.pulse": "trigger"}, "<beat-lock benchmark>"))
    patch = StampPatch(["p1", "p2"], {})
    with DummyJackServer(48000, buffer_frames) as settings:
        engine = SoundEngine(patch, "jack", sample_rate_hz=settings.sample_rate_hz, buffer_frames=settings.buffer_frames,
                             fade_in_s=0.0, fade_out_s=0.0, jack_name=f"ecosymphony-beatlock-{os.getpid()}",
                             jack_connect_outputs=False)
        source = PlaybackSource("p1", signal, t, v, "mV" if signal == "ecg" else "adc", block_s=0.02)  # type: ignore[arg-type]
        session = Session(show, mapper, [source], ["p1"], engine, None)
        session.start()
        opened_s = source.started_s
        stamps = patch.stamps_s  # kept: the engine releases the patch's pyo objects when it stops
        try:
            while not source.finished and time.perf_counter() - opened_s < seconds + 5.0:
                time.sleep(0.05)
            time.sleep(1.0)  # the last predicted sound
        finally:
            session.stop()
    learn_until = float(t[0]) + 5.0
    beats = reference[(reference > learn_until) & (reference < t[-1])]
    predicted = np.array(stamps["p1"]) - opened_s + float(t[0])
    reacting = np.array(stamps["p2"]) - opened_s + float(t[0])
    predicted, reacting = predicted[predicted > learn_until], reacting[reacting > learn_until]
    return {
        "record": record, "seconds": round(float(t[-1] - t[0]), 1), "buffer_frames": buffer_frames, "reference_beats": int(beats.size),
        "predicted": summary(errors_ms(predicted, beats)), "reacting": summary(errors_ms(reacting, beats)),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--record", default="ecg_bsnb_5min_1000hz", help="recording stem (default ecg_bsnb_5min_1000hz; "
                        "falls back to its 120 s excerpt in tests/data)")
    parser.add_argument("--seconds", type=float, default=60.0, help="seconds of the recording to replay (default 60)")
    parser.add_argument("--buffer", type=int, default=64, help="JACK frames per cycle (default 64)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    record = args.record
    if not (data_dir() / f"{record}.beats.csv").is_file() and (data_dir() / f"{record}_120s.beats.csv").is_file():
        record = f"{record}_120s"
    try:
        result = run(record, args.seconds, args.buffer)
    except JackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"beat-locked sound on {result['record']} replayed in real time ({result['seconds']} s, {args.buffer} frames, "
          f"{result['reference_beats']} reference beats after 5 s of learning):")
    for kind in ("predicted", "reacting"):
        s = result[kind]
        print(f"  {kind:9s}: " + ", ".join(f"{k}={v}" for k, v in s.items()))  # type: ignore[union-attr]
    print("  (error = sound time - nearest reference beat; negative = early)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
