"""The state stream's lines: each carries only what changed, and the node rebuilds the whole state."""

from __future__ import annotations

import json
import math

import pytest

from installation.status import OperatorStatus, SourceStatus, WearerStatus
from installation.visuals.feed import Snapshot
from installation.visuals.offset import ClockOffset
from installation.visuals.scene_clock import SceneClock
from installation.visuals.wire import StateDecoder, StateEncoder, WireError, hello_line, parse_line, pong_line

STATES = [
    Snapshot(1.0, {"p1.hue": 0.5, "p2.hue": 0.25, "bloom": 0.3}, {"p1.pulse": 1}, {"p1.pulse": 0.8}, {"p1.pulse": 0.99}),
    Snapshot(1.1, {"p1.hue": 0.5, "p2.hue": 0.3, "bloom": 0.3}, {"p1.pulse": 1}, {"p1.pulse": 0.8}, {"p1.pulse": 0.99}),
    Snapshot(1.2, {"p1.hue": 0.5, "p2.hue": 0.3, "bloom": 0.7}, {"p1.pulse": 2, "p2.pulse": 1},
             {"p1.pulse": 0.6, "p2.pulse": 1.0}, {"p1.pulse": 1.19, "p2.pulse": 1.18}),
    Snapshot(1.3, {"p1.hue": 0.5, "p2.hue": 0.3, "bloom": 0.7}, {"p1.pulse": 2, "p2.pulse": 1},
             {"p1.pulse": 0.6, "p2.pulse": 1.0}, {"p1.pulse": 1.19, "p2.pulse": 1.18}),
]


@pytest.mark.parametrize("keys, changed", [
    ((True, False, False, False), [6, 1, 7, 0]),
    ((True, True, True, True), [6, 6, 9, 9]),
    ((True, False, True, False), [6, 1, 9, 0]),
])
def test_each_line_carries_what_changed_and_the_node_has_the_whole_state(keys: tuple[bool, ...], changed: list[int]) -> None:
    encoder, decoder = StateEncoder(), StateDecoder()
    for seq, (snapshot, key, n) in enumerate(zip(STATES, keys, changed), start=1):
        line = decoder.decode(parse_line(encoder.encode(seq, snapshot, SceneClock(seq), snapshot.stamp_s + 0.001, key)))
        assert line.changed == n
        assert line.seq == seq and line.stamp_s == snapshot.stamp_s and line.clock == SceneClock(seq)
        got = line.snapshot
        assert (got.values, got.trigger_counts, got.trigger_values, got.trigger_stamps) == (
            snapshot.values, snapshot.trigger_counts, snapshot.trigger_values, snapshot.trigger_stamps)


def test_a_key_line_forgets_what_the_conductor_no_longer_has() -> None:
    encoder, decoder = StateEncoder(), StateDecoder()
    decoder.decode(parse_line(encoder.encode(1, Snapshot(0.0, {"p9.hue": 0.1}), SceneClock(), 0.0, True)))
    line = decoder.decode(parse_line(StateEncoder().encode(1, Snapshot(0.0, {"p1.hue": 0.2}), SceneClock(), 0.0, True)))
    assert line.snapshot.values == {"p1.hue": 0.2}


def test_the_operator_status_and_blackout_go_over() -> None:
    status = OperatorStatus([WearerStatus("p1", bpm=71.0, quality=0.9, state="ok")], loop_latency_ms=math.nan,
                            audio_xruns=2, sources=[SourceStatus("osc", False, "quiet")], scene="calm", panicked=True)
    raw = StateEncoder().encode(3, STATES[0], SceneClock(), 1.0, True, blackout=True, status=status)
    line = StateDecoder().decode(parse_line(raw))
    assert line.blackout
    got = line.snapshot.status
    assert repr(got.wearers) == repr(status.wearers) and got.sources == status.sources and got.scene == "calm" and got.panicked
    assert math.isnan(got.loop_latency_ms) and got.audio_xruns == 2


@pytest.mark.parametrize("raw, message", [
    (b"not json", "not a JSON line"),
    (b"[1, 2]", "without a message type"),
    (b'{"seq": 1}', "without a message type"),
])
def test_lines_that_are_not_messages_are_refused(raw: bytes, message: str) -> None:
    with pytest.raises(WireError, match=message):
        parse_line(raw)


def test_a_state_line_without_its_fields_is_refused() -> None:
    with pytest.raises(WireError, match="cannot read"):
        StateDecoder().decode({"type": "state", "seq": 1})


def test_hello_and_pong_are_one_json_line_each() -> None:
    for raw in (hello_line("ab12", ["p1", "p2"], "Show", True, 3.0), pong_line(1.0, 2.0)):
        assert raw.endswith(b"\n") and raw.count(b"\n") == 1
        assert isinstance(json.loads(raw), dict)
    assert parse_line(hello_line("ab12", ["p1"], "Show", False, 2.0))["wearers"] == ["p1"]


@pytest.mark.parametrize("exchanges, offset, rtt", [
    ([], 0.0, math.nan),
    ([(10.0, 110.001, 10.002)], 100.0, 0.002),
    ([(10.0, 110.009, 10.010), (11.0, 111.0005, 11.001), (12.0, 112.02, 12.03)], 100.0, 0.001),  # the shortest trip wins
    ([(10.0, 110.0, 9.0)], 0.0, math.nan),  # an answer before its question: ignored
])
def test_the_clock_offset_comes_from_the_shortest_round_trip(exchanges: list[tuple[float, float, float]],
                                                             offset: float, rtt: float) -> None:
    c = ClockOffset()
    for e in exchanges:
        c.add(*e)
    assert c.offset_s == pytest.approx(offset)
    assert (math.isnan(c.rtt_s) and math.isnan(rtt)) or c.rtt_s == pytest.approx(rtt)
