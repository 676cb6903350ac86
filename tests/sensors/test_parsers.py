"""Every line format, as tables of lines and what they must give (or refuse)."""

from __future__ import annotations


import pytest

from installation.sensors.parsers import (
    CsvColumns,
    FormatError,
    GroveGsr,
    KeyValue,
    Native,
    PulseSensorPlotter,
    PulseSensorVisualizer,
    Reading,
    detect_format,
    grove_microsiemens,
    native_checksum,
    native_encode,
)

from tests.helpers import REPO

VECTORS = REPO / "hardware" / "vectors"


def kinds(readings: list[Reading]) -> list[tuple[int, str, float]]:
    return [(r.sensor, r.kind, round(r.value, 6)) for r in readings]


@pytest.mark.parametrize(
    ("columns", "line", "expected"),
    [
        ("triplet", "72,833,512", [(0, "ppg", 512), (0, "bpm", 72), (0, "ibi", 0.833)]),
        ("triplet", "0,0,498\r\n", [(0, "ppg", 498)]),  # no beat yet
        ("triplet", "72,833,512,64,937,530", [(0, "ppg", 512), (0, "bpm", 72), (0, "ibi", 0.833), (1, "ppg", 530), (1, "bpm", 64), (1, "ibi", 0.937)]),
        ("signal", "512,530,498", [(0, "ppg", 512), (1, "ppg", 530), (2, "ppg", 498)]),
    ],
)
def test_pulsesensor_plotter(columns: str, line: str, expected: list[tuple[int, str, float]]) -> None:
    assert kinds(PulseSensorPlotter(columns).parse(line)) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(("line", "error"), [("72,833", "multiple of 3"), ("72,abc,512", "column 2: not a number"), ("", "empty"), ("1,nan,3", "not a finite")])
def test_pulsesensor_plotter_refuses(line: str, error: str) -> None:
    with pytest.raises(FormatError, match=error):
        PulseSensorPlotter().parse(line)


def test_pulsesensor_visualizer_one_then_several_sensors() -> None:
    p = PulseSensorVisualizer()
    assert kinds(p.parse("S512")) == [(0, "ppg", 512)]
    assert kinds(p.parse("B72")) == [(0, "bpm", 72)]
    assert kinds(p.parse("Q833")) == [(0, "ibi", 0.833)]
    several = PulseSensorVisualizer()
    assert kinds(several.parse("a512")) == [(0, "ppg", 512)]
    assert kinds(several.parse("b498")) == [(1, "ppg", 498)]
    assert kinds(several.parse("B64")) == [(1, "bpm", 64)]  # sensor 2's BPM once several sensors are seen
    assert kinds(several.parse("N937")) == [(1, "ibi", 0.937)]


@pytest.mark.parametrize("line", ["X", "S", "Sabc", "?12"])
def test_pulsesensor_visualizer_refuses(line: str) -> None:
    with pytest.raises(FormatError):
        PulseSensorVisualizer().parse(line)


@pytest.mark.parametrize(
    ("line", "convert", "expected"),
    [
        ("300", False, 300.0),
        ("gsr_average = 300", False, 300.0),
        ("GSR_AVERAGE: 300\r", False, 300.0),
        ("300", True, round(grove_microsiemens(300.0), 6)),
        ("600", True, 0.0),  # above calibration: electrodes apart
    ],
)
def test_grove_gsr(line: str, convert: bool, expected: float) -> None:
    (r,) = GroveGsr(convert=convert).parse(line)
    assert r.kind == "eda" and round(r.value, 6) == expected and r.unit == ("uS" if convert else "adc")


def test_grove_conversion_matches_the_datasheet_formula() -> None:
    # reading 300, calibration 512: R = (1024 + 600) * 10000 / 212 = 76604 ohm -> 13.05 uS
    assert grove_microsiemens(300.0, 512.0) == pytest.approx(1e6 / (1624 * 10000 / 212))
    assert grove_microsiemens(300.0, 520.0) > grove_microsiemens(300.0, 512.0)  # a higher calibration reads wetter skin


@pytest.mark.parametrize("line", ["abc", "gsr_average = ", "2000", "-5"])
def test_grove_refuses(line: str) -> None:
    with pytest.raises(FormatError):
        GroveGsr().parse(line)


def test_csv_columns() -> None:
    p = CsvColumns(["ppg1", "ppg2", "eda1"])
    assert p.parse("ppg1,ppg2,eda1") == []  # header
    assert kinds(p.parse("512, 498 ,4.2")) == [(0, "ppg", 512), (1, "ppg", 498), (0, "eda", 4.2)]
    with pytest.raises(FormatError, match="expected 3 columns, found 2"):
        p.parse("1,2")
    with pytest.raises(FormatError, match="unknown channel"):
        CsvColumns(["heart"])


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("ppg=512 eda=3.2", [(0, "ppg", 512), (0, "eda", 3.2)]),
        ("ppg2:498, eda2:4.1", [(1, "ppg", 498), (1, "eda", 4.1)]),
        ("bpm=70;ibi=0.857", [(0, "bpm", 70), (0, "ibi", 0.857)]),
    ],
)
def test_key_value(line: str, expected: list[tuple[int, str, float]]) -> None:
    assert kinds(KeyValue().parse(line)) == expected


@pytest.mark.parametrize(("line", "error"), [("hello", "no key=value"), ("temp=21", "unknown channel"), ("ppg=x", "not a number")])
def test_key_value_refuses(line: str, error: str) -> None:
    with pytest.raises(FormatError, match=error):
        KeyValue().parse(line)


def test_native_round_trip() -> None:
    line = native_encode(65537, 123456, {"ppg": 512, "gsr": 300, "ppg2": 498})
    assert line.startswith("E1,1,123456,")
    readings = Native().parse(line + "\r\n")
    assert kinds(readings) == [(0, "ppg", 512), (0, "eda", 300), (1, "ppg", 498)]
    assert all(r.seq == 1 and r.device_time_s == pytest.approx(123.456) for r in readings)
    assert readings[1].unit == "adc"


def test_native_consent_field() -> None:
    """A consent button's field (``[record] consent = "device"``): 1 when the wearer agrees."""
    readings = Native().parse(native_encode(7, 1000, {"ppg": 512, "consent2": 1}))
    assert kinds(readings) == [(0, "ppg", 512), (1, "consent", 1)]


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("E1,5,100,ppg=512", "no '\\*hh' checksum"),
        ("E1,5,100,ppg=512*00", "checksum 00 does not match"),
        ("E2,5,100,ppg=512*" + native_checksum("E2,5,100,ppg=512"), "expected 'E1"),
        ("E1,x,100,ppg=512*" + native_checksum("E1,x,100,ppg=512"), "must be integers"),
        ("E1,5,100,temp=21*" + native_checksum("E1,5,100,temp=21"), "unknown field"),
    ],
)
def test_native_refuses(line: str, error: str) -> None:
    with pytest.raises(FormatError, match=error):
        Native().parse(line)


def test_native_shared_vectors() -> None:
    """The captured lines the firmware is checked against parse as the spec says."""
    good = (VECTORS / "native_good.txt").read_text().splitlines()
    bad = (VECTORS / "native_bad.txt").read_text().splitlines()
    parser = Native()
    seqs = [parser.parse(line)[0].seq for line in good]
    assert seqs == list(range(seqs[0], seqs[0] + len(good)))
    for line in bad:
        with pytest.raises(FormatError):
            parser.parse(line)


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["E1,1,10,ppg=1*" + native_checksum("E1,1,10,ppg=1")], "native"),
        (["S512", "S515", "B72", "Q833"], "pulsesensor-visualizer"),
        (["gsr_average = 300"], "grove-gsr"),
        (["ppg=1 eda=2"], "key-value"),
        (["72,833,512"], None),  # plotter, GSR or CSV: the show file must say
        (["512"], None),
    ],
)
def test_detect_format(lines: list[str], expected: str | None) -> None:
    assert detect_format(lines) == expected


def test_auto_recognises_then_parses_what_it_saw() -> None:
    from installation.sensors.parsers import AutoParser

    p = AutoParser()
    first = p.parse("S512")
    assert p.name == "auto: pulsesensor-visualizer" and kinds(first) == [(0, "ppg", 512)]
    assert kinds(p.parse("B70")) == [(0, "bpm", 70)]


def test_auto_refuses_bare_numbers_with_advice() -> None:
    from installation.sensors.parsers import AutoParser

    p = AutoParser(sample_lines=3)
    assert p.parse("512") == [] and p.parse("513") == []
    with pytest.raises(FormatError, match="name it in the show file or with --format"):
        p.parse("514")


@pytest.mark.parametrize("name", ["native", "pulsesensor-plotter", "pulsesensor-visualizer", "grove-gsr", "key-value", "auto"])
def test_make_parser(name: str) -> None:
    from installation.sensors.parsers import make_parser

    assert make_parser(name).name.startswith(name)


def test_make_parser_refuses() -> None:
    from installation.sensors.parsers import make_parser

    with pytest.raises(FormatError, match="unknown format 'emotibit-serial'"):
        make_parser("emotibit-serial")
    with pytest.raises(FormatError, match="needs its columns"):
        make_parser("csv")
