"""Banks: many channels analysed in one call give exactly what each gives alone."""

from __future__ import annotations

import numpy as np
import pytest

from installation.dsp.bank import Batch, append_row
from installation.dsp.core import SignalCore
from installation.sensors.base import SampleBlock
from installation.sensors.simulated import SimulatedWearer, WearerProfile


@pytest.mark.parametrize(
    ("array", "row", "expected"),
    [
        (np.zeros((0, 3)), np.array([1.0, 2.0, 3.0]), [[1.0, 2.0, 3.0]]),
        (np.ones((1, 2)), np.array([5.0, 6.0, 7.0]), [[1.0, 1.0, -1.0], [5.0, 6.0, 7.0]]),  # widened with the fill
        (np.ones((1, 3)), np.array([5.0]), [[1.0, 1.0, 1.0], [5.0, -1.0, -1.0]]),
        (np.ones((1, 2)), 4.0, [[1.0, 1.0], [4.0, 4.0]]),
    ],
)
def test_append_row(array: np.ndarray, row: np.ndarray | float, expected: list[list[float]]) -> None:
    assert append_row(array, row, fill=-1.0).tolist() == expected


def test_batch_lays_blocks_end_to_end() -> None:
    batch = Batch([3, 0, 1], [0, 2, 0], [np.arange(2.0), np.arange(0.0), np.arange(3.0)],
                  [np.ones(2), np.ones(0), np.ones(3)], [1.0, 2.0, 3.0])
    assert batch.starts.tolist() == [0, 2, 2] and batch.ends.tolist() == [2, 2, 5]
    assert batch.pos.tolist() == batch.starts.tolist() and not batch.done.any()
    assert batch.rows.tolist() == [3, 0, 1] and batch.banks.tolist() == [0, 2, 0] and batch.values.size == 5


# (slot, signal, rate in hertz, unit, samples per block): rates and block sizes differ within a bank.
CHANNELS = [
    ("p1", "ppg", 100.0, "adc", 2), ("p2", "ppg", 50.0, "adc", 1), ("p3", "ppg", 250.0, "adc", 5),
    ("p4", "ecg", 360.0, "mV", 7), ("p5", "ecg", 500.0, "mV", 10),
    ("p1", "eda", 32.0, "uS", 1), ("p2", "eda", 4.0, "uS", 1), ("p3", "eda", 100.0, "adc", 2),
]


def audience_blocks(seconds: float = 40.0, tick_s: float = 0.02) -> list[list[SampleBlock]]:
    """Per tick, a block from every channel that has samples then; a glitch of NaNs and an empty block included."""
    signals = []
    for k, (slot, kind, rate, unit, _) in enumerate(CHANNELS):
        wearer = SimulatedWearer(WearerProfile(slot, 58.0 + 9 * k), np.random.default_rng(k))
        wearer.add_mood(15.0, 25.0, "excited")
        t = np.arange(0.0, seconds, 1.0 / rate)
        x = {"ppg": wearer.ppg, "ecg": wearer.ecg, "eda": wearer.eda}[kind](t)
        if kind == "ppg" and slot == "p2":
            x[(t > 20.0) & (t < 20.3)] = np.nan
        signals.append((slot, kind, rate, unit, t, x))
    ticks = []
    for i in range(int(seconds / tick_s)):
        lo, hi = i * tick_s, (i + 1) * tick_s
        tick = []
        for slot, kind, rate, unit, t, x in signals:
            a, b = np.searchsorted(t, [lo, hi])
            if b > a or (slot == "p5" and i == 100):
                tick.append(SampleBlock(slot, kind, t[a:b], x[a:b], unit, hi, rate))  # type: ignore[arg-type]
        ticks.append(tick)
    return ticks


def test_a_batch_gives_what_each_channel_gives_alone() -> None:
    ticks = audience_blocks()
    together = SignalCore()
    batched = [e for tick in ticks for e in together.process_many(tick)]
    alone: list = []
    for slot in sorted({c[0] for c in CHANNELS}):
        core = SignalCore()  # a core of its own for each wearer, fed one block at a time
        alone += [e for tick in ticks for b in tick if b.wearer == slot for e in core.process(b)]
    key = lambda e: (e.address, e.time_s)  # noqa: E731
    assert sorted(batched, key=key) == sorted(alone, key=key)
    kinds = {e.address.split(".", 1)[1] for e in batched}
    assert {"heart.beat", "eda.scr"} <= kinds
    assert {e.wearer for e in batched if e.address.endswith("heart.beat")} == {"p1", "p2", "p3", "p4", "p5"}
    assert together.states() == {**{f"{s}.heart": "ok" for s in ("p1", "p2", "p3", "p4", "p5")},
                                 **{f"{s}.eda": "ok" for s in ("p1", "p2", "p3")}}
