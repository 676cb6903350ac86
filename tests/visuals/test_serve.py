"""The render nodes' server and a node's link to it, over real TCP sockets on loopback."""

from __future__ import annotations

import time
from typing import Callable

import pytest

from installation.visuals.feed import Snapshot
from installation.visuals.node import Arrival, ConductorLink, Hello
from installation.visuals.serve import SnapshotServer

WEARERS = ["p1", "p2", "p3"]


def _next(link: ConductorLink, want: Callable[[object], bool], timeout_s: float = 5.0) -> object:
    """The first message from ``link`` that ``want`` accepts (fails after ``timeout_s``)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            item = link.inbox.get(timeout=0.05)
        except Exception:
            continue
        if want(item):
            return item
    raise AssertionError("the link did not bring the message in time")


def _state(i: int) -> Snapshot:
    return Snapshot(time.perf_counter(), {"p1.hue": 0.01 * i, "p2.glow": 0.5, "bloom": 0.3 + 0.001 * i, "drift": 0.6},
                    {"p1.pulse": i // 10}, {"p1.pulse": 0.9}, {"p1.pulse": time.perf_counter()})


@pytest.fixture
def server() -> SnapshotServer:
    s = SnapshotServer("127.0.0.1", 0, WEARERS, "Test show")
    s.start()
    yield s
    s.close()


@pytest.fixture
def links() -> list[ConductorLink]:
    made: list[ConductorLink] = []
    yield made
    for link in made:
        link.stop()


def _link(server: SnapshotServer, links: list[ConductorLink]) -> ConductorLink:
    link = ConductorLink("127.0.0.1", server.port)
    link.start()
    links.append(link)
    return link


def test_a_node_gets_the_scene_and_then_every_change(server: SnapshotServer, links: list[ConductorLink]) -> None:
    server.publish(_state(1))
    link = _link(server, links)
    hello = _next(link, lambda m: isinstance(m, Hello))
    assert isinstance(hello, Hello) and hello.wearers == WEARERS and hello.session == server.session
    first = _next(link, lambda m: isinstance(m, Arrival))
    assert isinstance(first, Arrival) and first.line.key and first.line.seq == 1
    assert first.line.snapshot.values == _state(1).values
    for i in range(2, 40):
        server.publish(_state(i))
        time.sleep(0.002)
    last = _next(link, lambda m: isinstance(m, Arrival) and m.line.seq == 39)
    assert isinstance(last, Arrival)
    assert last.line.snapshot.values == _state(39).values
    assert last.line.snapshot.trigger_counts == {"p1.pulse": 3}
    assert last.line.clock.drift_target == 0.6  # the conductor's animation clock follows the drift it sends
    assert link.offset.known and abs(link.offset.offset_s) < 0.005  # one machine, one clock


def test_a_node_that_joins_late_gets_the_whole_state_in_its_first_line(server: SnapshotServer,
                                                                     links: list[ConductorLink]) -> None:
    for i in range(1, 51):
        server.publish(_state(i))
    link = _link(server, links)
    first = _next(link, lambda m: isinstance(m, Arrival))
    assert isinstance(first, Arrival) and first.line.key and first.line.seq == 50
    assert first.line.snapshot.values == _state(50).values and first.line.snapshot.trigger_counts == {"p1.pulse": 5}


def test_a_quiet_conductor_still_sends_a_line_four_times_a_second(server: SnapshotServer, links: list[ConductorLink]) -> None:
    server.publish(_state(1))
    link = _link(server, links)
    _next(link, lambda m: isinstance(m, Arrival))
    started = time.monotonic()
    beats = [_next(link, lambda m: isinstance(m, Arrival), timeout_s=1.0) for _ in range(3)]
    assert all(isinstance(b, Arrival) and b.line.seq == 1 and b.line.changed == 0 for b in beats)
    assert time.monotonic() - started < 1.2


def test_the_operators_blackout_reaches_the_node(server: SnapshotServer, links: list[ConductorLink]) -> None:
    server.publish(_state(1))
    link = _link(server, links)
    _next(link, lambda m: isinstance(m, Arrival))
    server.blackout(True)
    dark = _next(link, lambda m: isinstance(m, Arrival) and m.line.blackout)
    assert isinstance(dark, Arrival) and dark.line.snapshot.values == _state(1).values


def test_a_node_not_in_the_allow_list_is_refused(links: list[ConductorLink]) -> None:
    s = SnapshotServer("127.0.0.1", 0, WEARERS, allow=["10.1.2.3"])
    s.start()
    try:
        link = _link(s, links)
        deadline = time.monotonic() + 2.0
        while s.refused == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert s.refused >= 1 and not link.connected and link.inbox.empty()
    finally:
        s.close()


def test_a_node_that_loses_its_conductor_says_so_and_follows_the_next_one(links: list[ConductorLink]) -> None:
    first = SnapshotServer("127.0.0.1", 0, WEARERS)
    first.start()
    port = first.port
    link = _link(first, links)
    _next(link, lambda m: isinstance(m, Hello))
    first.close()
    assert _next(link, lambda m: m == "lost") == "lost"
    assert not link.connected
    again = SnapshotServer("127.0.0.1", port, ["p1"])
    again.start()
    try:
        hello = _next(link, lambda m: isinstance(m, Hello), timeout_s=5.0)
        assert isinstance(hello, Hello) and hello.session == again.session != first.session and hello.wearers == ["p1"]
    finally:
        again.close()
