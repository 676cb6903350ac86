"""Scoring detected events against reference ones: beats and SCR peaks by time, SCRs by their rises."""

from __future__ import annotations

import bisect
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


@dataclass(frozen=True, slots=True)
class RiseMatch:
    """Skin-conductance responses found against reference ones, matched by their rises.

    Attributes
    ----------
    hits : int
        Reference responses of at least the amplitude scored whose rise overlaps
        the rise of a found response (one-to-one).
    reference : int
        Reference responses of at least the amplitude scored.
    extra : int
        Found responses of at least the amplitude scored whose rise overlaps no
        reference rise left to them (one-to-one): false alarms and the second
        half of a split response.
    found : int
        Found responses of at least the amplitude scored.
    """

    hits: int
    reference: int
    extra: int
    found: int

    @property
    def found_pct(self) -> float:
        """Reference responses found, in per cent."""
        return 100.0 * self.hits / self.reference if self.reference else float("nan")

    @property
    def extra_pct(self) -> float:
        """Extra responses per hundred reference responses."""
        return 100.0 * self.extra / self.reference if self.reference else float("nan")


def rises_overlap(onset_a_s: float, peak_a_s: float, onset_b_s: float, peak_b_s: float) -> bool:
    """Whether two rises (onset to peak, closed intervals) share at least an instant."""
    return onset_a_s <= peak_b_s and onset_b_s <= peak_a_s


def _largest_matching(left: list[tuple[float, float]], right: list[tuple[float, float]]) -> int:
    """Size of the largest one-to-one matching of overlapping rises (augmenting paths)."""
    right_order = sorted(range(len(right)), key=lambda j: right[j][0])
    right_onsets = [right[j][0] for j in right_order]
    longest = max((p - o for o, p in right), default=0.0)
    partners: list[list[int]] = []
    for onset, peak in left:
        # only rises whose onset lies in [onset - longest, peak] can overlap this one
        lo, hi = bisect.bisect_left(right_onsets, onset - longest), bisect.bisect_right(right_onsets, peak)
        partners.append([right_order[k] for k in range(lo, hi) if rises_overlap(onset, peak, *right[right_order[k]])])
    owner = [-1] * len(right)
    matched = 0
    for start in range(len(left)):
        # depth-first search for an augmenting path from `start` (iterative: chains of rises can be long)
        seen = [False] * len(right)
        stack: list[tuple[int, int]] = [(start, 0)]  # (left rise, next partner to try)
        via: list[int] = []  # the right rise taken at each level of the stack
        while stack:
            i, k = stack[-1]
            if k == len(partners[i]):
                stack.pop()
                if via:
                    via.pop()
                continue
            stack[-1] = (i, k + 1)
            j = partners[i][k]
            if seen[j]:
                continue
            seen[j] = True
            via.append(j)
            if owner[j] < 0:
                for (left_i, _), right_j in zip(stack, via):
                    owner[right_j] = left_i
                matched += 1
                break
            stack.append((owner[j], 0))
    return matched


def match_rises(found_onset_s: np.ndarray, found_peak_s: np.ndarray, found_amplitude: np.ndarray,
                reference_onset_s: np.ndarray, reference_peak_s: np.ndarray, reference_amplitude: np.ndarray,
                min_amplitude: float, start_s: float = 0.0, end_s: float = np.inf) -> RiseMatch:
    """Score found skin-conductance responses against reference ones by their rises.

    A found response matches a reference one when their rises (onset to peak)
    overlap; a response is matched at most once. Only responses of at least
    ``min_amplitude`` (each side by its own amplitude) and with a peak in
    ``[start_s, end_s)`` are scored, and a small response on one side may still
    be the match of a scored one on the other, so an amplitude measured a little
    differently on each side neither misses a response nor adds one:

    * ``hits``: the largest one-to-one matching of the scored references with
      any found response;
    * ``extra``: the scored found responses left out of the largest one-to-one
      matching of them with any reference response.

    A missing onset (``nan``) counts as a rise that starts at the peak.
    """

    def rises(onset_s: np.ndarray, peak_s: np.ndarray, amplitude: np.ndarray) -> tuple[list[tuple[float, float]], np.ndarray]:
        onset_s, peak_s, amplitude = (np.asarray(a, dtype=float).reshape(-1) for a in (onset_s, peak_s, amplitude))
        onset_s = np.where(np.isnan(onset_s), peak_s, np.minimum(onset_s, peak_s))
        window = (peak_s >= start_s) & (peak_s < end_s)
        all_rises = [(float(o), float(p)) for o, p in zip(onset_s[window], peak_s[window])]
        return all_rises, amplitude[window] >= min_amplitude

    found, found_scored = rises(found_onset_s, found_peak_s, found_amplitude)
    reference, reference_scored = rises(reference_onset_s, reference_peak_s, reference_amplitude)
    scored_reference = [r for r, keep in zip(reference, reference_scored) if keep]
    scored_found = [f for f, keep in zip(found, found_scored) if keep]
    hits = _largest_matching(scored_reference, found)
    matched_found = _largest_matching(scored_found, reference)
    return RiseMatch(hits, len(scored_reference), len(scored_found) - matched_found, len(scored_found))
