"""Acceleration (``acc``, ``acc_x``/``acc_y``/``acc_z``) through every format and source that
carries it: the parsers (tables), EmotiBit OSC on real UDP, LSL channels labelled with
signals on a real outlet, the simulated and scripted audiences."""

from __future__ import annotations

import socket
import time

import numpy as np
import pylsl
import pytest

from streams import collect, values

from installation.clock import FakeClock
from installation.sensors.parsers import CsvColumns, FormatError, KeyValue, Native, native_encode, osc_readings
from installation.sensors.osc_source import OscSource
from installation.sensors.lsl_source import LslSource, labelled_channels
from installation.sensors.scripted import Scenario, ScenarioEvent, ScriptedAudience
from installation.sensors.simulated import SimulatedAudience
from pythonosc import osc_message_builder


def message(address: str, *args: float) -> bytes:
    m = osc_message_builder.OscMessageBuilder(address)
    for a in args:
        m.add_arg(a)
    return m.build().dgram


def send(port: int, data: bytes) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(data, ("127.0.0.1", port))


@pytest.mark.parametrize(
    ("address", "params", "expected"),
    [
        ("/EmotiBit/0/ACC:X", [0.01, 0.02], ("emotibit", 0, "acc_x", (0.01, 0.02), "g")),
        ("/EmotiBit/1/ACC:Y", [-0.5], ("emotibit", 1, "acc_y", (-0.5,), "g")),
        ("/EmotiBit/0/ACC:Z", [0.98, 0.99, 1.0], ("emotibit", 0, "acc_z", (0.98, 0.99, 1.0), "g")),
        ("/EmotiBit/0/GYRO:X", [1.0], None),
        ("/eco/p2/acc", [1.01], ("native", 1, "acc", (1.01,), "g")),
        ("/eco/p1/acc_z", [0.9], ("native", 0, "acc_z", (0.9,), "g")),
    ],
)
def test_osc_acceleration(address: str, params: list[object], expected: tuple | None) -> None:
    got = osc_readings(address, params)
    assert (None if got is None else (got.rig, got.sensor, got.kind, got.values, got.unit)) == expected


@pytest.mark.parametrize(
    ("columns", "line", "expected"),
    [
        (["ppg", "acc"], "512,1.02", [(0, "ppg", 512.0), (0, "acc", 1.02)]),
        (["ppg", "acc_x", "acc_y", "acc_z"], "512 0.1 -0.2 0.95", [(0, "ppg", 512.0), (0, "acc_x", 0.1), (0, "acc_y", -0.2), (0, "acc_z", 0.95)]),
        (["ppg1", "acc_x2"], "500;0.3", [(0, "ppg", 500.0), (1, "acc_x", 0.3)]),
        (["ppg", "acc_x"], "ppg,acc_x", []),
    ],
)
def test_csv_acceleration_columns(columns: list[str], line: str, expected: list[tuple[int, str, float]]) -> None:
    assert [(r.sensor, r.kind, r.value) for r in CsvColumns(columns).parse(line)] == expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [("ppg=512 acc_x=0.1 acc_y=-0.2 acc_z=0.9", [(0, "ppg", 512.0), (0, "acc_x", 0.1), (0, "acc_y", -0.2), (0, "acc_z", 0.9)]),
     ("ppg2:498, acc2:1.1", [(1, "ppg", 498.0), (1, "acc", 1.1)])],
)
def test_key_value_acceleration(line: str, expected: list[tuple[int, str, float]]) -> None:
    assert [(r.sensor, r.kind, r.value) for r in KeyValue().parse(line)] == expected


def test_unknown_acceleration_column_is_refused() -> None:
    with pytest.raises(FormatError, match="acc_x"):
        CsvColumns(["ppg", "acc_w"])


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"ppg": 500, "ax": 0.1, "ay": -0.2, "az": 0.95}, [("ppg", 0, 500.0), ("acc_x", 0, 0.1), ("acc_y", 0, -0.2), ("acc_z", 0, 0.95)]),
        ({"ppg2": 480, "acc2": 1.05}, [("ppg", 1, 480.0), ("acc", 1, 1.05)]),
    ],
)
def test_native_acceleration_fields(fields: dict[str, float], expected: list[tuple[str, int, float]]) -> None:
    readings = Native().parse(native_encode(7, 1000, fields))
    assert [(r.kind, r.sensor, r.value) for r in readings] == expected
    assert all(r.unit == "g" for r in readings if r.kind.startswith("acc"))


@pytest.mark.parametrize(
    ("labels", "stream_kind", "expected"),
    [
        (["PPG", "ACC_X", "ACC_Y", "ACC_Z"], "", [("ppg", 0), ("acc_x", 0), ("acc_y", 0), ("acc_z", 0)]),
        (["ppg1", "AccX1", "ppg2", "acc:x2"], "", [("ppg", 0), ("acc_x", 0), ("ppg", 1), ("acc_x", 1)]),
        (["x", "y", "z"], "acc", [("acc_x", 0), ("acc_y", 0), ("acc_z", 0)]),
        (["x", "y", "z"], "ppg", None),  # bare axes only in an accelerometer's stream
        (["PPG", "PPG"], "ppg", None),  # one wearer a channel, as unlabelled
        (["Fp1", "Fp2"], "", None),
        (["", ""], "ppg", None),
    ],
)
def test_lsl_channel_labels(labels: list[str], stream_kind: str, expected: list[tuple[str, int]] | None) -> None:
    assert labelled_channels(labels, stream_kind) == expected


def test_emotibit_acceleration_on_real_udp() -> None:
    source = OscSource(0, wearers=["p1", "p2"])
    source.open()
    try:
        send(source.port, message("/EmotiBit/0/PPG:IR", 500.0, 510.0))
        for axis, samples in (("X", (0.1, 0.2)), ("Y", (-0.3, -0.4)), ("Z", (0.9, 1.0))):
            send(source.port, message(f"/EmotiBit/0/ACC:{axis}", *samples))
        send(source.port, message("/EmotiBit/1/ACC:Z", 0.97))
        blocks = collect(source, 3.0, until=lambda b: values(b, "p1", "acc_z") and values(b, "p2", "acc_z"))
        blocks += collect(source, 0.2)
    finally:
        source.close()
    assert values(blocks, "p1", "ppg") == [500.0, 510.0]
    assert values(blocks, "p1", "acc_x") == pytest.approx([0.1, 0.2])
    assert values(blocks, "p1", "acc_y") == pytest.approx([-0.3, -0.4])
    assert values(blocks, "p1", "acc_z") == pytest.approx([0.9, 1.0])
    assert values(blocks, "p2", "acc_z") == pytest.approx([0.97])
    assert {b.unit for b in blocks if b.signal.startswith("acc")} == {"g"}
    assert {b.sampling_rate_hz for b in blocks if b.signal.startswith("acc")} == {25.0}
    assert source.corrupt == 0


def test_lsl_stream_with_labelled_ppg_and_acceleration() -> None:
    info = pylsl.StreamInfo("eco-test-wrist", "Wristband", 4, 50, "float32", "eco-test-wrist-uid")
    channels = info.desc().append_child("channels")
    for label in ("PPG", "ACC_X", "ACC_Y", "ACC_Z"):
        channels.append_child("channel").append_child_value("label", label)
    outlet = pylsl.StreamOutlet(info)
    source = LslSource("name", "eco-test-wrist", ["p3"])
    blocks = []
    with source:
        deadline = time.monotonic() + 10.0
        while not source.connected and time.monotonic() < deadline:
            source.read(0.1)
        assert source.connected
        for i in range(20):
            outlet.push_sample([500.0 + i, 0.1, -0.2, 0.9])
        while len(values(blocks, "p3", "acc_z")) < 20 and time.monotonic() < deadline:
            blocks += source.read(0.1)
    assert values(blocks, "p3", "ppg") == [500.0 + i for i in range(20)]
    assert values(blocks, "p3", "acc_x") == pytest.approx([0.1] * 20)
    assert values(blocks, "p3", "acc_z") == pytest.approx([0.9] * 20)
    assert {b.unit for b in blocks if b.signal.startswith("acc")} == {"g"}
    del outlet


def test_simulated_wrist_accelerometers() -> None:
    clock = FakeClock()
    audience = SimulatedAudience(2, seed=1, clock=clock, acc_rate_hz=25.0)
    blocks = []
    with audience:
        while clock.now_s() < 2.0:
            blocks += audience.read(0.05)
    for wearer in ("p1", "p2"):
        axes = [np.array(values(blocks, wearer, s)) for s in ("acc_x", "acc_y", "acc_z")]
        assert all(abs(a.size - 50) <= 1 for a in axes)
        gravity = np.sqrt(sum(a[:49] ** 2 for a in axes))
        assert np.allclose(gravity, 1.0, atol=0.05)  # at rest: gravity, in g
    plain = SimulatedAudience(1, seed=1, clock=FakeClock())
    with plain:
        plain.clock.sleep_s(0.1)
        assert {b.signal for b in plain.read(0.05)} == {"ppg", "eda"}


def test_scripted_motion_is_walking_when_the_wearers_have_accelerometers() -> None:
    clock = FakeClock()
    scenario = Scenario(events=[ScenarioEvent(at_s=2.0, duration_s=6.0, wearer="p1", what="motion")])
    scripted = ScriptedAudience(SimulatedAudience(2, seed=1, clock=clock, acc_rate_hz=25.0), scenario)
    blocks = []
    with scripted:
        while clock.now_s() < 8.0:
            blocks += scripted.read(0.05)

    def swing(wearer: str, lo: float, hi: float) -> float:
        t = np.concatenate([b.times_s for b in blocks if b.wearer == wearer and b.signal == "acc_x"])
        x = np.array(values(blocks, wearer, "acc_x"))
        return float(np.std(x[(t >= lo) & (t < hi)]))

    assert swing("p1", 4.0, 8.0) > 0.2 > 0.01 > swing("p1", 0.0, 2.0)
    assert swing("p2", 4.0, 8.0) < 0.01
