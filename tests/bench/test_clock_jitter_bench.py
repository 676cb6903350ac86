"""The clock-jitter benchmark's offline part (the live part runs in real time: ``make bench``)."""

from __future__ import annotations

from pathlib import Path

from installation.bench.clock_jitter import packet_stamps, resting_ppg, run

DATA = Path(__file__).parents[1] / "data"


def test_packet_stamps_are_equal_within_a_packet_and_late() -> None:
    t, _, _ = resting_ppg(DATA)
    stamps = packet_stamps(t[:10], per_packet=4, max_delay_s=0.02, seed=3)
    assert stamps[0] == stamps[3] != stamps[4] and stamps[4] == stamps[7] and stamps[8] == stamps[9]
    assert 0.0 <= stamps[0] - t[3] < 0.02 and stamps[9] >= t[9]


def test_offline_figures() -> None:
    result = run(DATA, live_s=0.0)
    assert result["c_packets_rebuilt"]["clock"] == "rebuilt (equal stamps)"  # type: ignore[index]
    assert result["ratio_c_a"] <= 1.5 < result["ratio_b_a"]  # type: ignore[operator]
