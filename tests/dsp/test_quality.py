"""Channel quality and fault states, one table of cases."""

from __future__ import annotations

import numpy as np
import pytest

from installation.dsp.quality import ChannelQuality, clean_block


def run(blocks: list[np.ndarray], signal_state: str = "ok", rate_hz: float = 100.0) -> ChannelQuality:
    q = ChannelQuality(rate_hz)
    for b in blocks:
        cleaned, bad = clean_block(b)
        q.judge(cleaned, bad, signal_state, 1.0)  # type: ignore[arg-type]
    return q


rng = np.random.default_rng(0)
pulse = [512 + 100 * np.sin(2 * np.pi * 1.2 * np.arange(i, i + 10) / 100) + rng.normal(0, 2, 10) for i in range(0, 500, 10)]
railing = [np.minimum(512 + 900 * np.sin(2 * np.pi * 1.2 * np.arange(i, i + 10) / 100), 1023.0) for i in range(0, 500, 10)]


@pytest.mark.parametrize(
    ("blocks", "signal_state", "state", "good"),
    [
        (pulse, "ok", "ok", True),
        ([np.full(10, 512.0)] * 50, "ok", "flat", False),
        (railing, "ok", "saturated", False),
        ([np.full(10, np.nan)] * 50, "ok", "implausible", False),
        (pulse, "no_contact", "no_contact", False),
        (pulse, "noisy", "noisy", None),
        (pulse[:1], "ok", "ok", None),  # too early to call flat
    ],
)
def test_states(blocks: list[np.ndarray], signal_state: str, state: str, good: bool | None) -> None:
    q = run(blocks, signal_state)
    assert q.state == state
    if good is True:
        assert q.quality > 0.9
    elif good is False:
        assert q.quality <= 0.2


def test_noisy_lowers_quality_without_silencing() -> None:
    assert 0.2 < run(pulse, "noisy").quality < 0.6


def test_recovers_after_a_fault() -> None:
    q = run([np.full(10, 512.0)] * 50 + pulse)
    assert q.state == "ok" and q.quality > 0.9


@pytest.mark.parametrize(
    ("values", "expected", "bad"),
    [
        ([1.0, np.nan, 3.0], [1.0, 1.0, 3.0], 1),
        ([np.inf, 2.0, -np.inf], [2.0, 2.0, 2.0], 2),
        ([1.0, 2.0], [1.0, 2.0], 0),
    ],
)
def test_clean_block(values: list[float], expected: list[float], bad: int) -> None:
    cleaned, n_bad = clean_block(np.array(values))
    assert cleaned.tolist() == expected and n_bad == bad
