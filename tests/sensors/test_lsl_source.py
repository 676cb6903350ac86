"""The LSL source against a real LSL outlet on this machine."""

from __future__ import annotations

import time

import numpy as np
import pylsl

from installation.sensors.lsl_source import LslSource


def test_reads_a_two_channel_ppg_stream_with_clock_offsets() -> None:
    info = pylsl.StreamInfo("eco-test-ppg", "PPG", 2, 100, "float32", "eco-test-ppg-uid")
    outlet = pylsl.StreamOutlet(info)
    source = LslSource("name", "eco-test-ppg", ["p1", "p2"])
    blocks = []
    with source:
        deadline = time.monotonic() + 10.0
        while not source.connected and time.monotonic() < deadline:
            source.read(0.1)
        assert source.connected
        sent_at = source.clock.now_s()
        for i in range(50):
            outlet.push_sample([500.0 + i, 400.0 + i])
        while sum(b.values.size for b in blocks if b.wearer == "p1") < 50 and time.monotonic() < deadline:
            blocks += source.read(0.1)
    p1 = np.concatenate([b.values for b in blocks if b.wearer == "p1"])
    p2 = np.concatenate([b.values for b in blocks if b.wearer == "p2"])
    assert p1.tolist() == [500.0 + i for i in range(50)] and p2.tolist() == [400.0 + i for i in range(50)]
    assert all(b.signal == "ppg" and b.sampling_rate_hz == 100 for b in blocks)
    times = np.concatenate([b.times_s for b in blocks if b.wearer == "p1"])
    assert np.all(np.diff(times) > 0)
    assert abs(times[-1] - sent_at) < 1.0  # LSL time was mapped onto our clock
    del outlet


def test_no_stream_is_no_error() -> None:
    source = LslSource("name", "eco-nothing-here", ["p1"], resolve_every_s=0.1)
    with source:
        assert source.read(0.2) == [] and not source.connected
