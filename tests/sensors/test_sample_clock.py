"""The sample clock rebuilt from packet, coarse and arrival stamps (synthetic streams, tables)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest

from installation.sensors.assemble import BlockAssembler
from installation.sensors.parsers import Reading
from installation.sensors.sample_clock import SampleClock, stamp_problem


@dataclass
class Stream:
    """A synthetic stream: true sample times, and the stamps of each chunk as a source would see them."""

    true_s: list[np.ndarray] = field(default_factory=list)
    stamps_s: list[np.ndarray] = field(default_factory=list)


def packets(seconds: float = 60.0, rate_hz: float = 64.0, true_rate_hz: float | None = None, per_packet: int = 4,
            max_delay_s: float = 0.02, seed: int = 0, delay_step: tuple[float, float] | None = None,
            lost: tuple[float, float] | None = None, held_until: tuple[float, float] | None = None) -> Stream:
    """Packets stamped on arrival: the last sample's true time plus a delay in [0, max_delay_s).

    ``delay_step`` (from, seconds) adds to every delay from a time on; ``lost``
    (from, to) drops the packets in between; ``held_until`` (from, to) holds the
    packets sent in between until ``to`` (a burst after a stall).
    """
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * (true_rate_hz or rate_hz))) / (true_rate_hz or rate_hz) + 100.0
    out = Stream()
    for i in range(0, t.size - per_packet + 1, per_packet):
        chunk = t[i : i + per_packet]
        sent = chunk[-1] - 100.0
        if lost and lost[0] <= sent < lost[1]:
            continue
        arrival = chunk[-1] + rng.uniform(0.0, max_delay_s)
        if delay_step and sent >= delay_step[0]:
            arrival += delay_step[1]
        if held_until and held_until[0] <= sent < held_until[1]:
            arrival = max(arrival, 100.0 + held_until[1] + rng.uniform(0.0, 0.001))
        out.true_s.append(chunk)
        out.stamps_s.append(np.full(per_packet, arrival))
    return out


def coarse_ticks(seconds: float = 60.0, rate_hz: float = 100.0, tick_s: float = 0.015625, seed: int = 0) -> Stream:
    """Every sample read on its own and stamped by a PC clock that ticks every ``tick_s`` (repeated stamps)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate_hz)) / rate_hz + 100.0
    read = t + rng.uniform(0.0, 0.002, t.size)
    stamps = np.floor(read / tick_s) * tick_s
    return Stream([t[i : i + 1] for i in range(t.size)], [stamps[i : i + 1] for i in range(t.size)])


def device_clock(seconds: float = 20.0, rate_hz: float = 250.0, per_chunk: int = 5, decimals: int | None = None) -> Stream:
    """A good device clock: one stamp per sample, regular (optionally rounded to ``decimals``)."""
    t = np.arange(int(seconds * rate_hz)) / rate_hz + 100.0
    stamps = t if decimals is None else np.round(t, decimals)
    return Stream([t[i : i + per_chunk] for i in range(0, t.size, per_chunk)],
                  [stamps[i : i + per_chunk] for i in range(0, t.size, per_chunk)])


def run(stream: Stream, clock: SampleClock) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(true times, stamps, the clock's times), chunk by chunk as they would arrive."""
    got = [clock.times(s) for s in stream.stamps_s]
    return np.concatenate(stream.true_s), np.concatenate(stream.stamps_s), np.concatenate(got)


def spread_ms(errors_s: np.ndarray) -> float:
    """SD of the error about its median, in ms (a constant offset, the mean delay, does not count)."""
    return float(np.std(errors_s - np.median(errors_s)) * 1000)


@pytest.mark.parametrize(
    ("name", "stream", "rate_hz", "settle_s", "max_sd_ms"),
    [
        ("equal stamps per packet of 4, 0-20 ms delay", packets(), 64.0, 5.0, 1.5),
        ("equal stamps per packet of 8, 0-50 ms delay", packets(per_packet=8, max_delay_s=0.05, seed=1), 64.0, 5.0, 3.0),
        ("coarse ticks of 15.6 ms at 100 Hz", coarse_ticks(), 100.0, 5.0, 1.5),
        ("device 0.5 % faster than nominal", packets(true_rate_hz=64.32), 64.0, 10.0, 1.5),
        ("a late burst after a 300 ms stall", packets(held_until=(30.0, 30.3)), 64.0, 5.0, 1.5),
    ],
)
def test_rebuilt_times_follow_the_samples(name: str, stream: Stream, rate_hz: float, settle_s: float,
                                          max_sd_ms: float) -> None:
    clock = SampleClock(rate_hz, "fit")
    true, stamps, got = run(stream, clock)
    late = true >= true[0] + settle_s
    assert spread_ms(got[late] - true[late]) <= max_sd_ms, name
    assert spread_ms(stamps[late] - true[late]) > 2 * max_sd_ms  # the stamps themselves are far worse
    assert np.all(np.diff(got) > 0)  # never back, never equal
    assert clock.gaps == clock.steps_back == 0


def test_drift_is_learnt() -> None:
    clock = SampleClock(64.0, "fit")
    run(packets(true_rate_hz=64.32), clock)
    assert clock.rate_hz == pytest.approx(64.32, rel=2e-4)


def test_a_burst_keeps_the_line_times() -> None:
    """Packets held 300 ms and then delivered at once keep the times of their samples (no gap, no step)."""
    true, stamps, got = run(packets(held_until=(30.0, 30.3)), SampleClock(64.0, "fit"))
    err = got - true
    assert np.max(np.abs(err - np.median(err))) < 0.012
    assert np.max(stamps - true) > 0.25


@pytest.mark.parametrize(
    ("name", "stream", "shift_s", "gaps"),
    [
        ("the delay steps up by 100 ms", packets(delay_step=(30.0, 0.1)), 0.1, 1),
        ("2 s of packets lost", packets(lost=(30.0, 32.0)), 0.0, 1),
    ],
)
def test_jumps_and_gaps_restart_the_line(name: str, stream: Stream, shift_s: float, gaps: int) -> None:
    clock = SampleClock(64.0, "fit")
    true, _, got = run(stream, clock)
    err = got - true
    before = (true >= true[0] + 5.0) & (true < true[0] + 30.0)
    after = true >= true[0] + 33.0
    assert clock.gaps == gaps, name
    assert np.median(err[after]) - np.median(err[before]) == pytest.approx(shift_s, abs=0.003)
    assert spread_ms(err[after]) < 1.5 and spread_ms(err[before]) < 1.5
    assert np.all(np.diff(got) > 0)


def test_a_clock_stepping_back_never_moves_time_back() -> None:
    """Irregular device stamps whose clock is set back by 0.5 s: times stay increasing, then follow the new clock."""
    stream = packets(per_packet=1, max_delay_s=0.01)
    stream.stamps_s = [s - 0.5 if t[-1] >= 130.0 else s for t, s in zip(stream.true_s, stream.stamps_s)]
    clock = SampleClock(64.0, "auto")
    true, _, got = run(stream, clock)
    assert clock.fitting and clock.reason == "irregular stamps"
    assert clock.steps_back == 1
    assert np.all(np.diff(got) > 0)
    err = got - true
    before, after = (true >= 105.0) & (true < 130.0), true >= 132.0
    assert np.median(err[after]) - np.median(err[before]) == pytest.approx(-0.5, abs=0.003)


@pytest.mark.parametrize(
    ("name", "stream", "rate_hz"),
    [
        ("device clock, 250 Hz, 5 samples a chunk", device_clock(), 250.0),
        ("device clock rounded to ms, 360 Hz", device_clock(rate_hz=360.0, decimals=3), 360.0),
        ("device clock, 64 Hz, one sample a chunk", device_clock(rate_hz=64.0, per_chunk=1), 64.0),
    ],
)
def test_good_stamps_are_untouched(name: str, stream: Stream, rate_hz: float) -> None:
    clock = SampleClock(rate_hz, "auto")
    _, stamps, got = run(stream, clock)
    assert not clock.fitting, name
    assert np.array_equal(got, stamps)


@pytest.mark.parametrize(
    ("name", "stamps", "rate_hz", "expected"),
    [
        ("packets of 4", np.concatenate(packets(seconds=5).stamps_s), 64.0, "equal stamps"),
        ("coarse ticks", np.concatenate(coarse_ticks(seconds=5).stamps_s), 100.0, "equal stamps"),
        ("arrival per sample", np.arange(500) / 64.0 + np.random.default_rng(0).uniform(0, 0.004, 500), 64.0,
         "irregular stamps"),
        ("device clock", np.arange(500) / 250.0, 250.0, None),
        ("rounded to ms at 360 Hz", np.round(np.arange(500) / 360.0, 3), 360.0, None),
        ("too short to judge", np.zeros(10), 64.0, None),
    ],
)
def test_stamp_problem(name: str, stamps: np.ndarray, rate_hz: float, expected: str | None) -> None:
    assert stamp_problem(stamps, rate_hz) == expected, name


def test_assembler_rebuilds_arrival_stamped_blocks() -> None:
    """Readings without a device time (a serial line, an OSC message without a time tag): the block's arrival
    stamps the fit, not the block's samples directly."""
    assembler = BlockAssembler(["p1"], {"ppg": 64.0})
    stream = packets()
    got = []
    for true, stamps in zip(stream.true_s, stream.stamps_s):
        assembler.add([Reading(0, "ppg", float(i), "adc") for i in range(true.size)])
        (block,) = assembler.blocks(float(stamps[0]))
        got.append(block.times_s)
    true_all, times = np.concatenate(stream.true_s), np.concatenate(got)
    late = true_all >= true_all[0] + 5.0
    assert spread_ms(times[late] - true_all[late]) < 1.5
    assert np.all(np.diff(times) > 0)
    assert assembler.clocks[(0, "ppg")].reason == "arrival stamps"


def test_assembler_keeps_beats_and_rates_as_they_come() -> None:
    """Derived readings (bpm, ibi) arrive at beats, not at a rate: their times are not fitted."""
    assembler = BlockAssembler(["p1"])
    assembler.add([Reading(0, "ibi", 0.8, "s")])
    (block,) = assembler.blocks(50.0)
    assert block.times_s.tolist() == [50.0] and not assembler.clocks


def test_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive rate"):
        SampleClock(0.0)
