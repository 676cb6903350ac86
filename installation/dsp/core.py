"""The signal core: routes sample blocks to per-wearer analysers and publishes
features at dotted addresses (``p1.heart.bpm``, ``group.sync``) and events
(``p1.heart.beat``, ``p1.eda.scr``).

A channel whose quality is bad (flat, saturated, lifted off, no data) emits no
events and its quality feature falls to 0, so mappings fade the wearer out.
"""

from __future__ import annotations

import cmath
import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from installation.dsp.eda import EdaTracker
from installation.dsp.events import Event
from installation.dsp.heart import EcgBeatDetector, Polarity, PpgBeatDetector
from installation.dsp.quality import BAD_STATES, ChannelQuality, State, clean_block
from installation.dsp.rhythm import MAX_IBI_S, MIN_IBI_S, BeatSeries
from installation.sensors.base import SampleBlock

#: Features every wearer publishes, with their units.
WEARER_FEATURES: dict[str, str] = {
    "heart.bpm": "heart rate, beats per minute",
    "heart.bpm_change": "heart rate minus the wearer's baseline rate, beats per minute",
    "heart.ibi": "last normal inter-beat interval, seconds",
    "heart.rmssd": "RMSSD of normal intervals over the last minute, milliseconds",
    "heart.sdnn": "SDNN of normal intervals over the last minute, milliseconds",
    "heart.next_in": "seconds until the predicted next beat (negative: overdue)",
    "heart.quality": "heart signal quality, 0..1",
    "eda.scl": "skin-conductance level, microsiemens (sensor units if uncalibrated)",
    "eda.phasic": "phasic skin conductance (responses above the tonic level), same units",
    "eda.arousal": "arousal relative to the wearer's baseline, 0..1 (0.5 = baseline)",
    "eda.scr_rate": "skin-conductance responses in the last minute",
    "eda.quality": "skin-conductance signal quality, 0..1",
    "quality": "the wearer's best channel quality, 0..1 (0 when nothing arrives)",
}
#: Events every wearer emits.
WEARER_EVENTS: dict[str, str] = {
    "heart.beat": "a heartbeat (value: heart rate in beats per minute)",
    "eda.scr": "a skin-conductance response (value: amplitude)",
    "wearer.arrive": "a wearer's sensors start sending (or come back)",
    "wearer.leave": "a wearer's sensors stopped sending",
}
#: Group features, with their units.
GROUP_FEATURES: dict[str, str] = {
    "group.heart.bpm": "mean heart rate of wearers with a good heart signal, beats per minute",
    "group.heart.count": "wearers contributing to group.heart.bpm",
    "group.eda.arousal": "mean arousal of wearers with a good skin-conductance signal, 0..1",
    "group.eda.count": "wearers contributing to group.eda.arousal",
    "group.sync": "heart-rhythm synchrony: coherence of the wearers' beat phases over 10 s, 0..1",
    "group.sync.count": "wearers contributing to group.sync",
    "group.count": "wearers currently sending",
}


@dataclass(frozen=True, slots=True)
class CoreSettings:
    """Settings of the signal core.

    Attributes
    ----------
    baseline_s : float
        Seconds at the start (or after a re-baseline) that define each wearer's baseline.
    ppg_band_hz : tuple of float
        PPG band-pass edges in hertz.
    ppg_polarity : {"auto", "normal", "inverted"}
        PPG waveform polarity; ``auto`` detects it per wearer.
    stale_s : float
        A channel that has sent nothing for this long is in ``dropout``.
    sync_window_s : float
        Averaging time of the group synchrony, seconds.
    """

    baseline_s: float = 10.0
    ppg_band_hz: tuple[float, float] = (0.5, 5.0)
    ppg_polarity: Polarity = "auto"
    stale_s: float = 3.0
    sync_window_s: float = 10.0


@dataclass(slots=True)
class _Heart:
    detector: PpgBeatDetector | EcgBeatDetector | None  # None: the device reports beats itself
    series: BeatSeries
    quality: ChannelQuality
    last_arrival_s: float = -math.inf
    last_beat_mono_s: float = math.nan  # beat time on the monotonic clock
    baseline_bpm: list[float] = field(default_factory=list)
    baseline_until_s: float = math.inf
    noisy_until_s: float = -math.inf
    device_bpm: float = math.nan

    @property
    def learning(self) -> bool:
        return self.detector.learning if self.detector is not None else self.series.beats < 2


@dataclass(slots=True)
class _Eda:
    tracker: EdaTracker
    quality: ChannelQuality
    unit: str
    last_arrival_s: float = -math.inf
    scr_times_s: deque[float] = field(default_factory=deque)


def _still_sending(quality: ChannelQuality, last_arrival_s: float, now_s: float, stale_s: float) -> bool:
    """False (and the channel in ``dropout``) when nothing arrived for ``stale_s`` seconds."""
    if now_s - last_arrival_s > stale_s:
        quality.state, quality.quality = "dropout", 0.0
        return False
    return True


@dataclass(slots=True)
class _Wearer:
    heart: _Heart | None = None
    eda: _Eda | None = None


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
        self._sync_avg = math.nan
        self._sync_last_s = math.nan
        self._sync_count = 0
        self._present: dict[str, bool] = {}
        self._pending: list[Event] = []

    @property
    def wearers(self) -> list[str]:
        """Wearer slots seen so far, in order of first arrival."""
        return list(self._wearers)

    # ---- analysis ---------------------------------------------------------------
    def process(self, block: SampleBlock) -> list[Event]:
        """Analyse one block and return the events it completed (beats go out at once)."""
        w = self._wearers.setdefault(block.wearer, _Wearer())
        values, n_bad = clean_block(block.values)
        if block.signal in ("ppg", "ecg"):
            return self._heart_block(block, w, values, n_bad)
        if block.signal in ("ibi", "bpm"):
            return self._derived_heart_block(block, w, values)
        if block.signal == "eda":
            return self._eda_block(block, w, values, n_bad)
        self.ignored_blocks += 1
        return []

    def _heart_block(self, block: SampleBlock, w: _Wearer, values: np.ndarray, n_bad: int) -> list[Event]:
        if w.heart is None or w.heart.detector is None:
            s = self.settings
            rate = block.sampling_rate_hz
            detector: PpgBeatDetector | EcgBeatDetector = (
                PpgBeatDetector(rate, s.ppg_band_hz, s.ppg_polarity) if block.signal == "ppg" else EcgBeatDetector(rate)
            )
            w.heart = _Heart(detector, detector.series, ChannelQuality(rate))  # a waveform wins over device beats
        h = w.heart
        assert h.detector is not None
        h.last_arrival_s = block.arrival_s
        beats = h.detector.process(block.times_s, values)
        series = h.series
        now_s = float(block.times_s[-1])
        if isinstance(h.detector, EcgBeatDetector) and h.detector.excursion > 2.5:
            h.noisy_until_s = now_s + 1.5  # far more QRS energy than a heartbeat makes: movement
        if h.baseline_until_s == math.inf and not h.learning:
            h.baseline_until_s = now_s + self.settings.baseline_s
        state: State
        if h.learning:
            state = "learning"
        elif now_s - series.last_s > max(3.0, 2.5 * (series.median_ibi_s() if series.beats > 3 else 1.0)) and now_s - (
            h.baseline_until_s - self.settings.baseline_s
        ) > 3.0:
            state = "no_contact"  # data flows but no pulse: lifted off, or not on skin
        elif now_s < max(h.noisy_until_s, getattr(h.detector, "noisy_until_s", -math.inf)):
            state = "noisy"
        else:
            state = "ok"
        h.quality.judge(values, n_bad, state, series.regularity())
        events = []
        for beat in beats:
            h.last_beat_mono_s = block.arrival_s - (beat.reported_s - beat.time_s)
            if math.isfinite(beat.bpm) and beat.normal and beat.time_s <= h.baseline_until_s:
                h.baseline_bpm.append(beat.bpm)
            if h.quality.state not in BAD_STATES:
                events.append(Event(f"{block.wearer}.heart.beat", beat.bpm, beat.time_s, beat.reported_s, block.arrival_s))
        return events

    def _derived_heart_block(self, block: SampleBlock, w: _Wearer, values: np.ndarray) -> list[Event]:
        """Beats (``ibi``) and rates (``bpm``) that the device computed itself."""
        if w.heart is None:
            w.heart = _Heart(None, BeatSeries(reject_short=False), ChannelQuality(1.0, railing=False))
        h = w.heart
        if h.detector is not None:
            return []  # this wearer's own waveform is analysed: trust that
        h.last_arrival_s = block.arrival_s
        if block.signal == "bpm":
            h.device_bpm = float(values[-1])
            h.quality.state, h.quality.quality = "ok", 1.0
            return []
        events = []
        for t, ibi in zip(block.times_s.tolist(), values.tolist()):
            if not MIN_IBI_S <= ibi <= MAX_IBI_S:
                continue  # an interval no heart makes
            if h.series.beats == 0:
                h.series.add(t - ibi, t - ibi)
            beat = h.series.add(t, t)
            if beat is None:
                continue
            h.last_beat_mono_s = block.arrival_s - (float(block.times_s[-1]) - t)
            if math.isfinite(beat.bpm) and beat.normal and t <= h.baseline_until_s:
                h.baseline_bpm.append(beat.bpm)
            events.append(Event(f"{block.wearer}.heart.beat", beat.bpm, beat.time_s, beat.reported_s, block.arrival_s))
        if h.baseline_until_s == math.inf and events:
            h.baseline_until_s = float(block.times_s[0]) + self.settings.baseline_s
        h.quality.state = "ok"
        h.quality.quality = h.series.regularity() if h.series.beats >= 2 else 0.5
        return events

    def _eda_block(self, block: SampleBlock, w: _Wearer, values: np.ndarray, n_bad: int) -> list[Event]:
        if w.eda is None:
            rate = block.sampling_rate_hz
            floor = 0.01 if block.unit == "uS" else None
            w.eda = _Eda(
                EdaTracker(rate, self.settings.baseline_s, min_amplitude=floor), ChannelQuality(rate, railing=False), block.unit
            )
        e = w.eda
        e.last_arrival_s = block.arrival_s
        scrs = e.tracker.process(block.times_s, values)
        state: State = "ok"
        if e.unit == "uS":
            level = e.tracker.scl
            if level < 0.0 or level > 200.0:
                state = "implausible"
            elif level < 0.05:
                state = "no_contact"
        e.quality.judge(values, n_bad, state, 1.0)
        events = []
        for scr in scrs:
            e.scr_times_s.append(scr.peak_s)
            if e.quality.state not in BAD_STATES:
                events.append(
                    Event(f"{block.wearer}.eda.scr", scr.amplitude, scr.peak_s, scr.reported_s, block.arrival_s, scr.onset_s)
                )
        return events

    def rebaseline(self, wearer: str | None = None) -> None:
        """Learn the baseline of ``wearer`` (or everyone) again from now on."""
        for name, w in self._wearers.items():
            if wearer not in (None, name):
                continue
            if w.eda is not None:
                w.eda.tracker.rebaseline()
            if w.heart is not None:
                w.heart.baseline_bpm.clear()
                w.heart.baseline_until_s = math.inf

    # ---- results ------------------------------------------------------------------
    def states(self) -> dict[str, State]:
        """Fault state per channel: ``{"p1.heart": "ok", "p1.eda": "flat", ...}``."""
        out: dict[str, State] = {}
        for name, w in self._wearers.items():
            if w.heart is not None:
                out[f"{name}.heart"] = w.heart.quality.state
            if w.eda is not None:
                out[f"{name}.eda"] = w.eda.quality.state
        return out

    def features(self, now_s: float) -> dict[str, float]:
        """All current feature values by address; ``now_s`` is the monotonic time in seconds."""
        out: dict[str, float] = {}
        bpms: list[float] = []
        arousals: list[float] = []
        phases: list[complex] = []
        present = 0
        stale_s = self.settings.stale_s
        for name, w in self._wearers.items():
            qualities: list[float] = []
            sending = False
            if w.heart is not None:
                h = w.heart
                sending |= _still_sending(h.quality, h.last_arrival_s, now_s, stale_s)
                series = h.series
                good = h.quality.state not in BAD_STATES and h.quality.state != "learning"
                out[f"{name}.heart.bpm"] = series.bpm if math.isfinite(series.bpm) else h.device_bpm
                base = float(np.median(h.baseline_bpm)) if h.baseline_bpm else math.nan
                out[f"{name}.heart.bpm_change"] = series.bpm - base
                out[f"{name}.heart.ibi"] = series.ibi_s
                out[f"{name}.heart.rmssd"] = series.rmssd_ms()
                out[f"{name}.heart.sdnn"] = series.sdnn_ms()
                ibi = series.median_ibi_s()
                next_in = h.last_beat_mono_s + ibi - now_s if math.isfinite(ibi) else math.nan
                out[f"{name}.heart.next_in"] = next_in
                out[f"{name}.heart.quality"] = h.quality.quality
                qualities.append(h.quality.quality)
                if good and math.isfinite(out[f"{name}.heart.bpm"]):
                    bpms.append(out[f"{name}.heart.bpm"])
                if good and math.isfinite(ibi) and math.isfinite(h.last_beat_mono_s):
                    phases.append(cmath.exp(2j * math.pi * ((now_s - h.last_beat_mono_s) / ibi % 1.0)))
            if w.eda is not None:
                e = w.eda
                sending |= _still_sending(e.quality, e.last_arrival_s, now_s, stale_s)
                while e.scr_times_s and e.scr_times_s[0] < e.scr_times_s[-1] - 60.0:
                    e.scr_times_s.popleft()
                out[f"{name}.eda.scl"] = e.tracker.scl
                out[f"{name}.eda.phasic"] = e.tracker.phasic
                out[f"{name}.eda.arousal"] = e.tracker.arousal
                out[f"{name}.eda.scr_rate"] = float(len(e.scr_times_s))
                out[f"{name}.eda.quality"] = e.quality.quality
                qualities.append(e.quality.quality)
                if e.quality.state not in BAD_STATES:
                    arousals.append(e.tracker.arousal)
            out[f"{name}.quality"] = max(qualities, default=0.0)
            present += sending
            if self._present.get(name, False) != sending:
                self._present[name] = sending
                kind = "arrive" if sending else "leave"
                self._pending.append(Event(f"{name}.wearer.{kind}", 1.0, now_s, now_s, now_s))
        out["group.heart.bpm"] = float(np.mean(bpms)) if bpms else math.nan
        out["group.heart.count"] = float(len(bpms))
        out["group.eda.arousal"] = float(np.mean(arousals)) if arousals else math.nan
        out["group.eda.count"] = float(len(arousals))
        out["group.sync"] = self._sync(now_s, phases)
        out["group.sync.count"] = float(len(phases))
        out["group.count"] = float(present)
        return out

    def take_events(self) -> list[Event]:
        """Arrivals and departures noticed by :meth:`features` since the last call."""
        events, self._pending = self._pending, []
        return events

    def _sync(self, now_s: float, phases: list[complex]) -> float:
        """Kuramoto order parameter of the beat phases, averaged over ``sync_window_s``."""
        if len(phases) < 2:
            self._sync_avg, self._sync_last_s = math.nan, now_s
            return math.nan
        r = abs(sum(phases) / len(phases))
        if math.isnan(self._sync_avg) or math.isnan(self._sync_last_s):
            self._sync_avg = r
        else:
            dt = max(0.0, now_s - self._sync_last_s)
            a = 1.0 - math.exp(-dt / self.settings.sync_window_s)
            self._sync_avg += a * (r - self._sync_avg)
        self._sync_last_s = now_s
        return self._sync_avg
