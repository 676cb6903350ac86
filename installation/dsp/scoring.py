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
    """Largest one-to-one matching within ``tolerance_s``, scoring only ``[start_s, end_s)``.

    Both sequences are in time order, so a matching that never crosses (the
    k-th matched found event goes with the k-th matched reference event) is as
    large as any; dynamic programming finds it exactly.
    """
    found = np.sort(found_s[(found_s >= start_s) & (found_s < end_s)])
    reference = np.sort(reference_s[(reference_s >= start_s) & (reference_s < end_s)])
    n, m = reference.size, found.size
    if n == 0 or m == 0:
        return Match(0, int(n), int(m))
    # best[j] = largest matching of the references so far with found[:j]; a
    # found event can only pair with references within the tolerance (a band).
    best = np.zeros(m + 1, dtype=int)
    for r in reference:
        lo, hi = np.searchsorted(found, [r - tolerance_s, r + tolerance_s], side="left")[0], np.searchsorted(found, r + tolerance_s, side="right")
        previous = best.copy()
        for j in range(lo, hi):
            # pair r with found[j]: the best over found[:j] with earlier references, plus one
            if previous[j] + 1 > best[j + 1]:
                best[j + 1] = previous[j] + 1
        np.maximum.accumulate(best, out=best)
    return Match(int(best[-1]), int(n), int(m))


def reference_bpm(reference_s: np.ndarray, at_s: np.ndarray, window_s: float = 8.0) -> np.ndarray:
    """The reference heart rate at each time of ``at_s``: 60 over the median interval between the
    reference beats of the ``window_s`` seconds before it, beats per minute (NaN with fewer than 3 beats)."""
    reference = np.sort(np.asarray(reference_s, dtype=float))
    out = np.full(np.shape(at_s), np.nan)
    for i, t in enumerate(np.asarray(at_s, dtype=float)):
        beats = reference[(reference <= t) & (reference > t - window_s)]
        if beats.size >= 3:
            out[i] = 60.0 / float(np.median(np.diff(beats)))
    return out


def heart_rate_error(at_s: np.ndarray, bpm: np.ndarray, reference_s: np.ndarray, window_s: float = 8.0) -> float:
    """Median absolute error in beats per minute of heart rates ``bpm`` read at ``at_s`` against the
    reference beats' rate (:func:`reference_bpm`); a rate not known (NaN) while the reference is
    counts as the reference rate's own size. NaN when nothing can be scored."""
    reference = reference_bpm(reference_s, at_s, window_s)
    scored = np.isfinite(reference)
    if not scored.any():
        return float("nan")
    error = np.abs(np.asarray(bpm, dtype=float)[scored] - reference[scored])
    error = np.where(np.isfinite(error), error, reference[scored])
    return float(np.median(error))
