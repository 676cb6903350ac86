"""The signal core: routes sample blocks to per-wearer analysers and publishes
features at dotted addresses (``p1.heart.bpm``, ``group.sync``) and events
(``p1.heart.beat``, ``p1.eda.scr``).

A channel whose quality is bad (flat, saturated, lifted off, no data) emits no
events and its quality feature falls to 0, so mappings fade the wearer out.

A wearer with an accelerometer (``acc`` or ``acc_x``/``acc_y``/``acc_z`` blocks) also
gets ``pN.motion.level``; while they move, their heart quality is lowered and PPG
peaks that follow the movement are not beats (:mod:`installation.dsp.motion`).
Without one, nothing of that runs.
"""

from __future__ import annotations

import cmath
import math
import time
from collections import deque
from dataclasses import dataclass, field, replace

import numpy as np

from installation.addresses import WEARER_RE, wearer_pairs
from installation.dsp.bank import Batch
from installation.dsp.eda import E_AROUSAL, E_LAST_ARRIVAL_S, E_PHASIC, E_SCL, EdaBank, Scr
from installation.dsp.events import Event
from installation.dsp.heart import H_LAST_ARRIVAL_S, H_TYPICAL, HeartBank, Polarity
from installation.dsp.motion import ACC_SIGNALS, VETO_LEVEL, MotionBank
from installation.dsp.quality import BAD_STATES, Q_QUALITY, Q_STATE, STATES, State, clean_block
from installation.dsp.rhythm import MAX_IBI_S, MIN_IBI_S, Beat, BeatSeries, median
from installation.sensors.base import SampleBlock

#: The bank number of accelerometer channels in the core's routes.
MOTION_BANK = 3
#: Share of the heart quality taken away at full motion.
MOTION_QUALITY_DROP = 0.6


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


def compile_kernels() -> float:
    """Compile every kernel of the core (or load them from the disk cache); return the seconds it took.

    The first run on a machine compiles for several seconds; later runs load the
    cache in a fraction of a second. Call it before samples flow, so that the
    first blocks of a show are not held up.
    """
    started = time.perf_counter()
    t = np.arange(0.0, 0.1, 0.01)
    x = np.sin(2 * np.pi * t)
    SignalCore().process_many([SampleBlock(f"p{i}", signal, t, x + 5.0, unit, 0.0, 100.0)  # type: ignore[arg-type]
                               for i, (signal, unit) in enumerate((("ppg", "adc"), ("ecg", "mV"), ("eda", "uS")))])
    return time.perf_counter() - started


class _Heart:
    """A wearer's heart: a row of a :class:`HeartBank` (a waveform), or beats and rates the device reports."""

    __slots__ = ("bank", "row", "series", "last_beat_mono_s", "baseline_bpm", "device_bpm", "state", "quality",
                 "last_arrival_s", "baseline_until_s", "_baseline_median")

    def __init__(self, bank: HeartBank | None, row: int, series: BeatSeries) -> None:
        self.bank, self.row, self.series = bank, row, series
        self.last_beat_mono_s = math.nan  # beat time on the monotonic clock
        self.baseline_bpm: list[float] = []  # change it through add_baseline / clear_baseline
        self._baseline_median: float | None = math.nan
        self.device_bpm = math.nan
        # Device-reported beats only (a bank keeps these for its rows):
        self.state: State = "learning"
        self.quality = 0.0
        self.last_arrival_s = -math.inf
        self.baseline_until_s = math.inf

    def add_baseline(self, bpm: float) -> None:
        """A normal beat's rate within the baseline window, beats per minute."""
        self.baseline_bpm.append(bpm)
        self._baseline_median = None

    def clear_baseline(self) -> None:
        """Learn the baseline again (re-baseline)."""
        self.baseline_bpm.clear()
        self._baseline_median = math.nan

    def baseline(self) -> float:
        """The baseline heart rate: the median of the baseline beats' rates, bpm (NaN before any).

        Worked out when a beat was added, not at every feature tick: features are read
        a hundred times a second, baseline beats come about once a second for ten seconds.
        """
        if self._baseline_median is None:
            self._baseline_median = median(self.baseline_bpm)
        return self._baseline_median


@dataclass(slots=True)
class _Eda:
    row: int
    scr_times_s: deque[float] = field(default_factory=deque)


@dataclass(slots=True)
class _Wearer:
    heart: _Heart | None = None
    eda: _Eda | None = None
    motion_arrival_s: float | None = None  # newest accelerometer block's arrival; None without one
    battery_percent: float = math.nan  # the device's last battery reading; NaN: it sends none


def beat_events(wearer: str, beat: Beat, arrival_s: float) -> list[Event]:
    """A beat's events: the beat itself and, when the rhythm is known, the predicted next one.

    The prediction's ``time_s`` is the predicted beat time (source clock), later than its
    ``reported_s``; a sink schedules it that far ahead of the report.
    """
    events = [Event(f"{wearer}.heart.beat", beat.bpm, beat.time_s, beat.reported_s, arrival_s)]
    if beat.normal and math.isfinite(beat.next_s) and beat.next_s > beat.reported_s:
        events.append(Event(f"{wearer}.heart.predicted", beat.bpm, beat.next_s, beat.reported_s, arrival_s))
    return events


class SignalCore:
    """Per-wearer analysis of incoming blocks, and group features on demand.

    Blocks are analysed a batch at a time (:meth:`process_many`): every channel
    of one kind is a row of a bank, and one compiled call analyses the new
    blocks of all of them, so dozens of wearers cost little more than one.

    Parameters
    ----------
    settings : CoreSettings
        Core settings.
    """

    def __init__(self, settings: CoreSettings | None = None) -> None:
        self.settings = settings or CoreSettings()
        s = self.settings
        self._banks: tuple[HeartBank, HeartBank, EdaBank] = (
            HeartBank("ppg", s.baseline_s, s.ppg_band_hz, s.ppg_polarity, number=0),
            HeartBank("ecg", s.baseline_s, number=1),
            EdaBank(s.baseline_s, number=2),
        )
        self._eda = self._banks[2]
        self._wearers: dict[str, _Wearer] = {}
        self._routes: dict[tuple[str, str], tuple[int, int]] = {}  # (wearer, signal) -> (bank number, row)
        self.ignored_blocks = 0
        self._sync_avg = math.nan
        self._sync_last_s = math.nan
        self._present: dict[str, bool] = {}
        self._pair_names: tuple[str, ...] = ()
        self._pair_keys: list[str] = []
        self._pair_index: tuple[np.ndarray, np.ndarray] = (np.zeros(0, int), np.zeros(0, int))
        self._pair_avg = np.zeros(0, complex)
        self._pair_last_s = math.nan
        self._pair_order: list[str] = []
        self._pending: list[Event] = []
        self._motion = MotionBank()
        self._heart_wearers: tuple[list[str], list[str]] = ([], [])  # wearer of each row of the PPG and ECG banks

    @property
    def wearers(self) -> list[str]:
        """Wearer slots seen so far, in order of first arrival."""
        return list(self._wearers)

    # ---- analysis ---------------------------------------------------------------
    def process(self, block: SampleBlock) -> list[Event]:
        """Analyse one block and return the events it completed (beats go out at once)."""
        return self.process_many([block])

    def process_many(self, blocks: list[SampleBlock]) -> list[Event]:
        """Analyse the blocks that arrived (in arrival order); return the events they completed.

        One compiled call per kind of channel analyses all of them: the batch
        costs little more than its largest block.
        """
        events: list[Event] = []
        routes = self._routes
        rows: list[int] = []
        banks: list[int] = []
        routed: list[SampleBlock] = []
        used = [False, False, False]
        motion: list[tuple[str, int, np.ndarray, np.ndarray]] = []
        for block in blocks:  # the hot loop: a look-up and three appends a block
            route = routes.get((block.wearer, block.signal))
            if route is None:
                route = self._open(block)
                if route is None:
                    if block.signal in ("ibi", "bpm") and block.values.size:
                        events += self._derived_heart_block(block)
                    elif block.signal == "battery" and block.values.size:
                        self._wearers.setdefault(block.wearer, _Wearer()).battery_percent = float(block.values[-1])
                    else:
                        self.ignored_blocks += 1
                    continue
            if route[0] == MOTION_BANK:
                motion.append((block.wearer, route[1], block.times_s, block.values))
                self._wearers[block.wearer].motion_arrival_s = block.arrival_s
                continue
            banks.append(route[0])
            rows.append(route[1])
            routed.append(block)
            used[route[0]] = True
        if motion:  # before the hearts: a candidate beat is judged against the movement up to now
            self._motion.process(motion)
        if not routed:
            return events
        batch = Batch(rows, banks, [b.times_s for b in routed], [b.values for b in routed], [b.arrival_s for b in routed])
        for bank, in_use in zip(self._banks, used):
            if not in_use:
                continue
            if isinstance(bank, EdaBank):
                events += self._eda_events(bank, rows, routed, bank.process(batch))
            else:
                events += self._heart_events(bank, rows, routed, bank.process(batch))
        return events

    def finish(self) -> list[Event]:
        """The end of the signals (a file's last sample): the beats still pending that would have
        been confirmed, as events marked ``at_end`` (see :meth:`HeartBank.finish`)."""
        events: list[Event] = []
        for bank in self._banks:
            if not isinstance(bank, HeartBank):
                continue
            for row, beat in bank.finish():
                wearer = self._heart_wearers[bank.number][row]
                if self._heart_state(wearer, bank.quality.state(row)) in BAD_STATES:
                    continue
                events += [replace(e, at_end=True) for e in beat_events(wearer, beat, beat.reported_s)
                           if e.address.endswith(".heart.beat")]
        return events

    def _open(self, block: SampleBlock) -> tuple[int, int] | None:
        """Start analysing a new channel: its bank's number and its row; None for blocks no bank analyses."""
        if not block.values.size:
            return None
        w = self._wearers.setdefault(block.wearer, _Wearer())
        first = float(block.values[0])
        if block.signal in ("ppg", "ecg"):
            if w.heart is not None and w.heart.bank is not None:
                return None  # a wearer's heart is one waveform: the first one that came
            heart = self._banks[0 if block.signal == "ppg" else 1]
            assert isinstance(heart, HeartBank)
            row = heart.add(block.sampling_rate_hz, first)
            w.heart = _Heart(heart, row, heart.series[row])  # a waveform wins over device beats
            route = (heart.number, row)
            self._heart_wearers[heart.number].append(block.wearer)
        elif block.signal == "eda":
            row = self._eda.add(block.sampling_rate_hz, first, block.unit)
            w.eda = _Eda(row)
            route = (self._eda.number, row)
        elif block.signal in ACC_SIGNALS:
            row = self._motion.add(block.wearer, block.signal, block.sampling_rate_hz, first)  # type: ignore[arg-type]
            route = (MOTION_BANK, row)
            self._banks[0].veto = self._follows_movement
        else:
            return None
        self._routes[(block.wearer, block.signal)] = route
        return route

    def _follows_movement(self, row: int, time_s: float, reported_s: float) -> bool:
        """The PPG bank's veto: True for a candidate beat that follows its wearer's movement."""
        wearer = self._heart_wearers[0][row]
        if self._wearers[wearer].motion_arrival_s is None:
            return False
        series = self._banks[0].series[row]
        return self._motion.follows_movement(wearer, time_s, series.median_ibi_s(), series.last_s)

    def motion_rejected(self, wearer: str) -> int:
        """PPG candidate beats of ``wearer`` rejected so far as following their movement."""
        return self._motion.rejected(wearer)

    def _heart_events(self, bank: HeartBank, rows: list[int], blocks: list[SampleBlock], beats: list[tuple[int, Beat]]) -> list[Event]:
        events = []
        for index, beat in beats:
            row, block = rows[index], blocks[index]
            h = self._wearers[block.wearer].heart
            assert h is not None
            h.last_beat_mono_s = block.arrival_s - (beat.reported_s - beat.time_s)
            if math.isfinite(beat.bpm) and beat.normal and beat.time_s <= bank.baseline_until_s(row):
                h.add_baseline(beat.bpm)
            if self._heart_state(block.wearer, bank.quality.state(row)) not in BAD_STATES:
                events += beat_events(block.wearer, beat, block.arrival_s)
        return events

    def _heart_state(self, wearer: str, state: State) -> State:
        """A heart channel's state, told what the wearer's accelerometer says: ``noisy`` while they
        move, and not ``no_contact`` while the movement's peaks mask the beats."""
        w = self._wearers[wearer]
        if w.motion_arrival_s is None or w.heart is None or w.heart.bank is None:
            return state
        if state == "no_contact" and self._motion.masking(wearer, self._motion.last_time_s(wearer)):
            return "noisy"
        if state == "ok" and self._motion.level(wearer) >= VETO_LEVEL:
            return "noisy"
        return state

    def _eda_events(self, bank: EdaBank, rows: list[int], blocks: list[SampleBlock], scrs: list[tuple[int, Scr]]) -> list[Event]:
        events = []
        for index, scr in scrs:
            row, block = rows[index], blocks[index]
            e = self._wearers[block.wearer].eda
            assert e is not None
            e.scr_times_s.append(scr.peak_s)
            if bank.quality.state(row) not in BAD_STATES:
                events.append(Event(f"{block.wearer}.eda.scr", scr.amplitude, scr.peak_s, scr.reported_s, block.arrival_s, scr.onset_s))
        return events

    def _derived_heart_block(self, block: SampleBlock) -> list[Event]:
        """Beats (``ibi``) and rates (``bpm``) that the device computed itself."""
        w = self._wearers.setdefault(block.wearer, _Wearer())
        if w.heart is None:
            w.heart = _Heart(None, -1, BeatSeries(reject_short=False))
        h = w.heart
        if h.bank is not None:
            return []  # this wearer's own waveform is analysed: trust that
        values, _ = clean_block(block.values)
        h.last_arrival_s = block.arrival_s
        if block.signal == "bpm":
            h.device_bpm = float(values[-1])
            h.state, h.quality = "ok", 1.0
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
                h.add_baseline(beat.bpm)
            events += beat_events(block.wearer, beat, block.arrival_s)
        if h.baseline_until_s == math.inf and events:
            h.baseline_until_s = float(block.times_s[0]) + self.settings.baseline_s
        h.state = "ok"
        h.quality = h.series.regularity() if h.series.beats >= 2 else 0.5
        return events

    def rebaseline(self, wearer: str | None = None) -> None:
        """Learn the baseline of ``wearer`` (or everyone) again from now on."""
        for name, w in self._wearers.items():
            if wearer not in (None, name):
                continue
            if w.eda is not None:
                self._eda.rebaseline(w.eda.row)
            if w.heart is not None:
                w.heart.clear_baseline()
                w.heart.baseline_until_s = math.inf
                if w.heart.bank is not None:
                    w.heart.bank.rebaseline(w.heart.row)

    # ---- results ------------------------------------------------------------------
    def states(self) -> dict[str, State]:
        """Fault state per channel: ``{"p1.heart": "ok", "p1.eda": "flat", ...}``."""
        out: dict[str, State] = {}
        for name, w in self._wearers.items():
            if w.heart is not None:
                h = w.heart
                out[f"{name}.heart"] = h.state if h.bank is None else self._heart_state(name, h.bank.quality.state(h.row))
            if w.eda is not None:
                out[f"{name}.eda"] = self._eda.quality.state(w.eda.row)
        return out

    def last_arrival_s(self) -> dict[str, float]:
        """Monotonic arrival time (seconds) of each wearer's newest block, any signal; -inf before any."""
        out: dict[str, float] = {}
        for name, w in self._wearers.items():
            times = [-math.inf]
            if w.heart is not None:
                h = w.heart
                times.append(h.last_arrival_s if h.bank is None else float(h.bank.state[h.row, H_LAST_ARRIVAL_S]))
            if w.eda is not None:
                times.append(float(self._eda.state[w.eda.row, E_LAST_ARRIVAL_S]))
            out[name] = max(times)
        return out

    def features(self, now_s: float) -> dict[str, float]:
        """All current feature values by address; ``now_s`` is the monotonic time in seconds."""
        out: dict[str, float] = {}
        bpms: list[float] = []
        arousals: list[float] = []
        phases: list[complex] = []
        wearer_phase: dict[str, complex] = {}
        present = 0
        stale_s = self.settings.stale_s
        # One copy of each bank's state per call: reading Python lists is far cheaper than numpy cells.
        rows = {bank: (bank.state.tolist(), bank.quality.rows.tolist()) for bank in self._banks}
        eda_rows, eda_quality = rows[self._eda]
        for name, w in self._wearers.items():
            qualities: list[float] = []
            sending = False
            if w.heart is not None:
                h = w.heart
                if h.bank is None:
                    last_arrival_s, state, quality = h.last_arrival_s, h.state, h.quality
                    pulse_size = math.nan
                else:
                    heart_rows, heart_quality = rows[h.bank]
                    last_arrival_s = heart_rows[h.row][H_LAST_ARRIVAL_S]
                    pulse_size = heart_rows[h.row][H_TYPICAL] or math.nan
                    state, quality = STATES[int(heart_quality[h.row][Q_STATE])], heart_quality[h.row][Q_QUALITY]
                if w.motion_arrival_s is not None and now_s - w.motion_arrival_s <= stale_s:
                    quality *= 1.0 - MOTION_QUALITY_DROP * self._motion.level(name)
                    if h.bank is not None:
                        state = self._heart_state(name, state)
                if now_s - last_arrival_s > stale_s:
                    state, quality = "dropout", 0.0
                    if h.bank is None:
                        h.state, h.quality = state, quality
                    else:
                        h.bank.quality.set_dropout(h.row)
                else:
                    sending = True
                series = h.series
                good = state not in BAD_STATES and state != "learning"
                bpm = series.bpm if math.isfinite(series.bpm) else h.device_bpm
                out[f"{name}.heart.bpm"] = bpm
                base = h.baseline()
                out[f"{name}.heart.bpm_change"] = series.bpm - base
                out[f"{name}.heart.ibi"] = series.ibi_s
                out[f"{name}.heart.rmssd"] = series.rmssd_ms()
                out[f"{name}.heart.sdnn"] = series.sdnn_ms()
                ibi = series.median_ibi_s()
                next_in = h.last_beat_mono_s + ibi - now_s if math.isfinite(ibi) else math.nan
                out[f"{name}.heart.next_in"] = next_in
                out[f"{name}.heart.quality"] = quality
                out[f"{name}.heart.irregular"] = 1.0 - series.regularity() if series.beats else math.nan
                out[f"{name}.heart.pulse_size"] = pulse_size
                qualities.append(quality)
                if good and math.isfinite(bpm):
                    bpms.append(bpm)
                if good and math.isfinite(ibi) and math.isfinite(h.last_beat_mono_s):
                    phases.append(cmath.exp(2j * math.pi * ((now_s - h.last_beat_mono_s) / ibi % 1.0)))
                    wearer_phase[name] = phases[-1]
            if w.eda is not None:
                e = w.eda
                row, quality_row = eda_rows[e.row], eda_quality[e.row]
                state, quality = STATES[int(quality_row[Q_STATE])], quality_row[Q_QUALITY]
                if now_s - row[E_LAST_ARRIVAL_S] > stale_s:
                    state, quality = "dropout", 0.0
                    self._eda.quality.set_dropout(e.row)
                else:
                    sending = True
                while e.scr_times_s and e.scr_times_s[0] < e.scr_times_s[-1] - 60.0:
                    e.scr_times_s.popleft()
                out[f"{name}.eda.scl"] = row[E_SCL]
                out[f"{name}.eda.phasic"] = row[E_PHASIC]
                out[f"{name}.eda.arousal"] = row[E_AROUSAL]
                out[f"{name}.eda.scr_rate"] = float(len(e.scr_times_s))
                out[f"{name}.eda.quality"] = quality
                qualities.append(quality)
                if state not in BAD_STATES:
                    arousals.append(row[E_AROUSAL])
            if w.motion_arrival_s is not None:
                fresh = now_s - w.motion_arrival_s <= stale_s
                out[f"{name}.motion.level"] = self._motion.level(name) if fresh else 0.0
            out[f"{name}.quality"] = max(qualities, default=0.0)
            if not math.isnan(w.battery_percent):
                out[f"{name}.device.battery"] = w.battery_percent
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
        self._pair_sync(now_s, wearer_phase, out)
        return out

    def _pair_sync(self, now_s: float, phase: dict[str, complex], out: dict[str, float]) -> None:
        """``group.sync.pA.pB`` for every two wearers: the phase-locking value of their beat phases,
        |mean of exp(i (phase_A - phase_B))| over ``sync_window_s`` (one-pole), 0..1.

        A wearer whose heart is not heard contributes nothing, so their pairs fade to 0.
        """
        names = tuple(w for w in self._wearers if WEARER_RE.fullmatch(w) and w != "p*")
        if names != self._pair_names:  # a new wearer: grow the table, keep the pairs already learnt
            old = dict(zip(self._pair_keys, self._pair_avg.tolist()))
            pairs = wearer_pairs(list(names))
            self._pair_order = sorted(names, key=lambda w: int(w[1:]))
            order = {w: i for i, w in enumerate(self._pair_order)}
            self._pair_names = names
            self._pair_keys = [f"group.sync.{a}.{b}" for a, b in pairs]
            self._pair_index = (np.array([order[a] for a, _ in pairs], int), np.array([order[b] for _, b in pairs], int))
            self._pair_avg = np.array([old.get(k, 0j) for k in self._pair_keys], complex)
        if not self._pair_keys:
            return
        z = np.array([phase.get(w, 0j) for w in self._pair_order], complex)
        ia, ib = self._pair_index
        inst = z[ia] * np.conj(z[ib])
        dt = 0.0 if math.isnan(self._pair_last_s) else max(0.0, now_s - self._pair_last_s)
        self._pair_last_s = now_s
        self._pair_avg += (1.0 - math.exp(-dt / self.settings.sync_window_s)) * (inst - self._pair_avg)
        out.update(zip(self._pair_keys, np.abs(self._pair_avg).tolist()))

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
