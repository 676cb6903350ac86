"""The LSL outlet: a real pylsl inlet on this machine receives the features with their labels."""

from __future__ import annotations

import math
import os
import time

import pylsl
import pytest

from installation.config import LslOutputConfig
from installation.outputs.fanout import Outputs
from installation.outputs.lsl import LslOutlet, unit_of


def labels_and_units(info: pylsl.StreamInfo) -> list[tuple[str, str]]:
    out = []
    ch = info.desc().child("channels").child("channel")
    while not ch.empty():
        out.append((ch.child_value("label"), ch.child_value("unit")))
        ch = ch.next_sibling()
    return out


def open_inlet(name: str) -> pylsl.StreamInlet:
    found = pylsl.resolve_byprop("name", name, timeout=5.0)
    assert found, f"no LSL stream named {name}"
    inlet = pylsl.StreamInlet(found[0], max_buflen=10)
    inlet.open_stream(timeout=5.0)
    return inlet


def test_an_inlet_receives_the_selected_features_with_their_labels() -> None:
    name = f"eco-test-{os.getpid()}"
    cfg = LslOutputConfig(kind="lsl", name=name, type="Features", send=["p*.heart.bpm", "group.sync", "visual.p*.hue"],
                          rate_hz=50.0)
    outputs = Outputs([cfg], ["p2", "p1"], parameters=["visual.p1.hue", "visual.p2.hue", "sound.drone.level"])
    inlet = open_inlet(name)
    try:
        info = inlet.info(timeout=5.0)
        assert info.type() == "Features" and info.channel_count() == 5 and info.nominal_srate() == 50.0
        assert labels_and_units(info) == [("p1.heart.bpm", "bpm"), ("p2.heart.bpm", "bpm"), ("group.sync", ""),
                                          ("visual.p1.hue", ""), ("visual.p2.hue", "")]
        features = {"p1.heart.bpm": 61.0, "p2.heart.bpm": 82.0, "group.sync": 0.25, "p1.eda.scl": 3.0}
        samples: list[list[float]] = []
        deadline = time.monotonic() + 5.0
        t = 0.0
        while len(samples) < 5 and time.monotonic() < deadline:
            outputs.update(t, features, {"visual.p1.hue": 0.5})
            t += 0.02
            sample, _ = inlet.pull_sample(timeout=0.05)
            if sample is not None:
                samples.append(sample)
    finally:
        inlet.close_stream()
        outputs.close()
    assert len(samples) >= 5
    last = samples[-1]
    assert last[:4] == pytest.approx([61.0, 82.0, 0.25, 0.5])
    assert math.isnan(last[4])  # not driven yet: NaN, never a made-up value


def test_the_outlet_pushes_at_its_rate_on_the_callers_clock() -> None:
    outlet = LslOutlet(f"eco-rate-{os.getpid()}", "Features", ["group.sync"], rate_hz=25.0)
    try:
        pushed = sum(outlet.update(k * 0.01, {"group.sync": 0.5}) for k in range(1000))  # 10 s of 10 ms updates
    finally:
        outlet.close()
    assert pushed == 250 and outlet.sent == 250


@pytest.mark.parametrize(
    ("address", "unit"),
    [("p1.heart.bpm", "bpm"), ("p12.heart.ibi", "s"), ("p1.heart.rmssd", "ms"), ("p3.eda.scl", "uS"),
     ("group.heart.bpm", "bpm"), ("group.sync", ""), ("sound.drone.level", ""), ("p1.eda.arousal", "")],
)
def test_units(address: str, unit: str) -> None:
    assert unit_of(address) == unit
