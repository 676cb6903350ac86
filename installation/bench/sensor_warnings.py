"""Benchmark of the sensor warnings: do they come before the channel fails, and how often
do they come when nothing is failing?

    python -m installation.bench.sensor_warnings [--seeds N] [--hours H] [--data DIR] [--json]

(a) Scripted degradations: one simulated wearer (PPG and EDA, on a fake clock, as fast as
it runs) is healthy for a while, then a gradual fault comes on (``loosening``,
``fading_link``, ``battery_drain``, over 60 to 150 s depending on the seed) and ends in the
failure it leads to (off the skin, the link gone, the device off). Through the signal core
and the sensor watch, with the show's default ``[care.sensors]``: the share of runs warned
(the kind's own rule) before the channel first went into a bad state, and the median lead
time in seconds.

(b) False warnings: the real ECG, PPG and EDA recordings in DIR (the team's shared data set
when it is beside the repository, else tests/data) replayed through the core in 20 ms
blocks, each looped until all of them together last H hours (one hour by default), offline;
every notice raised counts as a false warning, since none of these sensors failed.

(c) False warnings when people move: a healthy simulated audience of four whose moods change
every 30 s and who take turns to walk about for 20 s (no accelerometer, so only the pulse
wave sees it), for ``--walk-minutes`` minutes.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from installation.bench.core_accuracy import EDA_US_PER_COUNT, default_data_dir, find
from installation.care.board import NoticeBoard
from installation.care.sensor_watch import BATTERY_RULE, EDA_RULE, HEART_RULE, LINK_RULE, SensorWatch
from installation.clock import FakeClock
from installation.commands.analyze import load_recording, nominal_rate_hz, recording_clock
from installation.config import CareSensorsConfig
from installation.dsp.core import CoreSettings, SignalCore
from installation.dsp.quality import BAD_STATES
from installation.sensors.base import SampleBlock
from installation.sensors.scripted import Scenario, ScenarioEvent, ScriptedAudience
from installation.sensors.simulated import SimulatedAudience

#: Seconds of health before the gradual fault, and of the failure after it.
HEALTHY_S, FAILED_S = 60.0, 30.0
#: The gradual faults: the failure each ends in, and what is scored: (name, the channels whose
#: first bad state counts as the failure, the rule whose notice counts as the warning).
KINDS: dict[str, tuple[str, tuple[tuple[str, tuple[str, ...], str], ...]]] = {
    "loosening": ("lift_off", (("loosening, heart", ("heart",), HEART_RULE),
                               ("loosening, eda", ("eda",), EDA_RULE))),
    "fading_link": ("dropout", (("fading_link", ("heart", "eda"), LINK_RULE),)),
    "battery_drain": ("dropout", (("battery_drain", ("heart", "eda"), BATTERY_RULE),)),
}
#: Records of the healthy replay: (file stem, signal, microsiemens per count for EDA).
RECORDS = ("ecg_bsnb_5min_1000hz", "ecg_mitbih208_360hz", "ppg_heartpy_data3", "ppg_bsnb_rest_1000hz",
           "ppg_bsnb_motion_artifact", "eda_bsnb_hot_surface_1000hz", "eda_bsnb_slow_100hz")


@dataclass(slots=True)
class Degradation:
    """One scripted run: when the channel first went bad and when the kind's warning first stood."""

    kind: str
    seed: int
    ramp_s: float
    bad_s: float
    warned_s: float
    message: str

    @property
    def lead_s(self) -> float:
        return self.bad_s - self.warned_s


def degradation_scenario(kind: str, ramp_s: float, wearer: str = "p1") -> Scenario:
    """Healthy for :data:`HEALTHY_S`, the gradual ``kind`` over ``ramp_s``, then its failure for :data:`FAILED_S`."""
    failure = KINDS[kind][0]
    events = [ScenarioEvent(at_s=HEALTHY_S, duration_s=ramp_s, wearer=wearer, what=kind)]  # type: ignore[arg-type]
    if kind != "battery_drain":  # an empty battery is silent by itself
        events.append(ScenarioEvent(at_s=HEALTHY_S + ramp_s, duration_s=FAILED_S, wearer=wearer, what=failure))  # type: ignore[arg-type]
    return Scenario(title=f"{kind} over {ramp_s:g} s", events=events)


def run_scripted(kind: str, seed: int, ramp_s: float, settings: CareSensorsConfig | None = None) -> list[Degradation]:
    """One wearer through a :func:`degradation_scenario`, offline on a fake clock; one result per
    scored pair of channels and rule of the kind (:data:`KINDS`)."""
    clock = FakeClock()
    source = ScriptedAudience(SimulatedAudience(1, seed=seed, clock=clock), degradation_scenario(kind, ramp_s), seed=seed)
    core = SignalCore(CoreSettings(baseline_s=20.0))
    board = NoticeBoard(clock=clock.now_s)
    watch = SensorWatch(settings or CareSensorsConfig(), board, core.states)
    scored = KINDS[kind][1]
    bad_s = {name: math.nan for name, _, _ in scored}
    warned: dict[str, tuple[float, str]] = {}
    end_s = HEALTHY_S + ramp_s + FAILED_S
    next_feature_s = next_link_s = 0.0
    with source:
        while clock.now_s() < end_s:
            core.process_many(source.read(0.05))
            now_s = clock.now_s()
            if now_s >= next_link_s:
                next_link_s = now_s + 1.0
                watch.link_counts(now_s, source.name, ["p1"], source.wearer_counts.get("p1", {}))
            if now_s < next_feature_s:
                continue
            next_feature_s = now_s + 0.01  # the pipeline's feature rate
            watch.features(now_s, core.features(now_s))
            states = core.states()
            standing = {n.rule: n.message for n in board.standing("p1")}
            for name, channels, rule in scored:
                if math.isnan(bad_s[name]) and now_s >= HEALTHY_S and any(states.get(f"p1.{c}") in BAD_STATES for c in channels):
                    bad_s[name] = now_s
                if name not in warned and rule in standing:
                    warned[name] = (now_s, standing[rule])
    return [Degradation(name, seed, ramp_s, bad_s[name], *warned.get(name, (math.nan, ""))) for name, _, _ in scored]


def replay_healthy(data: Path, hours: float, settings: CareSensorsConfig | None = None) -> dict[str, object]:
    """Every record in ``data``, looped until together they last ``hours``; the notices raised."""
    records = []
    for stem in RECORDS:
        path = find(data, stem)
        if path is not None:
            records.append((stem, path))
    if not records:
        raise SystemExit(f"no recordings in {data}")
    share_s = hours * 3600.0 / len(records)
    rows = []
    for stem, path in records:
        times_s, values = load_recording(path)
        rate_hz = nominal_rate_hz(times_s)
        times_s, _ = recording_clock(times_s, rate_hz)
        times_s = times_s - times_s[0]
        signal = stem.split("_", 1)[0]
        unit = ""
        if signal == "eda":
            values, unit = values * EDA_US_PER_COUNT[stem], "uS"
        duration_s = float(times_s[-1]) + 1.0 / rate_hz
        core = SignalCore()
        board = NoticeBoard()
        watch = SensorWatch(settings or CareSensorsConfig(), board, core.states)
        raised: list[str] = []
        board.listen(lambda n: raised.append(n.message))
        step = max(1, int(round(0.02 * rate_hz)))
        loops = int(np.ceil(share_s / duration_s))
        played_s = 0.0
        next_feature_s = 0.0
        for loop in range(loops):
            offset_s = loop * duration_s
            for i in range(0, times_s.size, step):
                t = times_s[i : i + step] + offset_s
                if t[0] >= share_s:
                    break
                now_s = float(t[-1])
                core.process(SampleBlock("p1", signal, t, values[i : i + step], unit, now_s, rate_hz))  # type: ignore[arg-type]
                played_s = now_s
                if now_s >= next_feature_s:
                    next_feature_s = now_s + 0.1
                    watch.features(now_s, core.features(now_s))
        rows.append({"record": stem, "played_s": round(played_s, 1), "loops": loops, "warnings": len(raised),
                     "forecast_s": watch.forecasts, "messages": raised[:5]})
    total_s = sum(float(r["played_s"]) for r in rows)  # type: ignore[arg-type]
    total = sum(int(r["warnings"]) for r in rows)  # type: ignore[call-overload]
    forecast_s = sum(int(r["forecast_s"]) for r in rows)  # type: ignore[call-overload]
    return {"hours": round(total_s / 3600.0, 3), "warnings": total, "per_hour": round(total / (total_s / 3600.0), 2),
            "forecast_s": forecast_s, "records": rows}


def run_walking(wearers: int = 4, minutes: float = 5.0, seed: int = 5, settings: CareSensorsConfig | None = None) -> dict[str, object]:
    """A healthy simulated audience whose moods change every 30 s and who walk about in turn
    (20 s each, no accelerometer: only the pulse wave sees it); every notice is a false one."""
    duration_s = 60.0 * minutes
    events = []
    for k in range(int(duration_s // 60.0)):
        events.append(ScenarioEvent(at_s=60.0 * k, duration_s=30.0, what=("calm", "excite", "startle")[k % 3]))  # type: ignore[arg-type]
        events.append(ScenarioEvent(at_s=60.0 * k + 30.0, duration_s=20.0, wearer=f"p{k % wearers + 1}", what="motion"))
    clock = FakeClock()
    source = ScriptedAudience(SimulatedAudience(wearers, seed=seed, clock=clock), Scenario(events=events), seed=seed)
    core = SignalCore(CoreSettings(baseline_s=20.0))
    board = NoticeBoard(clock=clock.now_s)
    watch = SensorWatch(settings or CareSensorsConfig(), board, core.states)
    raised: list[str] = []
    board.listen(lambda n: raised.append(n.message))
    next_feature_s = 0.0
    with source:
        while clock.now_s() < duration_s:
            core.process_many(source.read(0.05))
            now_s = clock.now_s()
            if now_s >= next_feature_s:
                next_feature_s = now_s + 0.01
                watch.features(now_s, core.features(now_s))
    hours = wearers * duration_s / 3600.0
    return {"wearer_hours": round(hours, 3), "walks": len(events) // 2, "warnings": len(raised),
            "per_wearer_hour": round(len(raised) / hours, 2), "forecast_s": watch.forecasts, "messages": raised[:5]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m installation.bench.sensor_warnings", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=6, help="scripted runs of each kind (default 6)")
    parser.add_argument("--hours", type=float, default=1.0, help="hours of healthy recordings replayed (default 1)")
    parser.add_argument("--data", type=Path, default=None, help="folder of recordings (default: shared data, else tests/data)")
    parser.add_argument("--walk-minutes", type=float, default=5.0,
                        help="minutes of the simulated audience that walks about (default 5; 0: none)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    ramps_s = (60.0, 90.0, 120.0, 150.0)
    runs = [r for kind in KINDS for seed in range(1, args.seeds + 1) for r in run_scripted(kind, seed, ramps_s[seed % len(ramps_s)])]
    scripted = {}
    for name in dict.fromkeys(r.kind for r in runs):
        mine = [r for r in runs if r.kind == name]
        before = [r for r in mine if r.warned_s < r.bad_s]
        leads = [r.lead_s for r in before]
        scripted[name] = {"runs": len(mine), "warned_before_pct": round(100.0 * len(before) / len(mine), 1),
                          "median_lead_s": round(statistics.median(leads), 1) if leads else None,
                          "min_lead_s": round(min(leads), 1) if leads else None,
                          "failed": sum(not math.isnan(r.bad_s) for r in mine),
                          "example": before[0].message if before else next((r.message for r in mine if r.message), "")}
    healthy = replay_healthy(args.data or default_data_dir(), args.hours)
    walking = run_walking(minutes=args.walk_minutes) if args.walk_minutes > 0 else None
    if args.json:
        print(json.dumps({"scripted": scripted, "healthy": healthy, "walking": walking}, indent=2))
        return 0
    print(f"(a) scripted degradations ({args.seeds} seeds each, ramps of {', '.join(f'{r:g}' for r in ramps_s)} s)")
    for kind, row in scripted.items():
        print(f"  {kind:17s} warned before failing {row['warned_before_pct']:5.1f} % of {row['runs']}, "
              f"median lead {row['median_lead_s']} s (least {row['min_lead_s']} s)")
        print(f"  {'':17s} e.g. {row['example']}")
    print(f"(b) healthy recordings: {healthy['hours']} h replayed, {healthy['warnings']} warnings "
          f"({healthy['per_hour']} per hour); {healthy['forecast_s']} one-second forecasts of a failure in all, "
          f"before the {CareSensorsConfig().rise_s:g} s hold")
    for r in healthy["records"]:  # type: ignore[attr-defined]
        print(f"  {r['record']:28s} {r['played_s']:7.1f} s ({r['loops']} loops): {r['warnings']} warnings, "
              f"{r['forecast_s']} forecasts"
              + (f"; e.g. {r['messages'][0]}" if r["messages"] else ""))
    if walking is not None:
        print(f"(c) a healthy simulated audience of 4, moods changing, {walking['walks']} walks of 20 s: "
              f"{walking['wearer_hours']} wearer-hours, {walking['warnings']} warnings "
              f"({walking['per_wearer_hour']} per wearer-hour), {walking['forecast_s']} forecasts"
              + (f"; e.g. {walking['messages'][0]}" if walking["messages"] else ""))  # type: ignore[index]
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
