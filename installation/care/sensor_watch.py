"""The sensor watch: each wearer's channels followed once a second, and a notice for the
operator when one is likely to fail within the horizon (a minute by default).

What is followed, per wearer:

* the heart channel's quality (``pN.heart.quality``) falling, and its pulse (``pN.heart.pulse_size``:
  contact) shrinking;
* the skin-conductance channel's quality, and its level (``pN.eda.scl``: contact) falling
  towards what an electrode off the skin reads;
* the link's share of packets lost or corrupt rising (the sources' ``packets``, ``lost``,
  ``corrupt`` and ``dropped`` counters, fed by whoever reads the sources:
  :meth:`SensorWatch.link_counts`);
* the device's battery (``pN.device.battery``, percent) falling towards empty, or low.

The watch is a tap of the pipeline (it sees every feature tick) and asks the signal core
for the channels' states; a channel that has failed already (a state in
:data:`~installation.dsp.quality.BAD_STATES`) is the fault report's business: its
warning ends and its trend starts again when it is back.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from installation.care.board import NoticeBoard
from installation.care.sensor_trend import Forecast, Hysteresis, Trend
from installation.config import CareSensorsConfig
from installation.dsp.quality import BAD_STATES

HEART_RULE = "sensor.heart_failing"
EDA_RULE = "sensor.eda_failing"
LINK_RULE = "sensor.link_failing"
BATTERY_RULE = "sensor.battery_low"
#: The counters a source may keep: received, and the bad kinds (lost, corrupt, dropped).
LINK_COUNTERS = ("packets", "lost", "corrupt", "dropped")
#: Measures read ten times a reading and averaged (a channel's quality moves block by block).
AVERAGED: dict[str, tuple[str, ...]] = {"heart": ("quality", "pulse_size"), "eda": ("quality", "scl")}
READS_PER_SAMPLE = 10


def within(horizon_s: float) -> str:
    """``within a minute`` for 60 s, else ``within N s`` (or minutes)."""
    if horizon_s == 60.0:
        return "within a minute"
    if horizon_s >= 120.0 and horizon_s % 60.0 == 0.0:
        return f"within {horizon_s / 60.0:.0f} minutes"
    return f"within {horizon_s:.0f} s"


def failing_message(wearer: str, what: str, measure: str, f: Forecast, horizon_s: float, unit: str = "",
                    digits: int = 1, scale: float = 1.0, bounds: tuple[float, float] = (0.0, math.inf),
                    verb: str = "failing") -> str:
    """``p3: heart sensor failing, likely within a minute (quality 0.9 -> 0.5 over 40 s)``.

    The fitted values are shown times ``scale``, kept within ``bounds`` (a line fitted through a
    share that starts at 0 may start a little below it)."""
    def shown(value: float) -> str:
        return f"{min(max(value, bounds[0]), bounds[1]) * scale:.{digits}f}{unit}"

    return (f"{wearer}: {what} {verb}, likely {within(horizon_s)} ({measure} {shown(f.start_value)} -> "
            f"{shown(f.now_value)} over {f.span_s:.0f} s)")


@dataclass(slots=True)
class _Warning:
    """One rule of one wearer: its trends, its hysteresis, and what it last said."""

    trends: dict[str, Trend]
    hysteresis: Hysteresis
    message: str = ""

    def reset(self) -> None:
        for trend in self.trends.values():
            trend.reset()
        self.hysteresis.reset()


@dataclass(slots=True)
class _Wearer:
    heart: _Warning
    eda: _Warning
    link: _Warning
    battery: _Warning
    battery_low: bool = False  # the static threshold, with its own hysteresis (2 percentage points)
    link_before: dict[str, tuple[float, dict[str, int]]] = field(default_factory=dict)  # source -> last counts


class SensorWatch:
    """Follows every wearer's channels and raises (and clears) the ``sensor.*`` notices.

    Parameters
    ----------
    settings : CareSensorsConfig
        ``[care.sensors]``: the horizon, the windows and the limits.
    board : NoticeBoard
        Where the notices go.
    states : callable, optional
        The signal core's channel states now (``{"p1.heart": "ok", ...}``); without it every
        channel counts as fine.
    """

    def __init__(self, settings: CareSensorsConfig, board: NoticeBoard,
                 states: Callable[[], Mapping[str, str]] | None = None) -> None:
        self.settings = settings
        self.board = board
        self._states = states or (lambda: {})
        self._wearers: dict[str, _Wearer] = {}
        self._last_s = -math.inf
        self._last_read_s = -math.inf
        self._sums: dict[str, list[float]] = {}  # feature address -> [sum, count] of its readings this period
        self.raised = 0  # notices this watch raised (new ones)
        self.forecasts = 0  # judgements (one a channel a reading) that forecast a failure, held long enough or not

    # ---- the trends of one wearer -------------------------------------------------
    def _trend(self, limit: float, direction: str, min_change: float, relative: bool = False,
               relative_limit: bool = False) -> Trend:
        s = self.settings
        return Trend(limit, direction, min_change, s.window_s, s.horizon_s, s.min_span_s,  # type: ignore[arg-type]
                     s.min_agreement, relative, s.steady_share, relative_limit)

    def _warning(self, trends: dict[str, Trend]) -> _Warning:
        return _Warning(trends, Hysteresis(self.settings.rise_s, self.settings.fall_s))

    def _wearer(self, wearer: str) -> _Wearer:
        w = self._wearers.get(wearer)
        if w is None:
            s = self.settings
            w = _Wearer(
                heart=self._warning({"quality": self._trend(s.quality_limit, "falling", s.quality_min_fall),
                                     "pulse": self._trend(s.pulse_limit_share, "falling", s.pulse_min_fall, True,
                                                          relative_limit=True)}),
                eda=self._warning({"quality": self._trend(s.quality_limit, "falling", s.quality_min_fall),
                                   "contact": self._trend(s.eda_contact_limit_us, "falling", s.eda_min_fall, True)}),
                link=self._warning({"loss": self._trend(s.loss_limit, "rising", s.loss_min_rise)}),
                battery=self._warning({"battery": self._trend(s.battery_empty_percent, "falling", s.battery_min_fall)}),
            )
            self._wearers[wearer] = w
        return w

    # ---- the sink interface (a tap of the pipeline) ---------------------------------
    def set(self, address: str, value: float, now_s: float) -> None:
        """Parameters: not watched."""

    def trigger(self, firing: object) -> None:
        """Events: not watched."""

    def note(self, now_s: float, kind: str, value: object) -> None:
        """Operator actions: not watched."""

    def flush(self, now_s: float) -> None:
        """Nothing gathered to send."""

    def close(self) -> None:
        """Nothing held."""

    def features(self, now_s: float, values: Mapping[str, float]) -> None:
        """A feature tick: ten times a reading, add up the channels' measures; once every
        ``sample_period_s``, their means go into the trends, which are judged."""
        period_s = self.settings.sample_period_s
        if now_s - self._last_read_s >= period_s / READS_PER_SAMPLE:
            self._last_read_s = now_s
            for address, total in self._sums.items():
                value = values.get(address, math.nan)
                if math.isfinite(value):
                    total[0] += value
                    total[1] += 1.0
        if now_s - self._last_s < period_s:
            return
        self._last_s = now_s
        means = dict(values)
        for address, total in self._sums.items():
            if total[1]:
                means[address] = total[0] / total[1]
            total[0] = total[1] = 0.0
        states = self._states()
        self.observe(now_s, means, states)
        for channel in states:  # the measures averaged from now on
            for measure in AVERAGED.get(channel.rpartition(".")[2], ()):
                self._sums.setdefault(f"{channel}.{measure}", [0.0, 0.0])

    # ---- what is watched ----------------------------------------------------------------
    def observe(self, now_s: float, features: Mapping[str, float], states: Mapping[str, str]) -> None:
        """One reading of every wearer's channels (the core's features and states) at ``now_s``."""
        wearers = {name.split(".", 1)[0] for name in states}
        wearers |= {name.split(".", 1)[0] for name in features if name.endswith(".device.battery")}
        for wearer in sorted(wearers):
            w = self._wearer(wearer)
            heart, eda = states.get(f"{wearer}.heart"), states.get(f"{wearer}.eda")
            self._channel(now_s, wearer, w.heart, HEART_RULE, "heart sensor", heart,
                          {"quality": features.get(f"{wearer}.heart.quality", math.nan),
                           "pulse": features.get(f"{wearer}.heart.pulse_size", math.nan)})
            self._channel(now_s, wearer, w.eda, EDA_RULE, "skin-conductance sensor", eda,
                          {"quality": features.get(f"{wearer}.eda.quality", math.nan),
                           "contact": features.get(f"{wearer}.eda.scl", math.nan)})
            if "dropout" in (heart, eda):  # the link is down already: the fault report says so
                self._end(wearer, w.link, LINK_RULE)
            else:
                self._judge(now_s, wearer, w.link, LINK_RULE, "link")
            self._battery(now_s, wearer, w, features.get(f"{wearer}.device.battery", math.nan))

    def link_counts(self, now_s: float, source: str, wearers: Iterable[str], counts: Mapping[str, int]) -> None:
        """A source's counters now (cumulative ``packets``, ``lost``, ``corrupt``, ``dropped``; any
        may be missing), for each wearer it carries: the share of bad packets since the last
        call goes into their link's trend. Call it about once a second."""
        counts = {k: int(v) for k, v in counts.items() if k in LINK_COUNTERS}
        for wearer in wearers:
            w = self._wearer(wearer)
            before = w.link_before.get(source)
            w.link_before[source] = (now_s, counts)
            if before is None:
                continue
            delta = {k: counts.get(k, 0) - before[1].get(k, 0) for k in LINK_COUNTERS}
            if any(v < 0 for v in delta.values()):
                continue  # the source started counting again (reopened)
            bad = delta["lost"] + delta["corrupt"] + delta["dropped"]
            total = delta["packets"] + delta["lost"]  # a source counts what arrived; lost ones did not
            if total > 0:
                w.link.trends["loss"].add(now_s, min(1.0, bad / total))

    def loss_readings(self, wearer: str) -> list[float]:
        """The shares lost of ``wearer``'s link in the trend's window, oldest first (for the operator's
        figures and the tests)."""
        w = self._wearers.get(wearer)
        return [] if w is None else w.link.trends["loss"].values()

    # ---- judging --------------------------------------------------------------------
    def _channel(self, now_s: float, wearer: str, warning: _Warning, rule: str, what: str, state: str | None,
                 readings: dict[str, float]) -> None:
        if state is None:
            return
        if state in BAD_STATES or state == "learning":
            # failed (the fault report takes over) or not judged yet: start the trend again
            self._end(wearer, warning, rule)
            return
        for name, value in readings.items():
            if name == "quality" and state == "noisy":
                continue  # movement explains a noisy channel's falling quality; a loosening sensor shows in its level
            warning.trends[name].add(now_s, value)
        self._judge(now_s, wearer, warning, rule, what)

    def _judge(self, now_s: float, wearer: str, warning: _Warning, rule: str, what: str) -> None:
        horizon_s = self.settings.horizon_s
        message = ""
        for name, trend in warning.trends.items():
            f = trend.forecast()
            if f is None:
                continue
            if name == "loss":
                message = failing_message(wearer, what, "loss", f, horizon_s, " %", 0, 100.0, (0.0, 1.0))
            elif name == "pulse":  # in the waveform's own units: shown as a share of where it started
                message = failing_message(wearer, what, "pulse size", f, horizon_s, " %", 0, 100.0 / f.start_value)
            elif name == "contact":
                message = failing_message(wearer, what, "skin conductance", f, horizon_s, digits=2)
            else:
                message = failing_message(wearer, what, name, f, horizon_s, bounds=(0.0, 1.0))
            break
        if message:
            warning.message = message
            self.forecasts += 1
        on = warning.hysteresis.update(now_s, bool(message))
        if on:
            if self.board.raise_(wearer, rule, warning.message) is not None:
                self.raised += 1
        else:
            self.board.clear(wearer, rule)

    def _end(self, wearer: str, warning: _Warning, rule: str) -> None:
        warning.reset()
        self.board.clear(wearer, rule)

    def _battery(self, now_s: float, wearer: str, w: _Wearer, percent: float) -> None:
        if not math.isfinite(percent):
            return
        s = self.settings
        w.battery.trends["battery"].add(now_s, percent)
        low = percent <= s.battery_low_percent or (w.battery_low and percent <= s.battery_low_percent + 2.0)
        w.battery_low = low
        f = w.battery.trends["battery"].forecast()
        if f is not None:
            message = failing_message(wearer, "battery", "battery", f, s.horizon_s, " %", 0, bounds=(0.0, 100.0),
                                      verb="running out")
        elif low:
            message = f"{wearer}: battery low ({percent:.0f} %)"
        else:
            message = ""
        if message:
            w.battery.message = message
            self.forecasts += 1
        # a low battery stands at once; a forecast goes through the hysteresis like the others
        on = w.battery.hysteresis.update(now_s, bool(message)) or low
        if on:
            if self.board.raise_(wearer, BATTERY_RULE, w.battery.message) is not None:
                self.raised += 1
        else:
            self.board.clear(wearer, BATTERY_RULE)
