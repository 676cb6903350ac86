"""The scene's animation clock, shared by the conductor and its render nodes.

The scene's slow motion (the organisms' sway and drift, the spores rising) runs on
accumulators whose speed follows the eased ``visual.drift`` parameter. A render
node that started late, or two nodes side by side on a projector wall, must show
the same motion at the same moment, so the accumulators are not integrated frame
by frame on each node: the conductor keeps a :class:`SceneClock`, sends its reading
with every state message, and each node extrapolates that reading to the
conductor's present in closed form (:meth:`SceneClock.at`). The result does not
depend on a node's frame rate or start time. Pure: no clock of its own, no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

#: Time constant of the scene's easing, seconds (as :data:`installation.visuals.scene.EASE_S`).
EASE_S = 0.5
#: The drift parameter's default (as the scene's ``FIELD_DEFAULTS["drift"]``).
DRIFT_DEFAULT = 0.3
#: Sway speed: ``SWAY_BASE + SWAY_PER_DRIFT * drift`` sway units a second.
SWAY_BASE, SWAY_PER_DRIFT = 0.3, 2.0
#: Spore rise speed: ``RISE_BASE + RISE_PER_DRIFT * drift`` (a fraction of the height) a second.
RISE_BASE, RISE_PER_DRIFT = 0.004, 0.05
#: Furthest back a reading is extrapolated, seconds.
MAX_BACK_S = 1.0


@dataclass(frozen=True, slots=True)
class SceneClock:
    """One reading of the animation clock.

    Attributes
    ----------
    time_s : float
        Scene time, seconds since the conductor began publishing.
    sway_s : float
        The sway accumulator (sway units).
    rise : float
        The spores' rise accumulator (fractions of the height).
    drift_shown : float
        The eased drift, 0..1.
    drift_target : float
        The drift parameter the show sets, 0..1.
    """

    time_s: float = 0.0
    sway_s: float = 0.0
    rise: float = 0.0
    drift_shown: float = DRIFT_DEFAULT
    drift_target: float = DRIFT_DEFAULT

    def at(self, time_s: float) -> "SceneClock":
        """The reading at scene time ``time_s``: exact for a drift target held between this reading and
        then (a little before this reading too: a node saving the frame of a moment that its newest
        snapshot just passed; at most ``MAX_BACK_S`` back)."""
        dt_s = max(time_s - self.time_s, -MAX_BACK_S)
        if dt_s == 0.0 or not math.isfinite(dt_s):
            return self
        decay = math.exp(-dt_s / EASE_S)
        gap = self.drift_shown - self.drift_target
        drift_integral = self.drift_target * dt_s + gap * EASE_S * (1.0 - decay)  # of the eased drift over dt
        return SceneClock(
            time_s=time_s,
            sway_s=self.sway_s + SWAY_BASE * dt_s + SWAY_PER_DRIFT * drift_integral,
            rise=self.rise + RISE_BASE * dt_s + RISE_PER_DRIFT * drift_integral,
            drift_shown=self.drift_target + gap * decay,
            drift_target=self.drift_target,
        )

    def steer(self, time_s: float, drift_target: float) -> "SceneClock":
        """Advance to ``time_s``, then follow a new drift target (clipped to 0..1; NaN keeps the old)."""
        now = self.at(time_s)
        if not math.isfinite(drift_target):
            return now
        return replace(now, drift_target=min(1.0, max(0.0, drift_target)))

    def as_list(self) -> list[float]:
        """The reading as five numbers (for the wire)."""
        return [self.time_s, self.sway_s, self.rise, self.drift_shown, self.drift_target]

    @classmethod
    def from_list(cls, values: list[float]) -> "SceneClock":
        """A reading from :meth:`as_list`'s five numbers."""
        if len(values) != 5:
            raise ValueError(f"a scene clock reading has 5 numbers, got {len(values)}")
        return cls(*(float(v) for v in values))
