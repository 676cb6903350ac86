"""Stable slots of hub wearers, hub stream ids, and the LSL settings file (pure)."""

from __future__ import annotations

import pytest

from installation.config import ConfigError, parse_source
from installation.sensors.hub_streams import parse_source_id, source_id, stream_name
from installation.sensors.lsl_hubs import slot_of
from installation.sensors.lsl_net import api_config_text

HUBS = parse_source({"kind": "lsl", "hubs": ["hall-a", "hall-b", "foyer"], "slots_per_hub": 4}).hub_slots()


@pytest.mark.parametrize(("hub", "wearer", "slot"), [
    ("hall-a", "p1", "p1"), ("hall-a", "p4", "p4"), ("hall-b", "p1", "p5"), ("foyer", "p3", "p11"),
    ("hall-a", "p5", None),  # more wearers than the hub's slots
    ("stage", "p1", None),  # a hub the show does not name
    ("hall-b", "x1", None),
])
def test_the_hub_and_the_wearer_decide_the_slot(hub: str, wearer: str, slot: str | None) -> None:
    assert slot_of(HUBS, hub, wearer) == slot


def test_slots_follow_the_order_of_hubs_in_the_show_not_of_discovery() -> None:
    other = parse_source({"kind": "lsl", "hubs": ["hall-a", "hall-b", "foyer"], "slots_per_hub": 4, "first_slot": 21})
    assert other.hub_slots()["hall-b"] == ["p25", "p26", "p27", "p28"]


@pytest.mark.parametrize(("fields", "message"), [
    ({"kind": "lsl", "hubs": ["hall a"]}, "hub name"),
    ({"kind": "lsl", "hubs": ["a", "a"]}, "appears twice"),
    ({"kind": "lsl", "hubs": ["a"], "stream_type": "PPG"}, "exactly one of"),
])
def test_hub_sources_are_checked(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_source(fields)


@pytest.mark.parametrize("text", [source_id("hall-a", "p3", "ppg"), source_id("h_1", "p12", "acc")])
def test_a_source_id_says_its_hub_wearer_and_kind(text: str) -> None:
    hub, wearer, kind = parse_source_id(text)  # type: ignore[misc]
    assert source_id(hub, wearer, kind) == text
    assert stream_name(hub, wearer, kind) == f"{hub}/{wearer}/{kind}"


@pytest.mark.parametrize("text", ["eco-sim-ppg", "ecosymphony:hall-a:p3", "ecosymphony:hall-a:p3:sound", "ecosymphony::p1:ppg"])
def test_other_streams_are_not_hub_streams(text: str) -> None:
    assert parse_source_id(text) is None


@pytest.mark.parametrize(("kwargs", "present", "absent"), [
    ({}, ["ResolveScope = machine", "IPv6 = disable", "PortRange = 128", "ListenAddress = 127.0.0.1"], ["KnownPeers", "SessionID"]),
    ({"scope": "link", "listen": "0.0.0.0", "known_peers": ["10.0.0.5", "10.0.1.7"]},
     ["ResolveScope = link", "KnownPeers = {10.0.0.5, 10.0.1.7}"], ["ListenAddress"]),
    ({"scope": "site", "listen": "10.0.0.2", "session_id": "gala"}, ["ListenAddress = 10.0.0.2", "SessionID = gala"], []),
])
def test_the_lsl_settings_file(kwargs: dict[str, object], present: list[str], absent: list[str]) -> None:
    text = api_config_text(**kwargs)  # type: ignore[arg-type]
    assert all(p in text for p in present) and not any(a in text for a in absent)
    assert all("=" in line or line.startswith("[") or not line for line in text.splitlines())  # liblsl refuses other lines
