"""The welfare watch in the pipeline: a tap that feeds it, and the show's gentle response.

:class:`WelfareTap` hands the watch (:mod:`installation.care.welfare`) every skin-conductance
response and, once a second, the features and the channels' states. :class:`Withdrawal` is what
the show does when ``[care.welfare] withdraw`` is on and a welfare notice stands for a wearer:
their voice and light fade out of the piece over ``withdraw_fade_s`` (a gain from 1 to 0 on the
parameters and triggers that are theirs) and fade back in when the notice ends, so that a person
in distress is not put on display. Pure: the pipeline applies the gains.
"""

from __future__ import annotations

import math
from typing import Callable, Mapping

from installation.addresses import WEARER_RE
from installation.care.welfare import CHECK_EVERY_S, WelfareWatch
from installation.pipeline.sinks import Firing, Sink

#: Parameter families a withdrawn wearer leaves: their voice and their light.
WITHDRAWN_FAMILIES = ("sound", "light")


class WelfareTap(Sink):
    """Feeds the welfare watch from the pipeline: SCR events as they come, features once a second.

    Parameters
    ----------
    watch : WelfareWatch
        The rules and the wearers' baselines.
    states : callable
        The channels' states now (``SignalCore.states``), asked once a check.
    """

    def __init__(self, watch: WelfareWatch, states: Callable[[], Mapping[str, str]]) -> None:
        self.watch = watch
        self._states = states
        self._next_s = -math.inf

    def trigger(self, firing: Firing) -> None:
        wearer, _, rest = firing.address.partition(".")
        if rest == "eda.scr" and WEARER_RE.fullmatch(wearer):
            self.watch.scr(wearer, firing.at_s)

    def features(self, now_s: float, values: Mapping[str, float]) -> None:
        if now_s < self._next_s:
            return
        self._next_s = now_s + CHECK_EVERY_S
        self.watch.update(now_s, values, self._states())


class Withdrawal:
    """Per wearer, the gain (0..1) on their voice and light, fading linearly (full to silent in ``fade_s``).

    Parameters
    ----------
    fade_s : float
        Seconds from full to silent and back (0: at once).
    """

    def __init__(self, fade_s: float) -> None:
        self.fade_s = fade_s
        self._ramps: dict[str, tuple[float, float, float]] = {}  # wearer -> (from gain, to gain, start_s)

    def gain(self, wearer: str, now_s: float) -> float:
        """The wearer's gain at ``now_s``: 1 in the piece, 0 taken out."""
        ramp = self._ramps.get(wearer)
        if ramp is None:
            return 1.0
        start_gain, end_gain, start_s = ramp
        if self.fade_s <= 0.0:
            return end_gain
        moved = max(0.0, now_s - start_s) / self.fade_s  # always the same speed: full to silent in fade_s
        return max(end_gain, start_gain - moved) if end_gain < start_gain else min(end_gain, start_gain + moved)

    def withdraw(self, wearer: str, now_s: float) -> None:
        """Fade ``wearer`` out of the piece from now."""
        self._ramps[wearer] = (self.gain(wearer, now_s), 0.0, now_s)

    def restore(self, wearer: str, now_s: float) -> None:
        """Fade ``wearer`` back into the piece from now."""
        if wearer in self._ramps:
            self._ramps[wearer] = (self.gain(wearer, now_s), 1.0, now_s)

    def withdrawn(self, wearer: str) -> bool:
        """Whether ``wearer`` is out of the piece or on the way out (or not yet fully back)."""
        return wearer in self._ramps

    def moving(self, now_s: float) -> list[str]:
        """Wearers whose gain is changing at ``now_s``, or ended its change since the last call
        (their parameters are sent again); those fully back are forgotten."""
        out = []
        for wearer, (start_gain, end_gain, start_s) in list(self._ramps.items()):
            if now_s - start_s <= abs(end_gain - start_gain) * self.fade_s + 0.5:  # a little past the end: the last value goes out
                out.append(wearer)
            elif end_gain >= 1.0:
                del self._ramps[wearer]
        return out

    def __bool__(self) -> bool:
        return bool(self._ramps)


def owner(address: str, driven: Mapping[str, str]) -> str | None:
    """The wearer a parameter (``sound.p2.level``, ``light.strip.segment.p2``, or one a mapping from
    that wearer's feature drives, in ``driven``) belongs to; None for the whole piece's."""
    if address.partition(".")[0] not in WITHDRAWN_FAMILIES:
        return None
    for part in address.split(".")[1:]:
        if part[:1] == "p" and WEARER_RE.fullmatch(part) and part != "p*":
            return part
    return driven.get(address)
