"""Every transform of a mapping chain, as tables, plus a property test of the ranges."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from installation.config import ConfigError, Mapping, parse_show
from installation.mapping.mapper import Mapper, compile_mappings
from installation.mapping.transforms import SCALES, ChainState, one_euro, one_pole, quantize_hz, slew

PARAMETERS = {"sound.x": "continuous", "sound.p*.x": "continuous", "sound.p*.hit": "trigger"}


def chain(**spec: object) -> Mapper:
    return Mapper(compile_mappings([Mapping.model_validate({"from": "p*.eda.arousal", "to": "sound.p*.x", **spec})], PARAMETERS))


def run(mapper: Mapper, inputs: list[float], dt_s: float = 0.1) -> list[float]:
    out = []
    for i, v in enumerate(inputs):
        out.append(mapper.apply_features({"p1.eda.arousal": v}, i * dt_s)["sound.p1.x"])
    return out


@pytest.mark.parametrize(
    ("spec", "value", "expected"),
    [
        ({}, 0.25, 0.25),
        ({"invert": True}, 0.25, 0.75),
        ({"curve": "power", "power": 2.0}, 0.5, 0.25),
        ({"curve": "power", "power": 0.5}, 0.25, 0.5),
        ({"curve": "power", "power": 2.0, "invert": True}, 0.25, 0.5625),
        ({"in_range": [0.5, 1.0]}, 0.2, 0.0),
        ({"out_range": [100.0, 200.0]}, 0.5, 150.0),
        ({"out_range": [220.0, 440.0], "quantize": {"scale": "chromatic", "root_hz": 220.0}}, 0.02, 220.0),
        ({"out_range": [220.0, 440.0], "quantize": {"scale": "chromatic", "root_hz": 220.0}}, 0.05, 220.0 * 2 ** (1 / 12)),
        ({"out_range": [220.0, 440.0], "quantize": {"scale": "major", "root_hz": 220.0}}, 0.5, 220.0 * 2 ** (7 / 12)),
    ],
)
def test_stateless_steps(spec: dict[str, object], value: float, expected: float) -> None:
    assert run(chain(**spec), [value]) == [pytest.approx(expected)]


@pytest.mark.parametrize(
    ("freq", "scale", "expected_semitones"),
    [(110.0, "pentatonic", 0), (116.0, "pentatonic", 0), (128.0, "pentatonic", 2), (165.0, "pentatonic", 7),
     (230.0, "minor", 12), (0.0, "major", 0), (104.0, "major", -1)],
)
def test_quantize(freq: float, scale: str, expected_semitones: int) -> None:
    assert quantize_hz(freq, 110.0, SCALES[scale]) == pytest.approx(110.0 * 2 ** (expected_semitones / 12))


def test_one_pole_rises_fast_and_falls_slowly() -> None:
    up = run(chain(smooth={"rise_s": 0.1, "fall_s": 10.0}), [0.0, 1.0, 1.0, 1.0, 0.0, 0.0])
    assert up[0] == 0.0 and up[1] == pytest.approx(1 - math.exp(-1))
    assert up[3] == pytest.approx(1 - math.exp(-3)) and up[5] > 0.93  # barely fallen after 0.2 s of a 10 s fall


def test_slew_limit() -> None:
    assert run(chain(slew_per_s=1.0), [0.0, 1.0, 1.0, 1.0]) == pytest.approx([0.0, 0.1, 0.2, 0.3])


def test_deadband_ignores_small_changes() -> None:
    assert run(chain(deadband=0.1), [0.5, 0.55, 0.58, 0.7]) == pytest.approx([0.5, 0.5, 0.5, 0.7])


def test_one_euro_smooths_jitter_and_follows_moves() -> None:
    state = ChainState()
    jitter = [one_euro(state, 0.5 + (0.05 if i % 2 else -0.05), 0.01, 1.0, 0.0, 1.0) for i in range(200)]
    assert max(jitter[100:]) - min(jitter[100:]) < 0.01
    fast = ChainState()
    moves = [one_euro(fast, i / 100, 0.01, 1.0, 10.0, 1.0) for i in range(100)]
    assert moves[-1] > 0.9  # a high beta follows a fast move closely


@pytest.mark.parametrize(
    ("previous", "target", "dt", "rise", "fall", "expected"),
    [(math.nan, 3.0, 0.1, 1.0, 1.0, 3.0), (0.0, 1.0, 0.0, 1.0, 1.0, 0.0), (0.0, 1.0, 0.1, 0.0, 5.0, 1.0)],
)
def test_one_pole_edges(previous: float, target: float, dt: float, rise: float, fall: float, expected: float) -> None:
    assert one_pole(previous, target, dt, rise, fall) == pytest.approx(expected)


def test_slew_edges() -> None:
    assert slew(math.nan, 5.0, 0.1, 1.0) == 5.0 and slew(0.0, 5.0, 0.1, 0.0) == 5.0 and slew(1.0, 0.0, 0.2, 1.0) == pytest.approx(0.8)


def test_nan_in_holds_the_parameter() -> None:
    mapper = chain(smooth={"rise_s": 1.0, "fall_s": 1.0})
    assert mapper.apply_features({"p1.eda.arousal": 0.3}, 0.0) == {"sound.p1.x": 0.3}
    assert mapper.apply_features({"p1.eda.arousal": math.nan}, 0.1) == {}


def test_threshold_fires_once_per_crossing() -> None:
    mapper = Mapper(compile_mappings([Mapping.model_validate(
        {"from": "p*.eda.arousal", "to": "sound.p*.hit", "threshold": {"on": 0.8, "off": 0.5}})], PARAMETERS))
    fired = []
    for i, v in enumerate([0.1, 0.85, 0.9, 0.7, 0.82, 0.4, 0.81]):
        mapper.apply_features({"p1.eda.arousal": v}, i * 0.1)
        fired.append(len(mapper.fired))
    assert fired == [0, 1, 0, 0, 0, 0, 1]  # re-armed only after falling to 0.5


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ('in_range = [2, 2]\n', "mappings[0].in_range: in_range needs two different ends"),
        ('curve = "cubic"\n', "mappings[0].curve"),
        ('smooth = { rise = 1 }\n', "mappings[0].smooth.rise: unknown key; did you mean 'rise_s'"),
        ('threshold = { on = 0.2, off = 0.5 }\n', "off (0.5) must be below on (0.2)"),
        ('slew_per_s = -1\n', "mappings[0].slew_per_s"),
        ('quantize = { scale = "dorian" }\n', "mappings[0].quantize.scale"),
    ],
)
def test_bad_chains_are_refused_at_load(extra: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_show('[[mappings]]\nfrom = "p*.eda.arousal"\nto = "sound.p*.x"\n' + extra, "show.toml")
    assert fragment in str(err.value)


def test_events_are_never_smoothed() -> None:
    with pytest.raises(ConfigError, match="events are never smoothed"):
        compile_mappings([Mapping.model_validate({"from": "p*.heart.beat", "to": "sound.p*.hit", "smooth": {"rise_s": 1}})], PARAMETERS)


ranges = st.tuples(st.floats(-1e3, 1e3), st.floats(-1e3, 1e3)).filter(lambda r: abs(r[0] - r[1]) > 1e-6)


@settings(max_examples=200, deadline=None)
@given(
    in_range=ranges,
    out_range=ranges,
    curve=st.sampled_from(["linear", "exponential", "logarithmic", "s-curve", "power"]),
    invert=st.booleans(),
    smooth=st.booleans(),
    slew_rate=st.floats(0.0, 100.0),
    inputs=st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=1, max_size=20),
)
def test_outputs_stay_inside_the_declared_range(in_range, out_range, curve, invert, smooth, slew_rate, inputs) -> None:
    spec = {"in_range": list(in_range), "out_range": list(out_range), "curve": curve, "invert": invert, "slew_per_s": slew_rate}
    if smooth:
        spec["smooth"] = {"rise_s": 0.5, "fall_s": 2.0}
    mapper = chain(**spec)
    lo, hi = min(out_range), max(out_range)
    for i, v in enumerate(inputs):
        for value in mapper.apply_features({"p1.eda.arousal": v}, i * 0.05).values():
            assert lo - 1e-9 * max(1.0, abs(lo)) <= value <= hi + 1e-9 * max(1.0, abs(hi))


@pytest.mark.parametrize(
    ("fallback", "expected_after"),
    [("hold", None), ("rest", 0.0), ("group", 0.9)],
)
def test_fallback_when_the_wearer_goes(fallback: str, expected_after: float | None) -> None:
    mapper = chain(fallback=fallback, rest=0.0, fallback_glide_s=0.0)
    present = {"p1.eda.arousal": 0.4, "p1.quality": 1.0, "group.eda.arousal": 0.9}
    assert mapper.apply_features(present, 0.0) == {"sound.p1.x": 0.4}
    gone = {"p1.eda.arousal": 0.4, "p1.quality": 0.0, "group.eda.arousal": 0.9}  # sensor lifted: quality 0
    after = mapper.apply_features(gone, 0.1)
    if expected_after is None:
        assert after == {}  # the parameter holds where it was
    else:
        assert after == {"sound.p1.x": pytest.approx(expected_after)}


def test_fallback_rest_glides() -> None:
    mapper = chain(fallback="rest", rest=0.0, fallback_glide_s=1.0)
    mapper.apply_features({"p1.eda.arousal": 1.0, "p1.quality": 1.0}, 0.0)
    values = [mapper.apply_features({"p1.eda.arousal": math.nan, "p1.quality": 0.0}, 0.1 * (i + 1))["sound.p1.x"] for i in range(10)]
    assert values == sorted(values, reverse=True) and values[0] < 1.0 and values[-1] == pytest.approx(math.exp(-1.0))


def test_group_fallback_needs_a_group_feature() -> None:
    with pytest.raises(ConfigError, match="there is no group.heart.rmssd"):
        compile_mappings([Mapping.model_validate({"from": "p*.heart.rmssd", "to": "sound.p*.x", "fallback": "group"})], PARAMETERS)


def test_any_wearer_and_arrivals_drive_shared_triggers() -> None:
    from installation.dsp.events import Event

    params = {"sound.bell": "trigger", "sound.gong": "trigger"}
    mapper = Mapper(compile_mappings([Mapping.model_validate({"from": "any.heart.beat", "to": "sound.bell"}),
                                      Mapping.model_validate({"from": "p*.wearer.arrive", "to": "sound.gong"})], params))  # type: ignore[arg-type]
    assert mapper.apply_event(Event("p7.heart.beat", 70.0, 1.0, 1.1, 2.0)) == [("sound.bell", 1.0)]
    assert mapper.apply_event(Event("p2.wearer.arrive", 1.0, 1.0, 1.0, 1.0)) == [("sound.gong", 1.0)]
