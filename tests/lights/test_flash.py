"""Flash safety: the counter against hand-made sequences, the limiter against storms it must tame."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from installation.dsp.flash import count_transitions, relative_luminance
from installation.lights.flash import FlashLimiter, check_max_flashes, count_flashes, fixture_brightness
from installation.lights.storm import hearts_on_one, pulse_train, rig_storm, to_dmx

RATE_HZ = 60.0


def square(freq_hz: float, low: float = 0.0, high: float = 1.0, seconds: float = 3.0, rate_hz: float = RATE_HZ) -> np.ndarray:
    t = np.arange(int(seconds * rate_hz)) / rate_hz
    return np.where((t * freq_hz) % 1.0 < 0.5, high, low)


def sine(freq_hz: float, low: float = 0.0, high: float = 1.0, seconds: float = 6.0, rate_hz: float = RATE_HZ) -> np.ndarray:
    t = np.arange(int(seconds * rate_hz)) / rate_hz
    return low + (high - low) * (0.5 - 0.5 * np.cos(2 * np.pi * freq_hz * t))


def limited(wanted: np.ndarray, limiter: FlashLimiter, rate_hz: float = RATE_HZ) -> np.ndarray:
    frames = wanted.reshape(len(wanted), -1)
    return np.array([limiter.limit(frame, k / rate_hz) for k, frame in enumerate(frames)]).reshape(wanted.shape)


# ---- the definition -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "signal", "worst"),
    [
        ("square 2 Hz", square(2), 2.0),
        ("square 3 Hz", square(3), 3.0),
        ("square 5 Hz", square(5), 5.0),
        ("square 10 Hz", square(10), 10.0),
        ("10 % exactly counts", square(5, 0.3, 0.4), 5.0),
        ("9 % does not", square(5, 0.3, 0.39), 0.0),
        ("ripple under 10 %", 0.5 + 0.045 * np.sin(2 * np.pi * 10 * np.arange(180) / RATE_HZ), 0.0),
        ("darker state at 0.80 does not count", square(10, 0.8, 1.0), 0.0),
        ("darker state at 0.79 counts", square(10, 0.79, 1.0), 10.0),
        ("bright flicker above 0.8", square(10, 0.85, 1.0), 0.0),
        ("slow swell, 0.5 Hz: a fall (timed below 0.8) and the next rise 0.9 s apart", sine(0.5), 1.0),
        ("slow swell, 0.2 Hz", sine(0.2, seconds=10.0), 0.5),
        ("steady", np.full(120, 0.6), 0.0),
        ("one step up", np.r_[np.zeros(30), np.ones(30)], 0.5),
        ("a ripple does not split a rise", np.r_[np.linspace(0, 0.5, 10), np.linspace(0.46, 1.0, 10), np.ones(40)], 0.5),
    ],
)
def test_counter_on_hand_made_sequences(name: str, signal: np.ndarray, worst: float) -> None:
    assert count_flashes(signal, RATE_HZ).max() == worst, name


@pytest.mark.parametrize(("rate_hz", "freq_hz"), [(40.0, 3.0), (44.0, 3.0), (30.0, 3.0), (40.0, 2.0)])
def test_counter_at_dmx_and_video_rates(rate_hz: float, freq_hz: float) -> None:
    assert count_flashes(square(freq_hz, rate_hz=rate_hz), rate_hz).max() == freq_hz


def test_counter_counts_channels_apart() -> None:
    both = np.stack([square(2), square(10)], axis=1)
    assert count_flashes(both, RATE_HZ).max(axis=0).tolist() == [2.0, 10.0]


def test_transitions_are_timed_where_they_complete() -> None:
    marks = count_transitions(np.array([0.0, 0.05, 0.12, 0.5, 0.45, 0.3, 0.2]))
    assert marks.tolist() == [0, 0, 1, 0, 0, 1, 0]  # up by 0.12 at frame 2; down by 0.2 from 0.5 at frame 5


@pytest.mark.parametrize(("rgb", "expected"), [((0, 0, 0), 0.0), ((255, 255, 255), 1.0), ((255, 0, 0), 0.2126),
                                               ((0, 0, 255), 0.0722), ((128, 128, 128), 0.2158605)])
def test_relative_luminance(rgb: tuple[int, int, int], expected: float) -> None:
    assert relative_luminance(np.array(rgb)) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(("colour", "intensity", "expected"), [((0.0, 0.0, 1.0), 1.0, 1.0), ((0.2, 0.5, 0.1), 0.5, 0.25),
                                                               ((1.0,), 0.3, 0.3)])
def test_fixture_brightness_is_the_brightest_emitter(colour: tuple[float, ...], intensity: float, expected: float) -> None:
    assert fixture_brightness(np.array(colour), intensity) == pytest.approx(expected)


# ---- the limiter ----------------------------------------------------------------------------------

STORMS = {
    "10 Hz strobe": square(10, seconds=4.0),
    "5 Hz strobe, dim": square(5, 0.0, 0.3, seconds=4.0),
    "heart at 180 bpm": pulse_train(np.arange(240) / RATE_HZ, 1 / 3),
    "8 hearts at 180 bpm on one fixture": hearts_on_one(RATE_HZ, 4.0),
    "8 hearts, max onto one": rig_storm(RATE_HZ, 4.0, flare_hz=0.01, flare_from_s=99).max(axis=1),
    "group flares at 4 Hz over a heart": rig_storm(RATE_HZ, 4.0, flare_from_s=0.0)[:, 0],
    "noise": np.random.default_rng(3).uniform(0, 1, 240),
    "random walk": np.clip(0.5 + np.cumsum(np.random.default_rng(4).normal(0, 0.06, 240)), 0, 1),
}


@pytest.mark.parametrize("max_flashes", [3.0, 2.0, 1.0, 0.5])
@pytest.mark.parametrize("storm", sorted(STORMS))
def test_limiter_keeps_storms_within_the_limit(storm: str, max_flashes: float) -> None:
    wanted = STORMS[storm]
    limiter = FlashLimiter(1, max_flashes)
    out = limited(wanted, limiter)
    assert count_flashes(out, RATE_HZ).max() <= max(max_flashes, 1.0)
    # below one a second the limit holds over a longer window (0.5: one flash in any two seconds)
    assert count_flashes(out, RATE_HZ, limiter.window_s).max() <= max_flashes * limiter.window_s
    assert np.all(out <= wanted + 1e-12)  # it only ever dims


def test_storms_flash_without_it() -> None:
    """The storms above would fail the test without the limiter (the test can fail)."""
    assert count_flashes(STORMS["10 Hz strobe"], RATE_HZ).max() == 10.0
    assert count_flashes(STORMS["group flares at 4 Hz over a heart"], RATE_HZ).max() > 3.0


@pytest.mark.parametrize(("name", "wanted"), [("0.2 Hz swell", sine(0.2, seconds=10.0)), ("1 Hz breath", sine(1.0)),
                                              ("2 Hz, 0.2 to 0.9", sine(2.0, 0.2, 0.9)),
                                              ("5 Hz ripple under 10 %", sine(5.0, 0.4, 0.47)),
                                              ("bright 10 Hz flicker over 0.85", square(10, 0.85, 1.0)),
                                              ("fade out", np.linspace(1, 0, 300))])
def test_slow_changes_pass_unchanged(name: str, wanted: np.ndarray) -> None:
    assert np.array_equal(limited(wanted, FlashLimiter(1)), wanted), name


def test_pulses_are_dimmed_not_dropped() -> None:
    """With the budget spent a beat still shows, as a swell of less than the threshold."""
    wanted = square(10, 0.2, 1.0, seconds=4.0)
    limiter = FlashLimiter(1)
    out = limited(wanted, limiter)
    late = out[120:]
    assert late.max() > 0.25 and late.min() >= 0.2  # held at the dark level, with a small swell on top
    assert np.any(limiter.scale < 1.0) or np.any(out < wanted)


def test_a_lowered_limit_is_kept() -> None:
    wanted = square(10, seconds=5.0)
    at3 = count_flashes(limited(wanted, FlashLimiter(1, 3.0)), RATE_HZ).max()
    at2 = count_flashes(limited(wanted, FlashLimiter(1, 2.0)), RATE_HZ).max()
    assert 2.0 < at3 <= 3.0 and 1.5 <= at2 <= 2.0  # kept, and still lets a pulse through


@pytest.mark.parametrize("rate_hz", [40.0, 60.0])
def test_a_heart_at_180_bpm_keeps_most_beats(rate_hz: float) -> None:
    """One heart at 180 bpm on one light: most beats at full strength, the others as swells, none lost."""
    t = np.arange(int(10 * rate_hz)) / rate_hz
    wanted = pulse_train(t, 1 / 3)
    out = limited(wanted, FlashLimiter(1), rate_hz)
    beat = (t * 3).astype(int)
    peaks = np.array([out[beat == b].max() - out[beat == b].min() for b in range(1, beat.max())])
    assert count_flashes(out, rate_hz).max() <= 3.0
    assert np.mean(peaks > 0.5) >= 0.6  # at full strength
    assert peaks.min() > 0.05  # the rest still swell


def test_scale_is_allowed_over_wanted() -> None:
    limiter = FlashLimiter(2)
    for k, level in enumerate(square(10, 0.2, 1.0, seconds=2.0)):
        out = limiter.limit(np.array([level, 0.0]), k / RATE_HZ)
    assert limiter.scale[0] == pytest.approx(out[0] / level)
    assert limiter.scale[1] == 1.0


@pytest.mark.parametrize("bad", [0.0, -1.0, 3.01, 10.0, float("nan"), float("inf")])
def test_limit_must_be_within_the_safe_range(bad: float) -> None:
    with pytest.raises(ValueError, match="max_flashes_per_s must be above 0 and at most 3"):
        FlashLimiter(1, bad)
    with pytest.raises(ValueError, match=r"visual\.max_flashes_per_s"):
        check_max_flashes(bad, "visual.max_flashes_per_s")


@settings(max_examples=60, deadline=None)
@given(
    levels=st.lists(st.floats(0.0, 1.0), min_size=2, max_size=12),
    holds=st.lists(st.integers(1, 8), min_size=2, max_size=12),
    repeats=st.integers(1, 6),
    max_flashes=st.sampled_from([3.0, 2.5, 2.0, 1.0, 0.7]),
    rate_hz=st.sampled_from([40.0, 60.0]),
)
def test_limiter_on_random_step_sequences(levels: list[float], holds: list[int], repeats: int, max_flashes: float,
                                          rate_hz: float) -> None:
    """Random levels held for random numbers of frames, repeated: the worst second stays within the limit."""
    n = min(len(levels), len(holds))
    wanted = np.repeat(np.tile(levels[:n], repeats), np.tile(holds[:n], repeats))
    limiter = FlashLimiter(1, max_flashes)
    out = limited(wanted, limiter, rate_hz)
    assert count_flashes(out, rate_hz, limiter.window_s).max() <= max_flashes * limiter.window_s
    assert count_flashes(out, rate_hz).max() <= max(max_flashes, 1.0)


# ---- the rig: fixture brightness frames as DMX carries them ------------------------------------------


@pytest.mark.parametrize("rate_hz", [40.0, 44.0, 30.0])
def test_rig_of_8_washes_at_180_bpm_with_group_flares(rate_hz: float) -> None:
    """8 hearts at 180 bpm onto 8 RGB washes, a group flare at 4 Hz onto all; measured on the 8-bit frames."""
    wanted = rig_storm(rate_hz, seconds=6.0)
    colours = np.array([[0.2, 0.6, 1.0], [1.0, 0.2, 0.4], [0.1, 1.0, 0.5], [0.9, 0.9, 0.2]] * 2)  # max channel 1 each
    limiter = FlashLimiter(8)
    frames = []
    for k, levels in enumerate(wanted):
        rgb = colours * levels[:, None]
        limiter.limit(fixture_brightness(rgb), k / rate_hz)
        frames.append(to_dmx(rgb * limiter.scale[:, None]))
    dmx = np.array(frames)  # (frames, washes, rgb) as the universe would carry them
    measured = fixture_brightness(dmx / 255.0)
    before = count_flashes(fixture_brightness(to_dmx(colours * wanted[:, :, None]) / 255.0), rate_hz).max()
    assert before > 3.0  # the storm does flash without the limiter
    assert count_flashes(measured, rate_hz).max() <= 3.0


@pytest.mark.parametrize(("wanted", "allowed"), [(float("nan"), 0.0), (-0.5, 0.0), (1.7, 1.0), (float("inf"), 1.0)])
def test_limiter_takes_odd_values_safely(wanted: float, allowed: float) -> None:
    limiter = FlashLimiter(1)
    limiter.limit(np.array([0.0]), 0.0)
    assert limiter.limit(np.array([wanted]), 0.1)[0] == allowed
