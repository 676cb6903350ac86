"""Applying snapshots to a scene: each trigger fired once, stale ones skipped after a restart."""

from __future__ import annotations

import pytest

from installation.visuals.feed import STALE_TRIGGER_S, SceneFeed, Snapshot


class Recorder:
    def __init__(self) -> None:
        self.values: dict[str, float] = {}
        self.fired: list[tuple[str, float]] = []

    def set(self, address: str, value: float) -> None:
        self.values[address] = value

    def trigger(self, address: str, value: float) -> None:
        self.fired.append((address, value))


@pytest.mark.parametrize(
    ("snapshots", "fired"),
    [
        # counts are cumulative: a repeated snapshot fires nothing, a dropped one loses no beat
        ([({"p1.pulse": 1}, 10.0), ({"p1.pulse": 1}, 10.0), ({"p1.pulse": 3}, 10.1)], ["p1.pulse", "p1.pulse"]),
        ([({"p1.pulse": 1, "p2.pulse": 1}, 10.0)], ["p1.pulse", "p2.pulse"]),
        # a restarted scene's first snapshot: a beat long gone is history, a fresh one is news
        ([({"p1.pulse": 40}, 10.0 - 2 * STALE_TRIGGER_S), ({"p1.pulse": 41}, 10.0)], ["p1.pulse"]),
        ([({"p1.pulse": 40}, 9.9)], ["p1.pulse"]),
    ],
)
def test_triggers_fire_once(snapshots: list[tuple[dict[str, int], float]], fired: list[str]) -> None:
    scene = Recorder()
    feed = SceneFeed(scene)
    for counts, stamp_s in snapshots:
        feed.apply(Snapshot(10.0, {"p1.hue": 0.7}, counts, {a: 0.8 for a in counts}, {a: stamp_s for a in counts}), now_s=10.0)
    assert [a for a, _ in scene.fired] == fired
    assert scene.values == {"p1.hue": 0.7}


def test_latency_runs_from_the_event_to_the_frame_shown() -> None:
    feed = SceneFeed(Recorder())
    assert feed.apply(Snapshot(5.002, {}, {"p1.pulse": 1}, {"p1.pulse": 1.0}, {"p1.pulse": 5.0}), now_s=5.004)
    assert not feed.apply(Snapshot(5.005, {"p1.hue": 0.2}), now_s=5.006)
    assert feed.take_shown(5.012) == [pytest.approx(0.012)]
    assert feed.take_shown(5.03) == []
    assert feed.arrival_delays_s == [pytest.approx(0.004)]
