"""Scoring detected events against reference times (beats, SCRs)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class Match:
    """One-to-one matching of found events to reference events.

    Attributes
    ----------
    hits : int
        Reference events with a found event within the tolerance.
    reference : int
        Reference events scored.
    found : int
        Found events scored.
    """

    hits: int
    reference: int
    found: int

    @property
    def sensitivity(self) -> float:
        return self.hits / self.reference if self.reference else float("nan")

    @property
    def ppv(self) -> float:
        """Positive predictivity: the share of found events that match a reference one."""
        return self.hits / self.found if self.found else float("nan")

    @property
    def f1(self) -> float:
        s, p = self.sensitivity, self.ppv
        return 2 * s * p / (s + p) if s + p > 0 else 0.0

    @property
    def extra(self) -> int:
        return self.found - self.hits


def match_events(found_s: np.ndarray, reference_s: np.ndarray, tolerance_s: float, start_s: float = 0.0,
                 end_s: float = np.inf) -> Match:
    """Greedy one-to-one matching within ``tolerance_s``, scoring only ``[start_s, end_s)``."""
    found = np.sort(found_s[(found_s >= start_s) & (found_s < end_s)])
    reference = np.sort(reference_s[(reference_s >= start_s) & (reference_s < end_s)])
    used = np.zeros(found.size, bool)
    hits = 0
    for r in reference:
        if found.size == 0:
            break
        distance = np.abs(found - r)
        distance[used] = np.inf
        k = int(np.argmin(distance))
        if distance[k] <= tolerance_s:
            used[k] = True
            hits += 1
    return Match(hits, int(reference.size), int(found.size))
