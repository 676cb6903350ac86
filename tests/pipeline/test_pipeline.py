"""The pipeline with no threads: ticked by hand on a fake clock, observed through taps."""

from __future__ import annotations

import logging
import math
import pytest

from installation.clock import FakeClock
from installation.config import load_show
from installation.operator_commands import Blackout, Mark, Panic, Quit, Rebaseline, SelectScene
from installation.pipeline.pipeline import Pipeline
from installation.pipeline.sinks import Firing, ParameterLog, Sink
from installation.runtime.launch import prepare_show
from installation.sensors.simulated import SimulatedAudience
from tests.helpers import REPO

SHOW = REPO / "patches" / "gathering.toml"


class Tap(Sink):
    """Keeps everything a tap is told."""

    def __init__(self) -> None:
        self.sets: list[str] = []
        self.firings: list[Firing] = []
        self.notes: list[tuple[str, object]] = []
        self.feature_ticks = 0
        self.flushes = 0
        self.closed = 0

    def set(self, address: str, value: float, now_s: float) -> None:
        self.sets.append(address)

    def trigger(self, firing: Firing) -> None:
        self.firings.append(firing)

    def features(self, now_s: float, values: object) -> None:
        self.feature_ticks += 1

    def note(self, now_s: float, kind: str, value: object) -> None:
        self.notes.append((kind, value))

    def flush(self, now_s: float) -> None:
        self.flushes += 1

    def close(self) -> None:
        self.closed += 1


def _play(seconds: float, tap: Tap) -> Pipeline:
    prepared = prepare_show(load_show(SHOW))
    clock = FakeClock()
    pipeline = Pipeline(prepared.show, prepared.mapper, ["p1", "p2"], clock, live_outputs=False)
    pipeline.add_tap(tap)
    audience = SimulatedAudience(2, seed=7, clock=clock)
    audience.open()
    for _ in range(int(seconds / 0.02)):
        clock.advance_s(0.02)
        pipeline.tick(audience.read(0.0))
    audience.close()
    return pipeline


@pytest.fixture(scope="module")
def played() -> tuple[Pipeline, Tap]:
    tap = Tap()
    return _play(20.0, tap), tap


def test_a_tap_sees_features_events_and_parameters(played: tuple[Pipeline, Tap]) -> None:
    pipeline, tap = played
    beats = [f for f in tap.firings if f.address.endswith(".heart.beat")]
    assert len(beats) == sum(len(b) for b in pipeline.stats.beat_times_s.values()) > 20
    assert all(b.at_s <= b.now_s for b in beats)  # dated back to the beat itself
    assert any(f.address.startswith(("sound.", "visual.")) for f in tap.firings)  # triggers, full address
    assert {a.partition(".")[0] for a in tap.sets} >= {"sound", "visual"}
    assert 20.0 / 0.02 >= tap.feature_ticks >= 20.0 / 0.02 * 0.9  # every tick is 20 ms > the feature period
    assert tap.flushes >= 1000


def test_the_visual_sink_gets_triggers_without_their_family(played: tuple[Pipeline, Tap]) -> None:
    pipeline, tap = played
    counts = pipeline.visuals.snapshot.trigger_counts
    fired = sum(1 for f in tap.firings if f.address.startswith("visual."))
    assert counts and all(not a.startswith("visual.") for a in counts)
    assert sum(counts.values()) == fired


def test_commands_are_carried_out_and_noted(caplog: pytest.LogCaptureFixture) -> None:
    tap = Tap()
    pipeline = _play(1.0, tap)
    with caplog.at_level(logging.WARNING):
        assert pipeline.command(Panic(True)) is False  # no sound to mute
        assert pipeline.command(Blackout()) is True and pipeline.blackout
        assert pipeline.command(Blackout()) is False
        assert pipeline.command(Mark("a")) == 1 and pipeline.command(Mark()) == 2
        assert pipeline.command(SelectScene(key="2")) is None
        assert pipeline.command(Rebaseline("p1")) is None
        pipeline.clock.advance_s(0.02)  # type: ignore[attr-defined]  # (a FakeClock)
        pipeline.tick([])  # scenes and re-baselines wait for the next tick
    assert [k for k, _ in tap.notes][:6] == ["operator.panic", "operator.blackout", "operator.blackout",
                                             "operator.mark", "operator.mark", "operator.scene"]
    assert ("operator.rebaseline", "p1") in tap.notes
    assert "re-baselining p1 from now" in caplog.text
    assert pipeline.mapper.scenes is not None and ("scene", pipeline.mapper.scenes.current) in tap.notes
    with pytest.raises(TypeError):
        pipeline.command(Quit())  # the runtime's business, not the pipeline's


def test_close_closes_every_sink_once_even_when_one_fails(caplog: pytest.LogCaptureFixture) -> None:
    class Broken(Tap):
        def close(self) -> None:
            raise OSError("gone")

    tap, broken = Tap(), Broken()
    pipeline = _play(0.2, tap)
    pipeline.add_tap(broken)
    log = pipeline.add_tap(ParameterLog())
    with caplog.at_level(logging.WARNING):
        pipeline.close()
        pipeline.close()
    assert tap.closed == 1
    assert "closing Broken failed: gone" in caplog.text
    assert math.isfinite(pipeline.stats.stopped_s) and pipeline.stats.stopped_s > 0
    assert log.rows == []  # added after the show: it heard nothing


def test_the_parameter_log_keeps_what_the_parameter_sinks_got(played: tuple[Pipeline, Tap]) -> None:
    tap = Tap()
    prepared = prepare_show(load_show(SHOW))
    clock = FakeClock()
    pipeline = Pipeline(prepared.show, prepared.mapper, ["p1"], clock, live_outputs=False)
    log = pipeline.add_tap(ParameterLog())
    pipeline.add_tap(tap)
    audience = SimulatedAudience(1, seed=2, clock=clock)
    audience.open()
    for _ in range(500):
        clock.advance_s(0.02)
        pipeline.tick(audience.read(0.0))
    kinds = {kind for _, kind, _, _ in log.rows}
    assert kinds == {"set", "trigger"}
    assert all(address.partition(".")[0] in ("sound", "visual", "osc") for _, _, address, _ in log.rows)
    assert sum(1 for _, kind, _, _ in log.rows if kind == "set") == len(tap.sets)


# ---- features and events from outside the core (the Link session's grid) ------------------------
class _Grid:
    """A Link session's grid at a steady tempo, as the pipeline's LinkClock gives it (no network)."""

    def __init__(self, tempo_bpm: float) -> None:
        from installation.link.beats import BeatTracker, Timeline

        self.timeline = Timeline(0.0, 0.0, tempo_bpm, 1, 4.0, "following")
        self.tracker = BeatTracker()
        self.seen_count: list[float] = []
        self.closed = 0

    def features(self, now_s: float, features: dict[str, float]) -> dict[str, float]:
        from installation.link.beats import link_features

        self.seen_count.append(features.get("group.count", math.nan))
        return link_features(self.timeline, now_s)

    def take_events(self, now_s: float) -> list:  # type: ignore[type-arg]
        return self.tracker.take(self.timeline, now_s)

    def close(self) -> None:
        self.closed += 1


def test_link_features_and_beats_reach_the_mappings_and_the_taps() -> None:
    from installation.config import parse_show

    text = SHOW.read_text(encoding="utf-8") + (
        '\n[[mappings]]\nfrom = "link.beat"\nto = "visual.flare"\nin_range = [0, 3]\nout_range = [1.0, 0.5]\n'
        '\n[[mappings]]\nfrom = "link.phase"\nto = "osc.out./bar"\n')
    prepared = prepare_show(parse_show(text, "show.toml", SHOW))
    clock = FakeClock()
    pipeline = Pipeline(prepared.show, prepared.mapper, ["p1", "p2"], clock, live_outputs=False)
    assert pipeline.outer == []  # the pipeline joins no Link session of its own (the live session adds one)
    grid = pipeline.add_outer(_Grid(150.0))
    tap = pipeline.add_tap(Tap())
    phases: list[float] = []
    audience = SimulatedAudience(2, seed=7, clock=clock)
    audience.open()
    for _ in range(int(3.9 / 0.02)):  # beat 10 (4.0 s) is still beyond the lookahead at the end
        clock.advance_s(0.02)
        pipeline.tick(audience.read(0.0))
        phases.append(pipeline.features["link.phase"])
    audience.close()
    beats = [f for f in tap.firings if f.address == "link.beat"]
    flares = [f for f in tap.firings if f.address == "visual.flare"]
    assert [f.at_s for f in beats] == pytest.approx([0.4 * k for k in range(1, 10)])  # 150 bpm, dated on the beat
    assert all(0.0 <= f.now_s - f.at_s <= 0.02 + 1e-9 for f in beats)  # told at its time, not when made ahead
    assert len(flares) == len(beats)
    assert all(0.0 <= f.now_s - b.at_s <= 0.02 + 1e-9 for f, b in zip(flares, beats))  # fired within a tick of it
    assert [f.value for f in flares[:4]] == pytest.approx([1.0 - 0.5 / 3, 1.0 - 1.0 / 3, 0.5, 1.0])  # beats 1, 2, 3, 0
    assert all(0.0 <= p < 1.0 for p in phases) and max(phases) > 0.95 and min(phases) < 0.05
    assert grid.seen_count[-1] == 2.0  # it is given the core's features (to read the group's heart rate)
    pipeline.close()
    assert grid.closed == 1


def test_render_nodes_get_the_visual_snapshots_and_the_operators_blackout() -> None:
    import socket
    import time

    from installation.pipeline.pipeline import serve_render_nodes
    from installation.visuals.node import Arrival, ConductorLink

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    show = load_show(SHOW)
    show = show.model_copy(update={"visual": show.visual.model_copy(update={"serve": True, "serve_port": port})})
    prepared = prepare_show(show)
    clock = FakeClock()
    pipeline = Pipeline(prepared.show, prepared.mapper, ["p1", "p2"], clock, live_outputs=False)
    server = serve_render_nodes(prepared.show, ["p1", "p2"], clock)
    pipeline.visuals.add_publisher(server)
    audience = SimulatedAudience(2, seed=7, clock=clock)
    audience.open()
    for _ in range(500):  # 10 s: beats and continuous values
        clock.advance_s(0.02)
        pipeline.tick(audience.read(0.0))
    audience.close()
    pipeline.visuals.flush(clock.now_s(), force=True)  # the last tick's values too
    link = ConductorLink("127.0.0.1", port)
    link.start()
    try:
        def arrival(want: object) -> Arrival:
            deadline = time.monotonic() + 5.0
            while time.monotonic() < deadline:
                item = link.inbox.get(timeout=5.0)
                if isinstance(item, Arrival) and want(item):
                    return item
            raise AssertionError("no such line from the server")

        first = arrival(lambda a: True)
        assert first.line.seq == server.seq > 10
        assert first.line.snapshot.values == pipeline.visuals.snapshot.values
        assert first.line.snapshot.trigger_counts == pipeline.visuals.snapshot.trigger_counts
        assert sum(first.line.snapshot.trigger_counts.values()) > 0
        pipeline.command(Blackout(True))
        assert arrival(lambda a: a.line.blackout).line.snapshot.values == first.line.snapshot.values
        pipeline.close()  # closes the server: the node hears it go
        deadline = time.monotonic() + 5.0
        while link.connected and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not link.connected
    finally:
        link.stop()
