"""Transfer curves, and range mapping through a compiled mapping's stateless chain."""

from __future__ import annotations

import pytest

from installation.config import Mapping
from installation.mapping.curves import CURVES
from installation.mapping.mapper import compile_mappings


@pytest.mark.parametrize(
    ("value", "in_range", "out_range", "curve", "expected"),
    [
        (0.5, (0.0, 1.0), (0.0, 1.0), "linear", 0.5),
        (75.0, (50.0, 100.0), (0.0, 10.0), "linear", 5.0),
        (-3.0, (0.0, 1.0), (2.0, 4.0), "linear", 2.0),  # clipped below
        (9.0, (0.0, 1.0), (2.0, 4.0), "linear", 4.0),  # clipped above
        (0.25, (0.0, 1.0), (1.0, 0.0), "linear", 0.75),  # reversed output inverts
        (0.25, (1.0, 0.0), (0.0, 1.0), "linear", 0.75),  # reversed input inverts
        (0.5, (0.0, 1.0), (0.0, 1.0), "s-curve", 0.5),
        (0.25, (0.0, 1.0), (0.0, 1.0), "s-curve", 0.15625),
    ],
)
def test_map_value(value: float, in_range: tuple[float, float], out_range: tuple[float, float], curve: str, expected: float) -> None:
    spec = Mapping.model_validate({"from": "group.eda.arousal", "to": "sound.x", "in_range": list(in_range),
                                   "out_range": list(out_range), "curve": curve})
    (mapping,) = compile_mappings([spec], {"sound.x": "continuous"})
    assert mapping.value(value) == pytest.approx(expected)


@pytest.mark.parametrize("name", sorted(CURVES))
def test_curves_are_monotonic_from_0_to_1(name: str) -> None:
    f = CURVES[name]
    xs = [i / 100 for i in range(101)]
    ys = [f(x) for x in xs]
    assert ys[0] == pytest.approx(0.0, abs=1e-12) and ys[-1] == pytest.approx(1.0)
    assert all(b >= a for a, b in zip(ys, ys[1:]))


def test_exponential_and_logarithmic_bend_opposite_ways() -> None:
    assert CURVES["exponential"](0.5) < 0.5 < CURVES["logarithmic"](0.5)
