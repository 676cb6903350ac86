"""An accelerometer's blocks are recorded beside the PPG and come back unchanged, so a
replay analyses the same motion."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from installation.record.reader import load_recording
from installation.record.writer import Recorder
from installation.sensors.base import SampleBlock


def test_acceleration_is_recorded_and_read_back(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path / "walk", "", "run", None)
    recorder.start(0.0, ["p1"], ["wrist"])
    rng = np.random.default_rng(1)
    sent: list[SampleBlock] = []
    for step in range(10):
        t = step * 0.04 + np.arange(4) / 100.0
        ta = step * 0.04 + np.arange(1) / 25.0
        sent.append(SampleBlock("p1", "ppg", t, rng.normal(500.0, 50.0, 4).round(), "adc", float(t[-1]), 100.0))
        sent += [SampleBlock("p1", s, ta, rng.normal(0.0, 0.3, 1), "g", float(t[-1]), 25.0) for s in ("acc_x", "acc_y", "acc_z")]
        sent.append(SampleBlock("p1", "acc", ta, np.array([1.0 + step / 100.0]), "g", float(t[-1]), 25.0))
    recorder.samples(sent)
    recorder.stop(1.0)
    assert recorder.failed is None
    back = load_recording(tmp_path / "walk").blocks()
    for signal in ("ppg", "acc", "acc_x", "acc_y", "acc_z"):
        ours = [b for b in sent if b.signal == signal]
        theirs = [b for b in back if b.signal == signal]
        assert np.allclose(np.concatenate([b.values for b in theirs]), np.concatenate([b.values for b in ours])), signal
        assert np.allclose(np.concatenate([b.times_s for b in theirs]), np.concatenate([b.times_s for b in ours])), signal
        assert {b.unit for b in theirs} == {b.unit for b in ours} and {b.sampling_rate_hz for b in theirs} == {b.sampling_rate_hz for b in ours}
