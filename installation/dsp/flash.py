"""Flash safety: counting flashes in a brightness signal, and a limiter that keeps them rare.

Pure numpy, no I/O. The screen (:mod:`installation.visuals.flash_guard`) and the
lights (:mod:`installation.lights.flash`) both use it, one channel per fixture or
per region of the screen.

The definition
--------------
A **flash** is a pair of opposing changes in relative luminance of 10 % or more of
the maximum, where the relative luminance of the darker state is below 0.80; no
more than **three flashes in any one-second period** are allowed. This is the
"general flash threshold" of WCAG 2.x (success criterion 2.3.1 and its definition of
"general flash and red flash thresholds"), which restates in relative terms the
broadcast rules it came from: ITU-R BT.1702 ("Guidance for the reduction of
photosensitive epileptic seizures caused by television") and the Ofcom Guidance
Note on flashing images and regular patterns, where a flash is a pair of opposing
changes of 20 cd/m2 or more with the darker state below 160 cd/m2 (10 % and 0.80 of
a 200 cd/m2 display).

How a sequence of frames is read (the same way by the counter and the limiter):

* the signal is split into **legs**, alternately rising and falling, the way a
  zigzag does: a leg ends where the signal turns back by the threshold (10 %) or
  more, so that ripples smaller than the threshold never split a change in two;
* a leg is a **transition** once it has changed by the threshold or more and its
  darker end is below 0.80; it is timed at the frame where both first hold;
* a flash is two transitions, so the flashes in a window are its transitions
  halved (seven transitions in a second are 3.5 flashes: over the limit of 3).

What "brightness" is
--------------------
The screen: the mean relative luminance of a region (:func:`relative_luminance`
of the sRGB pixels: linearised, then ``0.2126 R + 0.7152 G + 0.0722 B``).

A DMX fixture: its **brightest emitter**, ``intensity * max(r, g, b, ...)``
(:func:`fixture_brightness`), not its colour's relative luminance. Luminance weighs
blue at 7 % and red at 21 %, so a saturated blue or red wash flashing at full
intensity would hardly count, yet in a dark room it is the brightest thing there,
and the guidelines treat saturated red flashes as at least as dangerous (the "red
flash" threshold). The brightest channel counts every emitter's swing in full:
it is the safe side of the two.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: A change of at least this much (relative luminance, 0..1) can be half of a flash.
FLASH_THRESHOLD = 0.10
#: ... when the darker of its two states is below this.
DARK_BELOW = 0.80
#: At most this many flashes in any one-second period (the guidelines' limit; lower is safer).
MAX_FLASHES_PER_S = 3.0
WINDOW_S = 1.0
#: How far inside the definition the limiter keeps (covers 8-bit DMX and frame rounding).
HEADROOM = 0.02
_EPS = 1e-9

_SRGB_TO_LINEAR = np.where(
    np.arange(256) / 255.0 <= 0.04045,
    np.arange(256) / 255.0 / 12.92,
    ((np.arange(256) / 255.0 + 0.055) / 1.055) ** 2.4,
)
_LUMA = np.array([0.2126, 0.7152, 0.0722])
_LUMA_LUT = _LUMA[:, None] * _SRGB_TO_LINEAR[None, :]  # (3, 256): each channel's share of the luminance


def relative_luminance(rgb: np.ndarray) -> np.ndarray:
    """Relative luminance 0..1 of 8-bit sRGB pixels (IEC 61966-2-1, Rec. 709 primaries).

    Parameters
    ----------
    rgb : ndarray of uint8, shape (..., 3)
        sRGB pixels.

    Returns
    -------
    ndarray of float, shape (...)
    """
    rgb = np.asarray(rgb, dtype=np.uint8)
    return _LUMA_LUT[0][rgb[..., 0]] + _LUMA_LUT[1][rgb[..., 1]] + _LUMA_LUT[2][rgb[..., 2]]


def fixture_brightness(colour: np.ndarray, intensity: np.ndarray | float = 1.0) -> np.ndarray:
    """Brightness 0..1 of fixtures: ``intensity`` times their brightest colour channel.

    Parameters
    ----------
    colour : ndarray, shape (..., channels)
        Colour channel levels 0..1 (r, g, b, w...; a dimmer-only fixture: one channel of 1).
    intensity : ndarray or float
        Dimmer level 0..1, shape (...) (1.0 for fixtures without a dimmer).
    """
    return np.asarray(intensity, dtype=float) * np.max(np.asarray(colour, dtype=float), axis=-1)


@dataclass(slots=True)
class Legs:
    """The current leg of each channel's signal (see the module's definition).

    Attributes
    ----------
    up : ndarray of bool
        The leg rises.
    start : ndarray of float
        Where it began (the last turning point).
    extreme : ndarray of float
        The furthest it has gone so far.
    counted : ndarray of bool
        It is already a transition.
    """

    up: np.ndarray
    start: np.ndarray
    extreme: np.ndarray
    counted: np.ndarray

    @classmethod
    def at(cls, first: np.ndarray) -> "Legs":
        """Legs starting at the frame ``first`` (taken as the start of a rise)."""
        first = np.array(first, dtype=float)
        return cls(np.ones(first.shape, bool), first.copy(), first.copy(), np.zeros(first.shape, bool))

    def advance(self, x: np.ndarray, threshold: float = FLASH_THRESHOLD,
                dark_below: float = DARK_BELOW) -> tuple[np.ndarray, np.ndarray]:
        """Take the next frame ``x``; return (a transition was completed, the counted leg moved on).

        The second mask is true where the leg that is already a transition reached a new
        extreme (or a reversal started a leg that at once is one): the transition is then
        timed at this frame, the later of the two, which keeps a limiter on the safe side.
        """
        onward = x - self.extreme
        onward = np.where(self.up, onward, -onward)  # how far x goes on in the leg's direction
        grew = onward > 0.0
        turned = onward <= _EPS - threshold
        self.start = np.where(turned, self.extreme, self.start)
        self.extreme = np.where(grew | turned, x, self.extreme)
        self.up ^= turned
        self.counted &= ~turned
        transition = (np.abs(self.extreme - self.start) >= threshold - _EPS) & (np.minimum(self.start, self.extreme) < dark_below)
        new = transition & ~self.counted
        self.counted |= new
        return new, self.counted & (grew | turned) & ~new


def count_transitions(brightness: np.ndarray, threshold: float = FLASH_THRESHOLD,
                      dark_below: float = DARK_BELOW) -> np.ndarray:
    """Where transitions complete: 1 at the frame that completes one, else 0.

    Parameters
    ----------
    brightness : ndarray, shape (frames,) or (frames, channels)
        Relative luminance (or fixture brightness) 0..1, one row per frame.

    Returns
    -------
    ndarray of int, the shape of ``brightness``
    """
    b = np.asarray(brightness, dtype=float)
    flat = b.reshape(len(b), -1)
    marks = np.zeros(flat.shape, dtype=int)
    if len(flat):
        legs = Legs.at(flat[0])
        for i in range(1, len(flat)):
            new, _ = legs.advance(flat[i], threshold, dark_below)
            marks[i] = new
    return marks.reshape(b.shape)


def count_flashes(brightness: np.ndarray, rate_hz: float, window_s: float = WINDOW_S) -> np.ndarray:
    """Flashes in the ``window_s`` ending at every frame (transitions halved).

    Parameters
    ----------
    brightness : ndarray, shape (frames,) or (frames, channels)
        Relative luminance (or fixture brightness) 0..1, frames ``1/rate_hz`` apart.
    rate_hz : float
        Frames per second.
    window_s : float
        Length of the sliding window (the guidelines': one second).

    Returns
    -------
    ndarray of float, the shape of ``brightness``
        Flashes in the frames ``(i - n, i]``, ``n = round(window_s * rate_hz)``; take
        the max for the worst second. 3.5 means seven transitions: over a limit of 3.
    """
    marks = count_transitions(brightness)
    n = max(1, int(round(window_s * rate_hz)))
    total = np.cumsum(marks, axis=0)
    before = np.concatenate([np.zeros((min(n, len(total)),) + total.shape[1:], dtype=int), total[:-n]])
    return (total - before[: len(total)]) / 2.0


def _levels(brightness: np.ndarray, channels: int) -> np.ndarray:
    """Brightness as ``channels`` floats within 0..1 (NaN: dark)."""
    return np.fmin(np.fmax(np.asarray(brightness, dtype=float).reshape(channels), 0.0), 1.0)  # fmax takes NaN to 0


def check_max_flashes(max_flashes_per_s: float, name: str = "max_flashes_per_s") -> float:
    """``max_flashes_per_s`` if it is within the safe range (above 0, at most 3), else ValueError naming ``name``."""
    if not (isinstance(max_flashes_per_s, (int, float)) and math.isfinite(max_flashes_per_s)
            and 0.0 < max_flashes_per_s <= MAX_FLASHES_PER_S):
        raise ValueError(f"{name} must be above 0 and at most {MAX_FLASHES_PER_S:g} flashes per second "
                         f"(the photosensitivity guidelines' limit; lower is safer), got {max_flashes_per_s!r}")
    return float(max_flashes_per_s)


class FlashLimiter:
    """Keeps brightness signals (fixtures, screen regions) within a flash budget, frame by frame.

    Each frame the caller gives the wanted brightness of every channel and gets the
    allowed one. Slow changes and a pulse now and then pass unchanged; the limiter
    acts only when one more transition would spend more than the budget.

    How it acts: it reads its own output with the module's definition, made a little
    stricter (a change of ``0.10 - headroom`` counts, a darker state below
    ``0.80 + headroom`` counts, so that rounding to 8 bits or measuring a frame
    coarsely cannot make a flash it did not count), and keeps the time of each
    transition in a ring. A **rise** (the first half of a flash) is let through only
    while the window holds room for it *and* the fall after it: with the budget spent,
    the rise is held below the threshold (the light swells by less than 8 %, the
    pulse is felt but does not flash) until the oldest transition leaves the window.
    A fall is then always within the budget, so a light is never held bright: when
    the budget is spent, the light stays at its darker level, and the limiter only
    ever dims (:attr:`scale` <= 1). (Holding a fall back instead, to let a rise through
    sooner, was tried: on pulses that fade, the rises it let through came late in the
    fade and far fewer beats showed.) A heart at 180 bpm on one light keeps about two
    beats in three at full strength, the others as swells under the threshold. A
    transition is timed at the last frame its leg moved on, which is never earlier
    than the counter would time it.

    Parameters
    ----------
    channels : int
        Fixtures or regions.
    max_flashes_per_s : float
        Above 0, at most 3 (the guidelines' limit). Below 1 the window is ``1 / max``
        seconds long, so 0.5 is one flash in any two seconds.
    headroom : float
        How far inside the definition's 0.10 and 0.80 the limiter keeps (0..0.05).

    Attributes
    ----------
    scale : ndarray
        Allowed / wanted brightness of the last frame (1 where the wanted was dark):
        multiply a fixture's colour channels by it.
    held : ndarray of bool
        The channel was held back in the last frame.
    budget : int
        Transitions allowed in ``window_s``.
    """

    def __init__(self, channels: int, max_flashes_per_s: float = MAX_FLASHES_PER_S, headroom: float = HEADROOM) -> None:
        if channels < 1:
            raise ValueError(f"channels must be at least 1, got {channels}")
        if not 0.0 <= headroom <= 0.05:
            raise ValueError(f"headroom must be within 0..0.05, got {headroom}")
        self.max_flashes_per_s = check_max_flashes(max_flashes_per_s)
        self.channels = channels
        self.window_s = max(WINDOW_S, 1.0 / self.max_flashes_per_s)
        self.budget = int(math.floor(2.0 * self.max_flashes_per_s * self.window_s + _EPS))
        self.threshold = FLASH_THRESHOLD - headroom
        self.dark_below = DARK_BELOW + headroom
        self._times = np.full((channels, self.budget), -np.inf)
        self._newest = np.zeros(channels, dtype=int)
        self._legs: Legs | None = None
        self.scale = np.ones(channels)
        self.held = np.zeros(channels, dtype=bool)

    def used(self, now_s: float) -> np.ndarray:
        """Transitions of each channel in the window ending at ``now_s``."""
        return (self._times > now_s - self.window_s + _EPS).sum(axis=1)  # a whole window old is out, as in the counter

    def bounds(self, now_s: float) -> tuple[np.ndarray, np.ndarray]:
        """(lowest, highest) brightness each channel may show at ``now_s`` (changes nothing)."""
        legs = self._legs
        if legs is None:
            return np.zeros(self.channels), np.ones(self.channels)
        used = self.used(now_s)
        can_rise = used + 2 <= self.budget  # room for the rise and the fall after it
        if can_rise.all():  # most frames: room for anything
            return np.zeros(self.channels), np.ones(self.channels)
        can_fall = used + 1 <= self.budget
        thr, dark, eps = self.threshold, self.dark_below, 1e-6
        s, e = legs.start, legs.extreme
        # Rising leg: going on up from a dark start is a rise; turning down is a fall.
        # Falling leg: going on down is a fall; turning up from a dark extreme is a rise.
        hi_rise = np.where(legs.up, np.where(~legs.counted & (s < dark), s + thr - eps, 1.0),
                           np.where(e < dark, e + thr - eps, 1.0))
        lo_fall = np.where(legs.up, np.minimum(e - thr + eps, dark),
                           np.where(legs.counted, 0.0, np.minimum(s - thr + eps, dark)))
        hi = np.where(can_rise, 1.0, np.maximum(hi_rise, 0.0))
        lo = np.where(can_fall, 0.0, np.clip(lo_fall, 0.0, hi))
        return lo, hi

    def limit(self, brightness: np.ndarray, now_s: float) -> np.ndarray:
        """The allowed brightness of each channel for this frame.

        Parameters
        ----------
        brightness : ndarray, shape (channels,)
            Wanted brightness 0..1 (NaN is taken as dark).
        now_s : float
            Time of the frame in seconds (monotonic; frames need not be evenly spaced).

        Returns
        -------
        ndarray, shape (channels,)
            Allowed brightness 0..1; also sets :attr:`scale` and :attr:`held`.
        """
        wanted = _levels(brightness, self.channels)
        lo, hi = self.bounds(now_s)
        out = np.clip(wanted, lo, hi)
        self.observe(out, now_s)
        self.held = out != wanted
        self.scale = np.where(wanted > 1e-6, out / np.maximum(wanted, 1e-6), 1.0)
        return out

    def observe(self, brightness: np.ndarray, now_s: float) -> None:
        """Take what was shown this frame as it was (:meth:`limit` does this with its own output).

        For a caller that cannot set brightness directly, only steer it (the screen: it
        draws, measures, and draws again dimmer when :meth:`bounds` says so), and then
        tells the limiter what it showed.
        """
        shown = _levels(brightness, self.channels)
        if self._legs is None:
            self._legs = Legs.at(shown)
            return
        new, moved = self._legs.advance(shown, self.threshold, self.dark_below)
        if new.any():
            self._newest = np.where(new, (self._newest + 1) % self.budget, self._newest)
        touch = new | moved
        if touch.any():
            rows = np.flatnonzero(touch)
            self._times[rows, self._newest[rows]] = now_s

    def reset(self) -> None:
        """Forget the history (a new show; not for a running one)."""
        self._times.fill(-np.inf)
        self._legs = None
