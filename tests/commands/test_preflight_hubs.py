"""Preflight's LSL hub lines (pure judging, a table of cases)."""

from __future__ import annotations

import pytest

from installation.commands.preflight import judge_hubs

SLOTS = {"hall-a": ["p1", "p2"], "hall-b": ["p3", "p4"]}


def _stream(hub: str, slot: str, offset_s: float = 0.0001, host: str = "pi-a") -> dict[str, object]:
    return {"hub": hub, "wearer": "p1", "slot": slot, "kind": "ppg", "host": host, "offset_s": offset_s, "samples": 10}


@pytest.mark.parametrize(("seen", "expected"), [
    ([], [("hall-a", "NO-GO"), ("hall-b", "NO-GO")]),
    ([_stream("hall-a", "p1"), _stream("hall-b", "p3")], [("hall-a", "GO"), ("hall-b", "GO")]),
    ([_stream("hall-a", "p1")], [("hall-a", "GO"), ("hall-b", "NO-GO")]),
    ([_stream("hall-a", "p1"), _stream("hall-b", "p4"), {"hub": "foyer", "kind": "unnamed", "host": "pi-f"}],
     [("hall-a", "GO"), ("hall-b", "GO"), ("foyer", "WARN")]),
])
def test_each_named_hub_is_go_when_seen_and_unnamed_hubs_are_warned_of(seen, expected) -> None:
    assert [(c.target, c.result) for c in judge_hubs(SLOTS, seen)] == expected


def test_a_hub_line_names_its_wearers_host_and_largest_clock_offset() -> None:
    (line, _) = judge_hubs(SLOTS, [_stream("hall-a", "p2", -0.0025), _stream("hall-a", "p1", 0.001)])
    assert "wearers p1, p2" in line.detail and "pi-a" in line.detail and "2.50 ms" in line.detail
