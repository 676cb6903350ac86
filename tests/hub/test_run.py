"""A hub with its own core publishes each wearer's beats (a BEAT stream) and their features."""

from __future__ import annotations

import pylsl

from installation.config import HubConfig
from installation.hub.run import Hub


def test_a_hub_with_a_core_publishes_beats_and_features() -> None:
    cfg = HubConfig.model_validate({"hub": {"name": "core-hub", "core": True},
                                    "sources": [{"kind": "simulated", "wearers": 2, "seed": 4, "acc_rate_hz": 50.0}]})
    hub = Hub(cfg)
    rows: list[list[dict[str, object]]] = []
    before_s = pylsl.local_clock()
    hub.run(12.0, rows.append)
    last = {row["stream"]: row for row in rows[-1]}
    assert {"core-hub/p1/ppg", "core-hub/p1/eda", "core-hub/p1/acc", "core-hub/p2/ppg"} <= set(last)
    for wearer in ("p1", "p2"):
        beat_row = last.get(f"core-hub/{wearer}/beat")
        assert beat_row is not None and int(beat_row["samples"]) >= 3, f"{wearer}: no beats published"  # type: ignore[call-overload]
        assert 0.4 < float(beat_row["last"]) < 1.5  # an interval between beats, seconds  # type: ignore[arg-type]
    assert hub.features is not None and hub.features.sent >= 100  # 10 Hz for 12 s
    assert all(float(row["tie_s"]) > before_s - 1.0 for row in rows[-1] if row["signal"] != "beat")  # source times tied to LSL's clock  # type: ignore[arg-type]
