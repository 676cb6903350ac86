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
#: Faults that come on over the event's duration: the sensor loosens (contact and
#: signal-to-noise fall until it is off the skin), the radio link fades (packet loss
#: rises to all), the battery drains (to empty at the end; the device then goes silent).
GradualFault = Literal["loosening", "fading_link", "battery_drain"]
GRADUAL_FAULTS: tuple[str, ...] = ("loosening", "fading_link", "battery_drain")
BATTERY_START_PERCENT = 40.0  # a scripted battery's level before it drains


class ScenarioEvent(BaseModel):
    """One scripted moment: a mood or a fault, for one wearer or all (``racing``, ``scr_storm``,
    ``irregular`` and ``heart_lost`` rehearse the welfare watch)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    at_s: float = Field(ge=0.0)
    duration_s: float = Field(10.0, gt=0.0)
    wearer: str = Field("all", pattern=r"^(all|p[1-9][0-9]*)$")
    what: Mood | Fault | WelfareMood | WelfareFault | GradualFault


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

    Gradual faults (:data:`GRADUAL_FAULTS`) come on over their event: ``loosening`` blends each
    signal into what a lifted-off sensor sends, with rising noise; ``fading_link`` loses a rising
    share of the blocks (counted in ``packets`` and ``lost``, as a source that numbers its packets
    counts them, and per wearer in ``wearer_counts``); ``battery_drain`` sends the battery level (``battery`` readings, percent, once
    a second) falling to empty, after which the wearer's device sends nothing.

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
    packets: int = field(init=False, default=0)  # blocks delivered (each block is one packet of the link)
    lost: int = field(init=False, default=0)  # blocks a fading link lost
    wearer_counts: dict[str, dict[str, int]] = field(init=False, repr=False)  # the same, per wearer ({"packets", "lost"})
    _battery_sent_s: dict[str, float] = field(init=False, repr=False)  # wearer -> time of their last battery reading

    def __post_init__(self) -> None:
        self._rng = np.random.default_rng(self.seed)
        self._held = {}
        self._battery_sent_s = {}
        self.wearer_counts = {}
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

    def gradual_at(self, wearer: str, t_s: float) -> dict[str, float]:
        """The gradual faults on ``wearer`` at ``t_s``, each with how far on it is (0..1)."""
        return {e.what: (t_s - e.at_s) / e.duration_s for e in self.scenario.events
                if e.what in GRADUAL_FAULTS and e.wearer in ("all", wearer) and e.at_s <= t_s < e.at_s + e.duration_s}

    def battery_percent(self, wearer: str, t_s: float) -> float | None:
        """The scripted battery level of ``wearer`` at ``t_s`` (None: their device sends none)."""
        drains = [e for e in self.scenario.events if e.what == "battery_drain" and e.wearer in ("all", wearer)]
        if not drains:
            return None
        level = BATTERY_START_PERCENT
        for e in sorted(drains, key=lambda e: e.at_s):
            if t_s >= e.at_s:
                level = BATTERY_START_PERCENT * max(0.0, 1.0 - (t_s - e.at_s) / e.duration_s)
        return level

    def _gradual(self, block: SampleBlock, values: np.ndarray) -> np.ndarray | None:
        """``values`` with the block's gradual faults applied; None: the block is lost."""
        t_s = float(block.times_s[-1])
        battery = self.battery_percent(block.wearer, t_s)
        if battery is not None and battery <= 0.0:
            return None  # the battery is empty: the device is off
        gradual = self.gradual_at(block.wearer, t_s)
        if "fading_link" in gradual:
            if self._rng.random() < gradual["fading_link"]:
                self.lost += 1
                self._count(block.wearer, "lost")
                return None
        if "loosening" in gradual:
            f = gradual["loosening"]
            level, noise = (300.0, 2.0) if block.signal == "ppg" else (0.02, 0.002)
            if block.signal in ("ppg", "eda"):
                # contact falls (the signal shrinks towards what an open sensor sees) while the
                # loose sensor moves on the skin (noise grows, as large as a pulse near the end)
                rattle = 180.0 * f if block.signal == "ppg" else 0.0
                values = (1.0 - f) * values + f * level + self._rng.normal(0.0, noise + rattle, values.size)
        return values

    def _count(self, wearer: str, counter: str) -> None:
        counts = self.wearer_counts.get(wearer)
        if counts is None:
            counts = self.wearer_counts[wearer] = {"packets": 0, "lost": 0}
        counts[counter] += 1

    def _battery_blocks(self, blocks: list[SampleBlock]) -> list[SampleBlock]:
        """A battery reading once a second for each wearer whose device sends one."""
        out = []
        for block in blocks:
            t_s = float(block.times_s[-1])
            if t_s - self._battery_sent_s.get(block.wearer, -1.0) < 1.0:
                continue
            level = self.battery_percent(block.wearer, t_s)
            if level is None or level <= 0.0:
                continue
            self._battery_sent_s[block.wearer] = t_s
            out.append(SampleBlock(block.wearer, "battery", np.array([t_s]), np.array([float(np.ceil(level))]), "%",
                                   block.arrival_s, 1.0))
        return out

    def read(self, timeout_s: float) -> list[SampleBlock]:
        out = []
        for block in self.audience.read(timeout_s):
            faults = self.faults_at(block.wearer, float(block.times_s[-1]))
            if faults & {"dropout", "wifi_gap"}:
                continue
            values = self._gradual(block, block.values.astype(float))
            if values is None:
                continue
            self.packets += 1
            self._count(block.wearer, "packets")
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
        return out + self._battery_blocks(out)


