"""Scripted audiences: scenarios (calm, excitement, startle, recovery, faults) played
on a simulated audience, as a source like any other.

Rehearsals, ``ecosymphony simulate`` and the tests script their wearers with these.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from installation.config import ConfigError
from installation.sensors.base import SampleBlock, SourceBase
from installation.sensors.simulated import ArmSwing, SimulatedAudience

Mood = Literal["calm", "excite", "startle"]
Fault = Literal["lift_off", "flatline", "motion", "saturate", "dropout", "wifi_gap"]
#: Moods to rehearse the welfare watch with: a racing heart, a storm of skin responses, an irregular rhythm.
WelfareMood = Literal["racing", "scr_storm", "irregular"]
#: The heart sensor gives no pulse while the skin sensor stays on the skin (the welfare watch's heart_lost).
WelfareFault = Literal["heart_lost"]
#: Every mood: what changes the physiology rather than what the sensors send.
MOODS = frozenset(get_args(Mood)) | frozenset(get_args(WelfareMood))


class ScenarioEvent(BaseModel):
    """One scripted moment: a mood or a fault, for one wearer or all (``racing``, ``scr_storm``,
    ``irregular`` and ``heart_lost`` rehearse the welfare watch)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    at_s: float = Field(ge=0.0)
    duration_s: float = Field(10.0, gt=0.0)
    wearer: str = Field("all", pattern=r"^(all|p[1-9][0-9]*)$")
    what: Mood | Fault | WelfareMood | WelfareFault


class Scenario(BaseModel):
    """A scenario file (TOML): ``[[events]]`` with ``at_s``, ``duration_s``, ``wearer``, ``what``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    title: str = ""
    events: list[ScenarioEvent] = Field(default_factory=list)


def load_scenario(path: Path) -> Scenario:
    """Read and validate a scenario file; :class:`ConfigError` names the file and key."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such scenario file") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read scenario: {exc}") from None
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        lines = []
        for e in exc.errors():
            where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e["loc"]).lstrip(".")
            lines.append(f"  - {where}: {e['msg']}")
        raise ConfigError(f"{path}: invalid scenario:\n" + "\n".join(lines)) from None


@dataclass(slots=True)
class ScriptedAudience(SourceBase):
    """A simulated audience with a scenario applied: moods change the physiology,
    faults change (or remove) what the sensors send. A source like any other.

    ``motion`` on an audience with accelerometers (``acc_rate_hz``) is walking: an arm
    swing at a cadence of its own that the accelerometer sees and the pulse wave picks
    up; without accelerometers, irregular swings of the pulse wave alone."""

    audience: SimulatedAudience
    scenario: Scenario
    seed: int = 0
    name: str = "simulated audience (scripted)"
    _rng: np.random.Generator = field(init=False, repr=False)
    _motion: list[tuple[float, float, float]] = field(init=False, repr=False)
    _held: dict[tuple[str, str], float] = field(init=False, repr=False)  # flat-lined channels' stuck values

    def __post_init__(self) -> None:
        self._rng = np.random.default_rng(self.seed)
        self._held = {}
        # Movement: several incommensurate swings between 0.3 and 3 Hz, so it never looks like a rhythm.
        self._motion = [(float(self._rng.uniform(0.3, 3.0)), float(self._rng.uniform(100.0, 350.0)),
                         float(self._rng.uniform(0.0, 2 * np.pi))) for _ in range(6)]
        walking = bool(self.audience.acc_rate_hz)
        for event in self.scenario.events:
            for w in self.audience.wearers:
                if event.wearer not in ("all", w.profile.wearer):
                    continue
                if event.what in MOODS:
                    w.add_mood(event.at_s, event.at_s + event.duration_s, event.what)
                elif event.what == "motion" and walking:
                    w.swings.append(ArmSwing(event.at_s, event.at_s + event.duration_s, float(self._rng.uniform(0.8, 1.0))))

    def open(self) -> None:
        self.audience.open()

    def close(self) -> None:
        self.audience.close()

    def faults_at(self, wearer: str, t_s: float) -> set[str]:
        return {e.what for e in self.scenario.events
                if e.what not in MOODS and e.wearer in ("all", wearer) and e.at_s <= t_s < e.at_s + e.duration_s}

    def _pulseless(self, block: SampleBlock) -> np.ndarray:
        """A heart sensor that finds no pulse while the skin sensor stays on: the PPG reads a steady
        ambient level (the core's PPG detector finds beats in even a count of noise after a few
        seconds without a pulse, so this one has none), the ECG's leads a few microvolts of noise."""
        if block.signal == "ecg":
            return self._rng.normal(0.0, 0.002, block.values.size)
        return np.full(block.values.size, 300.0)

    def read(self, timeout_s: float) -> list[SampleBlock]:
        out = []
        for block in self.audience.read(timeout_s):
            faults = self.faults_at(block.wearer, float(block.times_s[-1]))
            if faults & {"dropout", "wifi_gap"}:
                continue
            values = block.values.astype(float)
            if "lift_off" in faults:
                # Off the skin: the PPG sees ambient light, the EDA an open circuit.
                level, noise = (300.0, 2.0) if block.signal == "ppg" else (0.02, 0.002)
                values = level + self._rng.normal(0.0, noise, values.size)
            if "flatline" in faults:
                # A broken lead or a stuck converter: the last good value, exactly, for ever.
                key = (block.wearer, block.signal)
                held = self._held.setdefault(key, float(values[0]) if values.size else 0.0)
                values = np.full(values.size, held)
            else:
                self._held.pop((block.wearer, block.signal), None)
            if "motion" in faults and block.signal == "ppg" and not self.audience.acc_rate_hz:
                values = values + sum(a * np.sin(2 * np.pi * f * block.times_s + p) for f, a, p in self._motion)
            if "saturate" in faults and block.signal == "ppg":
                values = np.clip((values - 512.0) * 6.0 + 512.0, 0.0, 1023.0)
            if "heart_lost" in faults and block.signal in ("ppg", "ecg"):
                values = self._pulseless(block)
            out.append(SampleBlock(block.wearer, block.signal, block.times_s, values, block.unit, block.arrival_s, block.sampling_rate_hz))
        return out


