"""The welfare watch: per wearer, against their own baseline, conditions a steward should look at.

Four rules (``[care.welfare]`` in the show file; thresholds there, defaults explained in the README):

* ``care.racing_heart``: the heart rate more than ``above_baseline_bpm`` above the wearer's own
  baseline, or above ``above_bpm``, with a good heart signal throughout ``for_s``;
* ``care.scr_storm``: skin-conductance responses in the last minute at least ``factor`` times the
  wearer's own rate and at least ``min_per_min``, held for ``for_s``;
* ``care.irregular_rhythm``: over the last ``window_s`` of good heart signal, the share of beats
  whose interval was implausible or out of the rhythm (ectopic, missed) at least ``min_share`` and
  ``above_baseline`` above the wearer's own share;
* ``care.heart_lost``: a heart that had been heard gives no rate (its channel lost, flat, off the
  skin) for ``for_s`` while the skin-conductance sensor says it is on the skin (its state good and
  its level at least :data:`SKIN_ON_FRACTION` of the wearer's own).

A rule that holds raises a notice on the :class:`~installation.care.board.NoticeBoard`; it is
cleared once the condition has not held for :data:`CLEAR_AFTER_S`. Pure bookkeeping on the
features of a tick and the SCR events: no threads, no I/O; the pipeline feeds it. Not medical
advice: it points a steward at a person, it diagnoses nothing.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Mapping

from installation.care.board import NoticeBoard
from installation.config import CareWelfareConfig

#: How often the rules are judged, seconds (they are about tens of seconds; features come 100 times a second).
CHECK_EVERY_S = 1.0
#: A notice ends once its condition has not held for this long, seconds (no flicker at a threshold).
CLEAR_AFTER_S = 10.0
#: Skin-conductance responses are counted over this window, seconds (a rate per minute).
SCR_WINDOW_S = 60.0
#: The skin sensor is on the skin while its level is at least this fraction of the wearer's own (a
#: tonic level drifts by tens of per cent over a show; an electrode off the skin reads near zero).
SKIN_ON_FRACTION = 0.3
#: Channel states in which a channel says nothing about the body.
LOST_STATES = frozenset({"implausible", "no_contact", "saturated", "flat", "dropout"})

RACING_HEART = "care.racing_heart"
SCR_STORM = "care.scr_storm"
IRREGULAR_RHYTHM = "care.irregular_rhythm"
HEART_LOST = "care.heart_lost"
RULES = (RACING_HEART, SCR_STORM, IRREGULAR_RHYTHM, HEART_LOST)


@dataclass(slots=True)
class _Baseline:
    """What a wearer's first ``baseline_s`` seconds of good signal looked like."""

    heart_s: float = 0.0  # seconds of good heart signal learned from
    bpm: list[float] = field(default_factory=list)
    irregular: list[float] = field(default_factory=list)
    eda_s: float = 0.0  # seconds of good skin signal learned from
    scrs: int = 0  # responses during them
    scl: list[float] = field(default_factory=list)  # skin-conductance levels during them


@dataclass(slots=True)
class _Wearer:
    base: _Baseline = field(default_factory=_Baseline)
    heart_ready: bool = False
    eda_ready: bool = False
    bpm_base: float = math.nan
    irregular_base: float = math.nan
    scr_base_per_min: float = math.nan
    scl_base: float = math.nan  # the skin-conductance level of the baseline (so far, while learning)
    heart_heard: bool = False  # the heart has been good once: losing it means something
    eda_good: bool = False  # at the last check (SCRs then count towards the baseline)
    scr_times_s: deque[float] = field(default_factory=deque)
    irregular_window: deque[tuple[float, float]] = field(default_factory=deque)  # (time_s, share) while good
    irregular_sum: float = 0.0  # of the window's shares
    keys: tuple[str, ...] = ()  # its feature and channel addresses, made once
    raised: set[str] = field(default_factory=set)  # rules whose notice this watch raised and has not cleared
    held_since_s: dict[str, float] = field(default_factory=dict)  # rule -> when its condition began to hold
    failing_since_s: dict[str, float] = field(default_factory=dict)  # rule -> when it stopped holding (standing)


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2.0


class WelfareWatch:
    """Every wearer's baselines and rules, judged once a :data:`CHECK_EVERY_S`.

    Parameters
    ----------
    settings : CareWelfareConfig
        ``[care.welfare]``: the rules' thresholds and the baseline's length.
    board : NoticeBoard
        Where notices are raised and cleared.
    """

    def __init__(self, settings: CareWelfareConfig, board: NoticeBoard) -> None:
        self.settings = settings
        self.board = board
        self._wearers: dict[str, _Wearer] = {}
        self._last_check_s = -math.inf

    def _wearer(self, name: str) -> _Wearer:
        w = self._wearers.get(name)
        if w is None:
            w = self._wearers[name] = _Wearer()
        return w

    # ---- inputs --------------------------------------------------------------------------
    def scr(self, wearer: str, time_s: float) -> None:
        """A skin-conductance response of ``wearer`` at ``time_s`` (the show's clock, seconds)."""
        w = self._wearer(wearer)
        w.scr_times_s.append(time_s)
        if not w.eda_ready and w.eda_good:
            w.base.scrs += 1

    def rebaseline(self, wearer: str | None = None) -> None:
        """Learn the baseline of ``wearer`` (or everyone) again from now on; standing notices stay."""
        for name, w in self._wearers.items():
            if wearer in (None, name):
                w.base = _Baseline()
                w.heart_ready = w.eda_ready = False
                w.bpm_base = w.irregular_base = w.scr_base_per_min = w.scl_base = math.nan

    def baseline(self, wearer: str) -> dict[str, float]:
        """The wearer's baselines: ``bpm``, ``irregular`` (share 0..1), ``scr_per_min`` (NaN while learning)."""
        w = self._wearer(wearer)
        return {"bpm": w.bpm_base, "irregular": w.irregular_base, "scr_per_min": w.scr_base_per_min}

    def update(self, now_s: float, features: Mapping[str, float], states: Mapping[str, str]) -> None:
        """Judge every wearer's rules, at most once a :data:`CHECK_EVERY_S`.

        Parameters
        ----------
        now_s : float
            The show's clock, seconds.
        features : mapping
            The core's features by address (``p1.heart.bpm``, ``p1.heart.irregular``, ``p1.eda.quality``).
        states : mapping
            Channel states by channel (``p1.heart`` -> ``ok``, ``p1.eda`` -> ``no_contact``).
        """
        if now_s - self._last_check_s < CHECK_EVERY_S:
            return
        dt_s = min(now_s - self._last_check_s, 5.0 * CHECK_EVERY_S) if math.isfinite(self._last_check_s) else CHECK_EVERY_S
        self._last_check_s = now_s
        names = {channel.partition(".")[0] for channel in states} | set(self._wearers)
        for name in sorted(names):
            self._judge(name, self._wearer(name), now_s, dt_s, features, states)

    # ---- the rules -----------------------------------------------------------------------
    def _judge(self, name: str, w: _Wearer, now_s: float, dt_s: float,
               features: Mapping[str, float], states: Mapping[str, str]) -> None:
        s = self.settings
        if not w.keys:
            w.keys = (f"{name}.heart", f"{name}.eda", f"{name}.heart.bpm", f"{name}.heart.irregular", f"{name}.eda.scl")
        heart_key, eda_key, bpm_key, irregular_key, scl_key = w.keys
        heart_state = states.get(heart_key)
        eda_state = states.get(eda_key)
        heart_good = heart_state == "ok"
        eda_good = eda_state == "ok"
        w.eda_good = eda_good
        bpm = features.get(bpm_key, math.nan)
        irregular = features.get(irregular_key, math.nan)
        scl = features.get(scl_key, math.nan)
        heart_good = heart_good and math.isfinite(bpm)
        w.heart_heard = w.heart_heard or heart_good
        while w.scr_times_s and w.scr_times_s[0] <= now_s - SCR_WINDOW_S:
            w.scr_times_s.popleft()
        self._learn(w, heart_good, eda_good, bpm, irregular, scl, dt_s)

        # Racing heart: the rate far above the wearer's own, or above an absolute bound.
        rule = s.racing_heart
        racing = False
        detail = ""
        if rule.enabled and heart_good:
            over = bpm - w.bpm_base
            racing = bpm > rule.above_bpm or (w.heart_ready and over > rule.above_baseline_bpm)
            if racing:  # (words only when they may be needed: this runs for every wearer each second)
                own = f" ({over:.0f} above their own {w.bpm_base:.0f})" if w.heart_ready else ""
                detail = f"{name}: heart racing, {bpm:.0f} bpm{own} for {rule.for_s:.0f} s"
        self._hold(name, w, RACING_HEART, racing, rule.for_s, now_s, detail)

        # SCR storm: responses in the last minute far above the wearer's own rate.
        storm_rule = s.scr_storm
        storm = False
        detail = ""
        if storm_rule.enabled and eda_good:
            count = len(w.scr_times_s)
            need = storm_rule.min_per_min
            if w.eda_ready:
                need = max(need, storm_rule.factor * w.scr_base_per_min)
            storm = count >= need
            if storm:
                own = f" (their own rate {w.scr_base_per_min:.1f} a minute)" if w.eda_ready else ""
                detail = f"{name}: skin-response storm, {count} in the last minute{own}, for {storm_rule.for_s:.0f} s"
        self._hold(name, w, SCR_STORM, storm, storm_rule.for_s, now_s, detail)

        # Irregular rhythm: the share of odd intervals over the last window of good heart signal.
        irr_rule = s.irregular_rhythm
        window = w.irregular_window
        if heart_good and math.isfinite(irregular):
            window.append((now_s, irregular))
            w.irregular_sum += irregular
        while window and window[0][0] <= now_s - irr_rule.window_s:
            w.irregular_sum -= window.popleft()[1]
        irregular_now = False
        detail = ""
        full = len(window) * CHECK_EVERY_S >= 0.8 * irr_rule.window_s
        if irr_rule.enabled and w.heart_ready and full and math.isfinite(w.irregular_base):
            share = max(0.0, w.irregular_sum / len(window))
            irregular_now = share >= max(irr_rule.min_share, w.irregular_base + irr_rule.above_baseline)
            if irregular_now:
                detail = (f"{name}: irregular heart rhythm, {share:.0%} of beats out of rhythm over "
                          f"{irr_rule.window_s:.0f} s (their own {w.irregular_base:.0%})")
        self._hold(name, w, IRREGULAR_RHYTHM, irregular_now, 0.0, now_s, detail)

        # Heart lost: a heart that was heard gives no rate while the skin sensor is on the skin.
        lost_rule = s.heart_lost
        lost = False
        detail = ""
        skin_on = eda_good and not scl < SKIN_ON_FRACTION * w.scl_base  # (a NaN level or baseline: the state decides)
        if lost_rule.enabled and w.heart_heard and skin_on:
            lost = heart_state in LOST_STATES or heart_state is None or not math.isfinite(bpm)
            if lost:
                detail = (f"{name}: heart rate lost for {lost_rule.for_s:.0f} s (heart sensor: {heart_state or 'gone'}) "
                          "while the skin sensor is on")
        self._hold(name, w, HEART_LOST, lost, lost_rule.for_s, now_s, detail)

    def _learn(self, w: _Wearer, heart_good: bool, eda_good: bool, bpm: float, irregular: float, scl: float,
               dt_s: float) -> None:
        """The baselines from the first ``baseline_s`` of good signal of each kind."""
        base, span_s = w.base, self.settings.baseline_s
        if not w.heart_ready and heart_good:
            base.heart_s += dt_s
            base.bpm.append(bpm)
            if math.isfinite(irregular):
                base.irregular.append(irregular)
            if base.heart_s >= span_s:
                w.heart_ready = True
                w.bpm_base = _median(base.bpm)
                w.irregular_base = sum(base.irregular) / len(base.irregular) if base.irregular else math.nan
        if not w.eda_ready and eda_good:
            base.eda_s += dt_s
            if math.isfinite(scl):
                base.scl.append(scl)
                w.scl_base = _median(base.scl)
            if base.eda_s >= span_s:
                w.eda_ready = True
                w.scr_base_per_min = base.scrs / (base.eda_s / 60.0)

    def _hold(self, name: str, w: _Wearer, rule: str, holds: bool, for_s: float, now_s: float, message: str) -> None:
        """Raise ``rule`` once its condition has held ``for_s``; clear it once it has not held for :data:`CLEAR_AFTER_S`."""
        if holds:
            w.failing_since_s.pop(rule, None)
            since = w.held_since_s.setdefault(rule, now_s)
            if now_s - since >= for_s - 1e-9:
                self.board.raise_(name, rule, message)
                w.raised.add(rule)
            return
        w.held_since_s.pop(rule, None)
        if rule in w.raised:
            failing = w.failing_since_s.setdefault(rule, now_s)
            if now_s - failing >= CLEAR_AFTER_S - 1e-9:
                w.failing_since_s.pop(rule, None)
                w.raised.discard(rule)
                self.board.clear(name, rule)
