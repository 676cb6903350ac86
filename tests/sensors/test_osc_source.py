"""The OSC source on real UDP sockets (loopback): a peer we did not write (liblo's
oscsend), python-osc bundles with time tags, garbage, NaN, oversized packets and
strangers."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from pythonosc import osc_bundle_builder, osc_message_builder
from pythonosc.udp_client import SimpleUDPClient

from streams import collect, values

from installation.dsp.core import SignalCore
from installation.sensors.parsers import FormatError, osc_readings
from installation.sensors.osc_source import OscSource


def message(address: str, *args: object) -> bytes:
    m = osc_message_builder.OscMessageBuilder(address)
    for a in args:
        m.add_arg(a)
    return m.build().dgram


def send(port: int, data: bytes, source_host: str = "127.0.0.1") -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((source_host, 0))
        s.sendto(data, ("127.0.0.1", port))





@pytest.mark.parametrize(
    ("address", "params", "expected"),
    [
        ("/EmotiBit/0/PPG:IR", [1.0, 2.0, 3.0], ("emotibit", 0, "ppg", (1.0, 2.0, 3.0))),
        ("/EmotiBit/2/EDA", [0.5], ("emotibit", 2, "eda", (0.5,))),
        ("/EmotiBit/0/HR", [72.0], ("emotibit", 0, "bpm", (72.0,))),
        ("/EmotiBit/0/PPG:RED", [1.0], None),
        ("/EmotiBit/0/SCR:AMP", [0.1], None),
        ("/openbci/pulse/bpm", [70], ("openbci", 0, "bpm", (70.0,))),
        ("/openbci/pulse/ibi", [850], ("openbci", 0, "ibi", (0.85,))),
        ("/openbci/time-series-raw/ch1", [12.5, 13.0], ("openbci", 1, "ecg", (12.5, 13.0))),
        ("/muse/ppg", [10.0, 20.0, 30.0], ("muse", 0, "ppg", (20.0,))),
        ("muse/ppg", [10.0, 21.0, 30.0], ("muse", 0, "ppg", (21.0,))),
        ("/eco/p3/eda", [4.2, 4.3], ("native", 2, "eda", (4.2, 4.3))),
        ("/eco/p2/consent", [1.0], ("native", 1, "consent", (1.0,))),  # a consent button ([record] consent = "device")
        ("/EmotiBit/0/B%", [87.0], ("emotibit", 0, "battery", (87.0,))),  # EmotiBit's battery percentage
        ("/EmotiBit/1/BV", [3.9], None),  # its battery voltage: not used
        ("/eco/p2/battery", [55.0], ("native", 1, "battery", (55.0,))),
        ("/muse/elements/alpha_absolute", [0.5], None),
    ],
)
def test_osc_addresses(address: str, params: list[object], expected: tuple | None) -> None:
    got = osc_readings(address, params)
    assert (None if got is None else (got.rig, got.sensor, got.kind, got.values)) == expected


@pytest.mark.parametrize(
    ("address", "params"),
    [("/EmotiBit/0/EDA", ["high"]), ("/EmotiBit/0/EDA", [float("nan")]), ("/eco/p1/ppg", []), ("/muse/ppg", [1.0]), ("/eco/p0/ppg", [1.0])],
)
def test_osc_bad_arguments(address: str, params: list[object]) -> None:
    with pytest.raises(FormatError):
        osc_readings(address, params)


@pytest.fixture
def source():
    s = OscSource(0, wearers=["p1", "p2"])
    s.open()
    yield s
    s.close()


def test_emotibit_style_messages_from_oscsend(source: OscSource) -> None:
    oscsend = shutil.which("oscsend")
    if oscsend is None:
        pytest.skip("needs a real OSC peer: install the Debian package liblo-tools (apt-get install liblo-tools)")
    for args in (["/EmotiBit/0/PPG:IR", "fff", "500", "510", "520"], ["/EmotiBit/0/EDA", "ff", "2.5", "2.6"],
                 ["/EmotiBit/1/PPG:IR", "f", "400"], ["/EmotiBit/0/HR", "f", "71"]):
        subprocess.run([oscsend, "localhost", str(source.port), *args], check=True, timeout=10)
    blocks = collect(source, 3.0, until=lambda b: len(values(b, "p1", "ppg")) >= 3 and values(b, "p1", "bpm"))
    blocks += collect(source, 0.2)
    assert values(blocks, "p1", "ppg") == [500.0, 510.0, 520.0]
    assert values(blocks, "p1", "eda") == pytest.approx([2.5, 2.6])
    assert values(blocks, "p2", "ppg") == [400.0]
    assert values(blocks, "p1", "bpm") == [71.0]
    assert source.rigs["emotibit"] == 4 and source.corrupt == 0


def test_an_emotibit_battery_level_becomes_a_feature(source: OscSource) -> None:
    client = SimpleUDPClient("127.0.0.1", source.port)
    client.send_message("/EmotiBit/1/B%", [23.0])
    client.send_message("/EmotiBit/1/EDA", [2.5, 2.6])
    blocks = collect(source, 3.0, until=lambda b: values(b, "p2", "battery") and values(b, "p2", "eda"))
    assert values(blocks, "p2", "battery") == [23.0]
    core = SignalCore()
    core.process_many(blocks)
    assert core.features(blocks[-1].arrival_s)["p2.device.battery"] == 23.0


def test_bundles_keep_their_time_tags(source: OscSource) -> None:
    bundle = osc_bundle_builder.OscBundleBuilder(1_700_000_000.0)
    bundle.add_content(_built("/eco/p1/ppg", 1.0, 2.0, 3.0, 4.0))
    later = osc_bundle_builder.OscBundleBuilder(1_700_000_000.2)
    later.add_content(_built("/eco/p1/ppg", 5.0))
    send(source.port, bundle.build().dgram)
    send(source.port, later.build().dgram)
    blocks = collect(source, 3.0, until=lambda b: len(values(b, "p1", "ppg")) >= 5)
    times = np.concatenate([b.times_s for b in blocks if b.signal == "ppg"])
    assert values(blocks, "p1", "ppg") == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert times[4] - times[3] == pytest.approx(0.2, abs=1e-6)  # spacing from the tags, not from arrival


def _built(address: str, *args: float):
    m = osc_message_builder.OscMessageBuilder(address)
    for a in args:
        m.add_arg(a)
    return m.build()


def test_garbage_nan_oversized_and_unknown_are_counted(source: OscSource) -> None:
    send(source.port, b"\x00\x01garbage")
    send(source.port, message("/eco/p1/ppg", float("nan")))
    send(source.port, message("/eco/p1/ppg", *([1.0] * 3000)))  # 12 kB
    send(source.port, message("/wek/inputs", 1.0))
    send(source.port, message("/eco/p1/ppg", 42.0))
    blocks = collect(source, 3.0, until=lambda b: 42.0 in values(b, "p1", "ppg"))
    assert values(blocks, "p1", "ppg") == [42.0]
    assert source.corrupt == 2 and source.oversized == 1 and source.ignored == 1


def test_strangers_are_refused() -> None:
    guarded = OscSource(0, allow=["127.0.0.5"])
    guarded.open()
    try:
        send(guarded.port, message("/eco/p1/ppg", 1.0), source_host="127.0.0.1")
        send(guarded.port, message("/eco/p1/ppg", 2.0), source_host="127.0.0.5")
        blocks = collect(guarded, 3.0, until=lambda b: values(b, "p1", "ppg"))
        blocks += collect(guarded, 0.2)
    finally:
        guarded.close()
    assert values(blocks, "p1", "ppg") == [2.0] and guarded.refused == 1


def test_port_in_use_is_a_clear_error(source: OscSource) -> None:
    from installation.sensors.base import SourceError

    clash = OscSource(source.port)
    with pytest.raises(SourceError, match=f"osc 127.0.0.1:{source.port}: cannot listen"):
        clash.open()


@pytest.mark.parametrize(
    ("per_packet", "max_delay_s", "max_ratio"),
    [
        (4, 0.02, 1.2),  # the case (EmotiBit-like); blocks spaced back from their arrival gave 1.44x
        (8, 0.05, 1.5),  # bigger packets, later (a BLE strap); spaced back from arrival: 1.84x
    ],
)
def test_bundles_of_packet_stamped_samples_give_steady_beats(per_packet: int, max_delay_s: float, max_ratio: float) -> None:
    """Bundles of PPG samples at 64 Hz with no time tag, over real UDP on loopback, each arriving 0-max_delay_s
    after its last sample (the arrival stamped by a fake clock, so nothing waits): the beats found live are
    nearly as steady as with the true sample times (error SD ratio), not jittered by the packets."""
    from installation.bench.clock_jitter import beat_errors, beats_found, bundle, packet_stamps, resting_ppg
    from installation.clock import FakeClock
    from installation.commands.analyze import analyze_recording
    from installation.dsp.core import SignalCore

    t, v, reference = resting_ppg(Path(__file__).parents[1] / "data")
    arrivals = packet_stamps(t, per_packet, max_delay_s)[per_packet - 1 :: per_packet]
    clock = FakeClock(0.0)
    core = SignalCore()
    events = []
    with OscSource(0, rates_hz={"ppg": 64.0}, clock=clock) as source, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for i, arrival in zip(range(0, t.size - per_packet + 1, per_packet), arrivals.tolist()):
            s.sendto(bundle(v[i : i + per_packet]), ("127.0.0.1", source.port))
            clock.advance_s(arrival - clock.now_s())
            got = []
            for _ in range(5):  # a datagram on loopback comes at once; 5 s at most
                got = source.read(1.0)
                if got:
                    break
            assert got, "a bundle sent on loopback never arrived"
            events += core.process_many(got)
    live = beat_errors(beats_found(events), reference)
    true = beat_errors(beats_found(analyze_recording(t, v, "ppg").events), reference)
    assert live.size >= true.size - 1 >= 100
    assert np.std(live) <= max_ratio * np.std(true), (np.std(live), np.std(true))
