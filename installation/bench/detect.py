"""Where an event first changed the recorded output (pure: arrays in, latencies out).

The recorder keeps each JACK cycle's buffer with the monotonic time at which its
cycle began; sample ``i`` of a buffer is placed at ``cycle_start_s + i / rate``.
An event changes the output by a step (a level that jumps from one sample to
the next); the smooth tails the master chain adds (DC blocker, limiter) change
far less from sample to sample, so a step is found by comparing each sample
with the one before it.
"""

from __future__ import annotations

import math

import numpy as np


def first_step_index(samples: np.ndarray, previous: float, threshold: float) -> int | None:
    """Index of the first sample that differs from the one before it by more than ``threshold``.

    Parameters
    ----------
    samples : ndarray
        Consecutive samples, oldest first.
    previous : float
        The sample just before ``samples[0]`` (NaN when unknown: the first
        sample then cannot be a step).
    threshold : float
        Smallest jump, in the samples' units, that counts as a change.

    Returns
    -------
    int or None
        Index into ``samples``; None when nothing changed.
    """
    x = np.asarray(samples, dtype=float)
    if x.size == 0:
        return None
    jumps = np.abs(np.diff(x, prepend=previous))
    found = np.flatnonzero(jumps > threshold)  # NaN jumps compare False
    return int(found[0]) if found.size else None


def event_latencies_ms(
    buffers: np.ndarray,
    cycle_start_s: np.ndarray,
    send_s: np.ndarray,
    sample_rate_hz: float,
    threshold: float,
    max_latency_s: float,
) -> np.ndarray:
    """For each event, milliseconds from its sending to the first step in the output.

    Parameters
    ----------
    buffers : ndarray, shape (n_buffers, buffer_frames)
        Recorded output, one row per JACK cycle, in the order recorded.
    cycle_start_s : ndarray, shape (n_buffers,)
        Monotonic time at which each row's cycle began, in seconds.
    send_s : ndarray, shape (n_events,)
        Monotonic time at which each event was sent, in seconds, increasing.
    sample_rate_hz : float
        Sampling rate in hertz.
    threshold : float
        Smallest sample-to-sample jump that counts as the event's change.
    max_latency_s : float
        Longest latency looked for, in seconds; the search for an event also
        stops where the next event is sent.

    Returns
    -------
    ndarray, shape (n_events,)
        Latency in milliseconds; NaN for an event whose change was not found.

    Notes
    -----
    The search starts in the cycle under way when the event was sent: a cycle
    that began just before the send but ran late can already carry the change,
    which then measures up to one cycle below zero. That is what the output
    clock says; on a sound card the playback buffering comes on top.
    """
    buffers = np.asarray(buffers, dtype=float)
    starts = np.asarray(cycle_start_s, dtype=float)
    sends = np.asarray(send_s, dtype=float)
    out = np.full(sends.size, math.nan)
    if buffers.ndim != 2 or buffers.shape[0] == 0 or buffers.shape[0] != starts.size:
        return out
    frames = buffers.shape[1]
    offsets_s = np.arange(frames) / sample_rate_hz
    ordered = np.maximum.accumulate(starts)  # late cycles can be stamped a hair before the one before
    for j, sent in enumerate(sends.tolist()):
        end_s = sent + max_latency_s
        if j + 1 < sends.size:
            end_s = min(end_s, float(sends[j + 1]))
        first = max(0, int(np.searchsorted(ordered, sent, side="right")) - 1)
        last = int(np.searchsorted(ordered, end_s, side="left"))
        if last <= first:
            continue
        previous = float(buffers[first - 1, -1]) if first > 0 else math.nan
        window = buffers[first:last].reshape(-1)
        index = first_step_index(window, previous, threshold)
        if index is None:
            continue
        row, column = divmod(index, frames)
        at_s = float(starts[first + row]) + float(offsets_s[column])
        if at_s < end_s:
            out[j] = (at_s - sent) * 1000.0
    return out
