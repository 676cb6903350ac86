"""What we re-emit as EmotiBit or OpenBCI reads back through our own OSC source as the same values."""

from __future__ import annotations

import numpy as np
import pytest

from installation.config import OscOutputConfig
from installation.outputs.fanout import Outputs
from installation.sensors.base import SampleBlock
from installation.sensors.osc_source import OscSource
from tests.outputs.peers import Peer


def read_all(source: OscSource, rounds: int = 20) -> list[SampleBlock]:
    blocks: list[SampleBlock] = []
    for _ in range(rounds):  # bounded: a few reads of 50 ms
        got = source.read(0.05)
        blocks += got
        if not got and blocks:
            break
    return blocks


def values(blocks: list[SampleBlock], wearer: str, signal: str) -> list[float]:
    return [v for b in blocks if b.wearer == wearer and b.signal == signal for v in b.values.tolist()]


@pytest.fixture
def source():
    src = OscSource(0, wearers=["p2", "p5"])  # the receiving rig's device order
    src.open()
    yield src
    src.close()


def test_emotibit_heart_rate_and_skin_conductance_read_back(source: OscSource) -> None:
    cfg = OscOutputConfig(kind="osc", port=source.port, format="emotibit", wearers=["p2", "p5"], rate_hz=10.0)
    outputs = Outputs([cfg], ["p1", "p2", "p5"])
    sent = {"p2": [], "p5": []}
    for k in range(20):
        features = {"p1.heart.bpm": 99.0, "p2.heart.bpm": 60.0 + k, "p5.heart.bpm": 90.0 - k,
                    "p2.eda.scl": 2.0 + 0.1 * k, "p5.eda.scl": 7.5, "p2.heart.rmssd": 30.0}
        outputs.update(k * 0.1, features, {})
        for w in sent:
            sent[w].append((features[f"{w}.heart.bpm"], features[f"{w}.eda.scl"]))
    outputs.close()
    blocks = read_all(source)
    for w in ("p2", "p5"):
        assert values(blocks, w, "bpm") == pytest.approx([bpm for bpm, _ in sent[w]], abs=1e-4)
        assert values(blocks, w, "eda") == pytest.approx([scl for _, scl in sent[w]], abs=1e-5)
        assert all(b.unit == {"bpm": "bpm", "eda": "uS"}[b.signal] for b in blocks if b.wearer == w)
    assert not values(blocks, "p1", "bpm")  # p1 has no device index here
    assert source.rigs["emotibit"] == 80 and source.corrupt == 0


def test_emotibit_skin_conductance_responses_go_out_with_amplitude_and_rise_time() -> None:
    """Our source ignores SCR:*, so they are read back with our own OSC parser."""
    peer = Peer()
    try:
        outputs = Outputs([OscOutputConfig(kind="osc", port=peer.port, format="emotibit")], ["p1", "p2"])
        outputs.update(0.0, {"p2.eda.scr_rate": 4.0}, {})
        outputs.event("p2.eda.scr", 0.42, 31.5, 29.75)
        outputs.event("p2.heart.beat", 70.0, 31.5)  # not an EmotiBit address
        outputs.close()
        peer.drain(0.5)
    finally:
        peer.close()
    assert peer.messages == [("/EmotiBit/1/SCR:FREQ", [4.0]), ("/EmotiBit/1/SCR:AMP", [pytest.approx(0.42)]),
                             ("/EmotiBit/1/SCR:RIS", [1.75])]


def test_openbci_pulse_reads_back_as_rate_and_beats(source: OscSource) -> None:
    cfg = OscOutputConfig(kind="osc", port=source.port, format="openbci", wearers=["p2"])
    outputs = Outputs([cfg], ["p1", "p2"])
    beats_s = np.cumsum(np.full(12, 0.8))  # 75 bpm
    for k, t in enumerate(beats_s.tolist()):
        outputs.update(t, {"p2.heart.bpm": 74.6, "p1.heart.bpm": 50.0}, {})
        outputs.event("p2.heart.beat", 75.0, t)
        outputs.event("p1.heart.beat", 50.0, t)
    outputs.close()
    blocks = read_all(source)
    assert set(values(blocks, "p2", "bpm")) == {75.0}  # the GUI's integers
    ibis = values(blocks, "p2", "ibi")
    assert ibis == pytest.approx([0.8] * 11)  # seconds, from the milliseconds sent
    assert not values(blocks, "p1", "bpm") and not values(blocks, "p1", "ibi")  # only the wearer asked for
