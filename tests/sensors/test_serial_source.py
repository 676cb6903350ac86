"""The serial source on real pseudo-terminals: every line format, garbage, lost
lines, and a cable pulled and plugged back mid-stream."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest

from streams import Pty, collect, values

from installation.sensors.parsers import (
    CsvColumns,
    GroveGsr,
    KeyValue,
    Native,
    PulseSensorPlotter,
    PulseSensorVisualizer,
    native_encode,
)
from installation.sensors.serial_source import SerialSource, find_port


@pytest.fixture
def pty(tmp_path: Path) -> Iterator[Pty]:
    p = Pty(tmp_path / "ttyECO0")
    yield p
    p.close()





def test_native_lines_become_blocks(pty: Pty) -> None:
    source = SerialSource(str(pty.link), 115200, Native(), ["p1", "p2"])
    with source:
        assert source.connected
        for i in range(50):
            pty.write(native_encode(i, 1000 + 10 * i, {"ppg": 500 + i, "gsr": 300, "ppg2": 400 + i}) + "\r\n")
        blocks = collect(source, 3.0, until=lambda b: len(values(b, "p2", "ppg")) >= 50)
    assert values(blocks, "p1", "ppg") == [500.0 + i for i in range(50)]
    assert values(blocks, "p2", "ppg") == [400.0 + i for i in range(50)]
    times = np.concatenate([b.times_s for b in blocks if b.wearer == "p1" and b.signal == "ppg"])
    assert np.allclose(np.diff(times), 0.01)  # the device clock's spacing is kept
    assert source.lines == 50 and source.corrupt == 0 and source.lost == 0


def test_garbage_and_lost_lines_are_counted_not_raised(pty: Pty) -> None:
    source = SerialSource(str(pty.link), 115200, Native(), ["p1"])
    with source:
        lines = [native_encode(i, 10 * i, {"ppg": 500}) for i in range(20)]
        del lines[5:8]  # three lines lost on the way
        lines.insert(3, lines[3][:-2] + "00")  # a corrupted checksum
        lines.insert(10, "E1,9,90,ppg=5")  # truncated: no checksum
        stream = "\n".join(lines) + "\n"
        pty.write(b"\x00\xff\xfe garbage\n")
        pty.write(stream[:37])  # a line split across two writes
        time.sleep(0.05)
        pty.write(stream[37:])
        pty.write(b"x" * 2000)  # a runaway line with no end
        pty.write("\n" + native_encode(20, 200, {"ppg": 777}) + "\n")
        blocks = collect(source, 3.0, until=lambda b: 777.0 in values(b, "p1", "ppg"))
    assert len(values(blocks, "p1", "ppg")) == 18
    assert source.corrupt >= 4  # garbage, bad checksum, truncated, runaway
    assert source.lost == 3


@pytest.mark.parametrize(
    ("parser", "lines", "wearer", "signal", "expected"),
    [
        (PulseSensorPlotter(), ["72,833,512", "72,833,520", "73,820,530"], "p1", "ppg", [512.0, 520.0, 530.0]),
        (PulseSensorPlotter(), ["72,833,512", "73,820,530"], "p1", "bpm", [72.0, 73.0]),
        (PulseSensorVisualizer(), ["S512", "S515", "B72", "Q833", "S520"], "p1", "ibi", [0.833]),
        (PulseSensorVisualizer(), ["a512", "b300", "a515", "N900"], "p2", "ibi", [0.9]),
        (GroveGsr(convert=False), ["300", "gsr_average = 310"], "p1", "eda", [300.0, 310.0]),
        (CsvColumns(["ppg", "eda2"]), ["ppg,eda2", "512,4.5", "515,4.6"], "p2", "eda", [4.5, 4.6]),
        (KeyValue(), ["ppg=512 eda=3.2", "ppg=515 eda=3.3"], "p1", "eda", [3.2, 3.3]),
    ],
)
def test_formats_over_a_real_port(pty: Pty, parser, lines: list[str], wearer: str, signal: str, expected: list[float]) -> None:
    source = SerialSource(str(pty.link), 115200, parser, ["p1", "p2"])
    with source:
        pty.write("\r\n".join(lines) + "\r\n")
        blocks = collect(source, 3.0, until=lambda b: len(values(b, wearer, signal)) >= len(expected))
    assert values(blocks, wearer, signal) == pytest.approx(expected)


def test_unplug_and_replug_mid_stream(pty: Pty) -> None:
    source = SerialSource(str(pty.link), 115200, Native(), ["p1"], max_backoff_s=0.2)
    with source:
        pty.write("".join(native_encode(i, 10 * i, {"ppg": 100 + i}) + "\n" for i in range(10)))
        before = collect(source, 3.0, until=lambda b: len(values(b, "p1", "ppg")) >= 10)
        pty.unplug()
        gone = collect(source, 0.5)  # no exception while the port is away
        assert not source.connected and not gone
        pty.plug()
        replugged = time.monotonic()
        collect(source, 5.0, until=lambda _: source.connected)
        reconnect_s = time.monotonic() - replugged
        pty.write("".join(native_encode(i, 10 * i, {"ppg": 100 + i}) + "\n" for i in range(10, 20)))
        after = collect(source, 3.0, until=lambda b: len(values(b, "p1", "ppg")) >= 10)
    assert values(before, "p1", "ppg") == [100.0 + i for i in range(10)]
    assert values(after, "p1", "ppg") == [100.0 + i for i in range(10, 20)]
    assert source.reconnects == 2 and source.lost == 0
    assert reconnect_s < 5.0
    print(f"reconnected {reconnect_s * 1000:.0f} ms after the port returned")


def test_port_that_never_appears(tmp_path: Path) -> None:
    source = SerialSource(str(tmp_path / "nothing"), 115200, Native(), ["p1"])
    with source:
        assert collect(source, 0.3) == [] and not source.connected
    assert "nothing" in source.last_error or source.last_error


def test_find_port_by_pattern_finds_nothing_for_nonsense() -> None:
    assert find_port("*no-such-port-anywhere*") is None
    assert find_port("usb:ffff:fffe") is None
