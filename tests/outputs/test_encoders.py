"""Pure OSC formatting: features and events -> (address, arguments), per format."""

from __future__ import annotations

import math

import pytest

from installation.outputs.encoders import EmotiBitFormat, OpenBciFormat, PlainFormat, make_format


@pytest.mark.parametrize(
    ("prefix", "address", "value", "expected"),
    [
        ("", "p1.heart.bpm", 72.5, [("/p1/heart/bpm", (72.5,))]),
        ("", "group.sync", 0.25, [("/group/sync", (0.25,))]),
        ("", "group.sync.p1.p3", 0.5, [("/group/sync/p1/p3", (0.5,))]),
        ("", "sound.drone.level", 1, [("/sound/drone/level", (1.0,))]),
        ("/eco", "p12.eda.arousal", 0.5, [("/eco/p12/eda/arousal", (0.5,))]),
        ("", "osc.out./lights/1", 0.5, [("/lights/1", (0.5,))]),
    ],
)
def test_plain_features(prefix: str, address: str, value: float, expected: list) -> None:
    assert PlainFormat(prefix).feature(address, value) == expected


@pytest.mark.parametrize(
    ("address", "value", "expected"),
    [
        ("p1.heart.beat", 70.0, [("/p1/heart/beat", (70.0,))]),
        ("p1.heart.beat", math.nan, [("/p1/heart/beat", ())]),  # a bang
        ("sound.p2.pulse", 1.0, [("/sound/p2/pulse", (1.0,))]),
    ],
)
def test_plain_events(address: str, value: float, expected: list) -> None:
    assert PlainFormat().event(address, value, 10.0) == expected


@pytest.mark.parametrize(
    ("address", "value", "expected"),
    [
        ("p1.heart.bpm", 72.0, [("/EmotiBit/0/HR", (72.0,))]),
        ("p3.heart.bpm", 60.0, [("/EmotiBit/1/HR", (60.0,))]),
        ("p1.eda.scl", 4.5, [("/EmotiBit/0/EDA", (4.5,))]),
        ("p3.eda.scr_rate", 3.0, [("/EmotiBit/1/SCR:FREQ", (3.0,))]),
        ("p2.heart.bpm", 72.0, []),  # not one of the devices
        ("p1.heart.rmssd", 40.0, []),  # EmotiBit has no such address
        ("group.sync", 0.5, []),
    ],
)
def test_emotibit_features(address: str, value: float, expected: list) -> None:
    assert EmotiBitFormat({"p1": 0, "p3": 1}).feature(address, value) == expected


@pytest.mark.parametrize(
    ("address", "value", "time_s", "onset_s", "expected"),
    [
        ("p1.eda.scr", 0.3, 12.0, 10.5, [("/EmotiBit/0/SCR:AMP", (0.3,)), ("/EmotiBit/0/SCR:RIS", (1.5,))]),
        ("p1.eda.scr", 0.3, 12.0, math.nan, [("/EmotiBit/0/SCR:AMP", (0.3,))]),  # onset unknown
        ("p1.heart.beat", 70.0, 12.0, math.nan, []),
        ("p2.eda.scr", 0.3, 12.0, 10.5, []),
    ],
)
def test_emotibit_events(address: str, value: float, time_s: float, onset_s: float, expected: list) -> None:
    assert EmotiBitFormat({"p1": 0}).event(address, value, time_s, onset_s) == expected


def test_openbci_sends_rate_as_an_integer_and_each_beat_interval_in_milliseconds() -> None:
    f = OpenBciFormat("p2")
    assert f.feature("p2.heart.bpm", 71.6) == [("/openbci/pulse/bpm", (72,))]
    assert f.feature("p1.heart.bpm", 71.6) == []
    assert f.event("p2.heart.beat", 70.0, 100.0) == []  # the first beat has no interval
    assert f.event("p1.heart.beat", 70.0, 100.4) == []
    assert f.event("p2.heart.beat", 70.0, 100.8123) == [("/openbci/pulse/ibi", (812,))]
    assert f.event("p2.heart.beat", 70.0, 101.6) == [("/openbci/pulse/ibi", (788,))]


@pytest.mark.parametrize(
    ("name", "wearers", "kind"),
    [("plain", [], PlainFormat), ("emotibit", ["p2", "p1"], EmotiBitFormat), ("openbci", ["p4"], OpenBciFormat)],
)
def test_make_format(name: str, wearers: list[str], kind: type) -> None:
    f = make_format(name, wearers)
    assert isinstance(f, kind)
    if isinstance(f, EmotiBitFormat):
        assert f.devices == {"p2": 0, "p1": 1}  # device index = position in the wearers list
    if isinstance(f, OpenBciFormat):
        assert f.wearer == "p4"


def test_make_format_refuses_an_unknown_name() -> None:
    with pytest.raises(ValueError, match="unknown OSC output format 'midi'; one of: plain, emotibit, openbci"):
        make_format("midi", [])
