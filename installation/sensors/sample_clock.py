"""Sample clocks rebuilt from coarse, packet-level or arrival time stamps (pure).

Many devices send several samples per packet and stamp the packet, not the
samples: on arrival (EmotiBit bundles, BLE straps, Muse) or with a coarse clock
(a PC clock ticking every 15.6 ms). Taken as they come, such stamps put every
sample of a packet at one time and move each packet by its delay, so the beats
found in them jitter by a good part of a packet.

:class:`SampleClock` rebuilds the sample clock the way LSL's dejitter
(liblsl ``postproc_dejitter``) and muse-lsl's timestamp correction do: a running
least-squares line of the stamps against the sample count, with exponential
forgetting (``halftime_s``), so a constant offset, the mean delay and a drift
of the device's rate are followed. Each packet (a run of equal stamps) is one
point, at its last sample (a packet is sent once its last sample is taken).
The rate starts at the nominal one and is learnt from the stamps.

Jumps: a stamp further from the line than several times the jitter is held
back (its samples keep the line's times, which is right for a packet that was
only late); once the stamps stay off the line, consistently, for ``confirm_s``
seconds of samples, the line restarts there: a gap (samples lost, a pause of
the sender) or a step of the sender's clock. Times never go backwards: after a
step back the samples are packed at half the sampling period until the line is
reached again.

Stamps that are already good (a device clock: one per sample, regular) are left
untouched in ``auto`` mode; :func:`stamp_problem` says what is wrong with a
set of stamps, and a clock in ``auto`` mode rebuilds times only once its stream
shows such a problem.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

#: ``auto``: rebuild the clock once the stamps show a problem, else keep them;
#: ``fit``: always rebuild (stamps are arrival times); ``keep``: never.
ClockMode = Literal["auto", "fit", "keep"]

#: Stamps counted before ``auto`` mode judges a stream.
MIN_DIFFS = 32
#: Share of equal (or backwards) consecutive stamps that makes stamps "equal within packets".
EQUAL_SHARE = 0.01
#: Share of steps further than ``max(0.1 period, 1 ms)`` from the period that makes stamps "irregular".
IRREGULAR_SHARE = 0.05


def _counts(diffs_s: np.ndarray, period_s: float) -> tuple[int, int]:
    """Steps that are not forward at all, and steps off the sampling period by more than the tolerance."""
    tolerance_s = max(0.1 * period_s, 1e-3)
    return int(np.count_nonzero(diffs_s <= 0.0)), int(np.count_nonzero(np.abs(diffs_s - period_s) > tolerance_s))


def _verdict(diffs: int, equal: int, off: int) -> str | None:
    if diffs < MIN_DIFFS:
        return None
    if equal >= EQUAL_SHARE * diffs:
        return "equal stamps"
    if off > IRREGULAR_SHARE * diffs:
        return "irregular stamps"
    return None


def stamp_problem(stamps_s: np.ndarray, rate_hz: float) -> str | None:
    """What is wrong with a stream's time stamps, if anything.

    Parameters
    ----------
    stamps_s : numpy.ndarray
        Time stamp of each sample, in seconds, in order.
    rate_hz : float
        Sampling rate in hertz (nominal or estimated).

    Returns
    -------
    str or None
        ``"equal stamps"`` (at least 1 % of consecutive stamps are equal: packets
        stamped as a whole, or a clock coarser than the sampling period),
        ``"irregular stamps"`` (more than 5 % of the steps are off the sampling
        period by more than a tenth of it and 1 ms: arrival times), or None:
        a device clock, to be kept as it is. Fewer than 33 stamps are never judged.
    """
    diffs = np.diff(np.asarray(stamps_s, dtype=float))
    return _verdict(int(diffs.size), *_counts(diffs, 1.0 / rate_hz))


class SampleClock:
    """The sample clock of one stream, rebuilt from its stamps as blocks arrive.

    Parameters
    ----------
    rate_hz : float
        Nominal sampling rate in hertz; the fit starts from it and learns the
        true one (within 25 %).
    mode : {"auto", "fit", "keep"}
        ``fit`` for arrival stamps (always rebuild), ``keep`` never, ``auto``
        rebuild once the stamps show a problem (:func:`stamp_problem`).
    halftime_s : float
        Seconds of samples after which a point weighs half in the fit.
    confirm_s : float
        Seconds of samples whose stamps must stay off the line, consistently,
        before the line restarts there (a gap or a clock step).
    min_jump_s : float
        Smallest distance from the line, in seconds, that counts as a jump (the
        threshold is also at least 6 times the jitter and 2 sampling periods).

    Attributes
    ----------
    fitting : bool
        Whether times are being rebuilt (in ``auto`` mode: since when a problem showed).
    reason : str
        Why (``"arrival stamps"``, ``"equal stamps"``, ``"irregular stamps"``), or ``""``.
    gaps, steps_back : int
        Restarts of the line forward (a gap or pause) and backwards (a clock step).
    """

    def __init__(self, rate_hz: float, mode: ClockMode = "auto", halftime_s: float = 10.0, confirm_s: float = 0.2,
                 min_jump_s: float = 0.03) -> None:
        if not rate_hz > 0:
            raise ValueError(f"a sample clock needs a positive rate, got {rate_hz}")
        self.nominal_period_s = 1.0 / float(rate_hz)
        self.mode: ClockMode = mode
        self.halftime_s = halftime_s
        self.confirm_s = confirm_s
        self.min_jump_s = min_jump_s
        self.fitting = mode == "fit"
        self.reason = "arrival stamps" if mode == "fit" else ""
        self.gaps = 0
        self.steps_back = 0
        self._decay_per_sample = math.log(2.0) / (halftime_s * rate_hz)
        self._count = 0  # samples seen
        self._last: float | None = None  # last time handed out
        self._last_stamp: float | None = None
        self._diffs = self._equal = self._off = 0  # auto mode's evidence
        self._t0 = 0.0  # stamps are fitted relative to this (numerics)
        self._w = 0.0  # weighted least squares, centred: weight, means, co-moments
        self._mx = self._my = self._cxx = self._cxy = 0.0
        self._x_last = 0.0
        self._slope = self.nominal_period_s  # seconds per sample
        self._prior_slope = self.nominal_period_s
        self._var = (0.5 * self.nominal_period_s) ** 2  # jitter of the stamps about the line, s^2
        self._pending: list[tuple[float, float, float]] = []  # (x, y, residual) off the line, not yet a jump

    @property
    def rate_hz(self) -> float:
        """The sampling rate the fit has learnt (the nominal one until it is fitting)."""
        return 1.0 / self._slope

    @property
    def jitter_s(self) -> float:
        """Root mean square distance of the packets' stamps from the line, in seconds."""
        return math.sqrt(self._var)

    def force(self, reason: str = "arrival stamps") -> None:
        """Rebuild times from now on (the stream's stamps turned out to be arrival times)."""
        if not self.fitting:
            self.fitting, self.reason, self.mode = True, reason, "fit"

    def times(self, stamps_s: np.ndarray) -> np.ndarray:
        """Sample times for the next samples of the stream.

        Parameters
        ----------
        stamps_s : numpy.ndarray
            The samples' stamps as they came, in seconds (equal within a packet
            when the packet was stamped; the arrival time for all of them when
            nothing else is known).

        Returns
        -------
        numpy.ndarray
            Times in seconds on the stamps' clock, increasing and after every
            time handed out before: the stamps themselves while they are good
            (shifted only if they would go back), else the fitted line.
        """
        stamps = np.asarray(stamps_s, dtype=float)
        n = int(stamps.size)
        if n == 0:
            return stamps.copy()
        if self.mode == "auto" and not self.fitting:
            self._judge(stamps)
        if self.fitting:
            out = self._fitted(stamps)
        else:
            out = stamps.copy()
            if self._last is not None and out[0] <= self._last:
                out += (self._last - out[0]) + self.nominal_period_s
        self._count += n
        self._last = float(out[-1])
        self._last_stamp = float(stamps[-1])
        return out

    def _judge(self, stamps: np.ndarray) -> None:
        if stamps.size == 1:
            if self._last_stamp is None:
                return
            d = float(stamps[0]) - self._last_stamp
            period = self.nominal_period_s
            self._diffs += 1
            self._equal += d <= 0.0
            self._off += abs(d - period) > max(0.1 * period, 1e-3)
        else:
            diffs = np.diff(stamps) if self._last_stamp is None else np.diff(stamps, prepend=self._last_stamp)
            equal, off = _counts(diffs, self.nominal_period_s)
            self._diffs += int(diffs.size)
            self._equal += equal
            self._off += off
        reason = _verdict(self._diffs, self._equal, self._off)
        if reason is not None:
            self.fitting, self.reason = True, reason

    def _fitted(self, stamps: np.ndarray) -> np.ndarray:
        n = int(stamps.size)
        first = float(stamps[0])
        if self._w == 0.0 and not self._pending:
            self._t0 = first
        single = first == float(stamps[-1])
        if single:  # one packet: the common case, kept cheap (scalars and one line)
            self._point(float(self._count + n - 1), first - self._t0)
            start = self._my + self._slope * (self._count - self._mx) + self._t0
            line = start + self._slope * np.arange(n, dtype=float)
        else:
            ends = np.flatnonzero(np.diff(stamps) != 0.0)
            ends = np.append(ends, n - 1)  # the last sample of every run of equal stamps
            xs = (self._count + ends).astype(float).tolist()
            ys = (stamps[ends] - self._t0).tolist()
            intercepts, slopes = [], []
            for x, y in zip(xs, ys):
                self._point(x, y)
                intercepts.append(self._my - self._slope * self._mx)
                slopes.append(self._slope)
            lengths = np.diff(ends, prepend=-1)
            index = self._count + np.arange(n, dtype=float)
            line = np.repeat(intercepts, lengths) + np.repeat(slopes, lengths) * index + self._t0
        step = 0.5 * self.nominal_period_s
        if self._last is None or (single and line[0] >= self._last + step):
            return line  # one straight line (slope > step) that starts after the last time: nothing to hold back
        # Never back: out[i] = max(line[i], out[i-1] + step), as a running maximum.
        ramp = step * np.arange(n, dtype=float)
        floor = np.maximum.accumulate(np.maximum(line - ramp, self._last + step))
        return floor + ramp

    def _point(self, x: float, y: float) -> None:
        """One packet: its last sample's index ``x`` and stamp ``y`` (relative to ``_t0``)."""
        if self._w == 0.0:
            self._start(x, y)
            return
        predicted = self._my + self._slope * (x - self._mx)
        residual = y - predicted
        period = self.nominal_period_s
        jitter = math.sqrt(self._var)
        if abs(residual) > max(self.min_jump_s, 6.0 * jitter, 2.0 * period):
            pending = self._pending
            if pending and (residual * pending[0][2] < 0.0
                            or max(residual, *(p[2] for p in pending)) - min(residual, *(p[2] for p in pending))
                            > 2.0 * max(3.0 * jitter, period)):
                pending.clear()  # not one jump: a burst of late packets, or noise
            pending.append((x, y, residual))
            if len(pending) >= 2 and (x - pending[0][0]) * period >= self.confirm_s:
                if residual > 0:
                    self.gaps += 1
                else:
                    self.steps_back += 1
                points, self._pending = list(pending), []
                self._prior_slope = self._slope
                self._w = 0.0
                for px, py, _ in points:
                    self._point(px, py)
            return
        self._pending.clear()
        self._var += (residual * residual - self._var) / 64.0
        limit = max(3.0 * jitter, period)
        y = predicted + min(max(residual, -limit), limit)  # one wild stamp pulls the line no further than this
        decay = math.exp(-self._decay_per_sample * (x - self._x_last))
        self._w *= decay
        self._cxx *= decay
        self._cxy *= decay
        self._w += 1.0
        dx = x - self._mx
        self._mx += dx / self._w
        self._my += (y - self._my) / self._w
        self._cxx += dx * (x - self._mx)
        self._cxy += dx * (y - self._my)
        self._x_last = x
        prior = (2.0 / period) ** 2  # the prior slope weighs as much as 2 s of points at both ends
        slope = (self._cxy + prior * self._prior_slope) / (self._cxx + prior)
        self._slope = min(max(slope, 0.75 * period), 1.25 * period)

    def _start(self, x: float, y: float) -> None:
        self._w, self._mx, self._my, self._cxx, self._cxy, self._x_last = 1.0, x, y, 0.0, 0.0, x
        self._slope = self._prior_slope
