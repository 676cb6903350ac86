"""Finding an event's step in recorded output: tables of cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from installation.bench.detect import event_latencies_ms, first_step_index

NAN = math.nan


@pytest.mark.parametrize(
    ("samples", "previous", "threshold", "expected"),
    [
        ([0.0, 0.0, 0.5, 0.5], 0.0, 0.02, 2),  # a step up
        ([0.25, 0.25, -0.25], 0.25, 0.02, 2),  # a step down counts as well
        ([0.5, 0.5, 0.5], 0.0, 0.02, 0),  # the step is between the previous sample and the first
        ([0.5, 0.5, 0.5], NAN, 0.02, None),  # previous unknown: the first sample cannot be a step
        ([0.0, 0.01, 0.02, 0.03, 0.04], 0.0, 0.02, None),  # a ramp (a decaying tail) is no step
        ([0.0, 0.0, 0.02, 0.5], 0.0, 0.02, 3),  # a jump equal to the threshold is not more than it
        ([0.0, NAN, 0.0, 0.7], 0.0, 0.02, 3),  # a gap (NaN) is skipped
        ([], 0.0, 0.02, None),
        ([0.8, 0.8, 0.9], 0.8, 0.02, 2),  # the floor's OscReceive steps from one value to the next
    ],
)
def test_first_step_index(samples: list[float], previous: float, threshold: float, expected: int | None) -> None:
    assert first_step_index(np.array(samples), previous, threshold) == expected


RATE = 1000.0  # 1 ms a sample keeps the expected latencies readable
FRAMES = 4


def _recording(levels: list[float], starts_s: list[float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Buffers of ``FRAMES`` samples from a per-sample level list; cycles 4 ms apart unless given."""
    buffers = np.array(levels, dtype=float).reshape(-1, FRAMES)
    starts = np.array(starts_s if starts_s is not None else [k * FRAMES / RATE for k in range(buffers.shape[0])])
    return buffers, starts


# Sample i of buffer k is at (4 k + i) ms.
STEP_AT_9 = [0.0] * 9 + [0.5] * 7  # step at 9 ms
TWO_STEPS = [0.0] * 5 + [0.5] * 6 + [-0.5] * 5  # steps at 5 and 11 ms


@pytest.mark.parametrize(
    ("levels", "starts_s", "sends_s", "max_latency_s", "expected_ms"),
    [
        (STEP_AT_9, None, [0.0065], 0.02, [2.5]),  # sent at 6.5 ms, changed at 9 ms
        (STEP_AT_9, None, [0.009], 0.02, [0.0]),  # sent exactly when it changed
        (STEP_AT_9, None, [0.0085], 0.02, [0.5]),
        (STEP_AT_9, None, [0.0065], 0.002, [NAN]),  # later than the longest latency looked for
        (STEP_AT_9, None, [0.0125], 0.02, [NAN]),  # sent a cycle after the change: nothing of its own
        (STEP_AT_9, None, [0.010], 0.02, [-1.0]),  # in the cycle under way at the send: counted (see below)
        (TWO_STEPS, None, [0.004, 0.0095], 0.02, [1.0, 1.5]),  # each event finds its own step
        (TWO_STEPS, None, [0.001, 0.0045], 0.02, [NAN, 0.5]),  # search ends where the next event is sent
        # A cycle that began just before the send but carried the change (it ran late):
        # the step is found in it, up to one cycle below zero.
        ([0.0] * 4 + [0.5] * 4, None, [0.0045], 0.02, [-0.5]),
        # Cycle starts a hair out of order (a late cycle stamped early) do not break the search.
        (STEP_AT_9, [0.0, 0.004, 0.0079, 0.012], [0.0065], 0.02, [2.4]),
        (STEP_AT_9, None, [], 0.02, []),
    ],
)
def test_event_latencies_ms(levels: list[float], starts_s: list[float] | None, sends_s: list[float],
                            max_latency_s: float, expected_ms: list[float]) -> None:
    buffers, starts = _recording(levels, starts_s)
    got = event_latencies_ms(buffers, starts, np.array(sends_s), RATE, 0.02, max_latency_s)
    np.testing.assert_allclose(got, expected_ms, atol=1e-9)


def test_event_latencies_without_a_recording_are_all_missed() -> None:
    got = event_latencies_ms(np.zeros((0, FRAMES)), np.zeros(0), np.array([0.1, 0.2]), RATE, 0.02, 0.02)
    assert got.shape == (2,) and np.isnan(got).all()
