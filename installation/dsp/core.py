"""The signal core: routes sample blocks to per-wearer analysers and publishes
features at dotted addresses (``p1.heart.bpm``, ``group.eda.arousal``) and events
(``p1.heart.beat``)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from installation.dsp.eda import EdaTracker
from installation.dsp.events import Event
from installation.dsp.heart import PpgBeatDetector
from installation.sensors.base import SampleBlock

#: Features every wearer publishes, with their units.
WEARER_FEATURES: dict[str, str] = {
    "heart.bpm": "heart rate, beats per minute",
    "heart.ibi": "last plausible inter-beat interval, seconds",
    "eda.scl": "skin-conductance level, microsiemens (sensor units if uncalibrated)",
    "eda.phasic": "phasic skin conductance above the slow tonic level, same units",
    "eda.arousal": "arousal relative to the wearer's baseline, 0..1 (0.5 = baseline)",
}
#: Events every wearer emits.
WEARER_EVENTS: dict[str, str] = {
    "heart.beat": "a heartbeat (value: heart rate in beats per minute)",
}
#: Group features, with their units.
GROUP_FEATURES: dict[str, str] = {
    "group.heart.bpm": "mean heart rate of wearers with a known rate, beats per minute",
    "group.eda.arousal": "mean arousal of wearers with skin conductance, 0..1",
    "group.count": "wearers currently sending",
}


@dataclass(frozen=True, slots=True)
class CoreSettings:
    """Settings of the signal core.

    Attributes
    ----------
    baseline_s : float
        Seconds at the start of each wearer's signal that define their baseline.
    ppg_band_hz : tuple of float
        PPG band-pass edges in hertz.
    ppg_inverted : bool
        True when the PPG sensors deliver an inverted waveform.
    stale_s : float
        A wearer who has sent nothing for this long no longer counts in the group.
    """

    baseline_s: float = 10.0
    ppg_band_hz: tuple[float, float] = (0.5, 5.0)
    ppg_inverted: bool = False
    stale_s: float = 3.0


@dataclass(slots=True)
class _Wearer:
    heart: PpgBeatDetector | None = None
    eda: EdaTracker | None = None
    last_arrival_s: float = -math.inf
    beat_times_s: list[float] = field(default_factory=list)


class SignalCore:
    """Per-wearer analysis of incoming blocks, and group features on demand.

    Parameters
    ----------
    settings : CoreSettings
        Core settings.
    """

    def __init__(self, settings: CoreSettings | None = None) -> None:
        self.settings = settings or CoreSettings()
        self._wearers: dict[str, _Wearer] = {}
        self.ignored_blocks = 0

    @property
    def wearers(self) -> list[str]:
        """Wearer slots seen so far, in order of first arrival."""
        return list(self._wearers)

    def process(self, block: SampleBlock) -> list[Event]:
        """Analyse one block and return the events it completed (beats go out at once)."""
        w = self._wearers.setdefault(block.wearer, _Wearer())
        w.last_arrival_s = block.arrival_s
        if block.signal == "ppg":
            if w.heart is None:
                s = self.settings
                w.heart = PpgBeatDetector(block.sampling_rate_hz, s.ppg_band_hz, s.ppg_inverted)
            return [
                Event(f"{block.wearer}.heart.beat", beat.bpm, beat.time_s, beat.reported_s, block.arrival_s)
                for beat in w.heart.process(block.times_s, block.values)
            ]
        if block.signal == "eda":
            if w.eda is None:
                w.eda = EdaTracker(block.sampling_rate_hz, self.settings.baseline_s)
            w.eda.process(block.times_s, block.values)
            return []
        self.ignored_blocks += 1
        return []

    def beat_count(self, wearer: str) -> int:
        """Number of beats detected so far for ``wearer``."""
        w = self._wearers.get(wearer)
        return len(w.heart.beats) if w and w.heart else 0

    def beats_s(self, wearer: str) -> np.ndarray:
        """Detected beat times in seconds (source clock) for ``wearer``."""
        w = self._wearers.get(wearer)
        return np.array([b.time_s for b in w.heart.beats]) if w and w.heart else np.empty(0)

    def features(self, now_s: float) -> dict[str, float]:
        """All current feature values by address; ``now_s`` is the monotonic time in seconds."""
        out: dict[str, float] = {}
        bpms: list[float] = []
        arousals: list[float] = []
        present = 0
        for name, w in self._wearers.items():
            fresh = now_s - w.last_arrival_s <= self.settings.stale_s
            present += fresh
            if w.heart is not None:
                out[f"{name}.heart.bpm"] = w.heart.bpm
                ibis = w.heart._ibis_s
                out[f"{name}.heart.ibi"] = ibis[-1] if ibis else float("nan")
                if fresh and math.isfinite(w.heart.bpm):
                    bpms.append(w.heart.bpm)
            if w.eda is not None:
                out[f"{name}.eda.scl"] = w.eda.scl
                out[f"{name}.eda.phasic"] = w.eda.phasic
                out[f"{name}.eda.arousal"] = w.eda.arousal
                if fresh:
                    arousals.append(w.eda.arousal)
        out["group.heart.bpm"] = float(np.mean(bpms)) if bpms else float("nan")
        out["group.eda.arousal"] = float(np.mean(arousals)) if arousals else float("nan")
        out["group.count"] = float(present)
        return out
