"""The operator console lists the render nodes connected to the conductor's scene server.

A real server on loopback and real node links (the thread a render node runs, without its
drawing): the console's line shows each node's address, tile and how many snapshots it
has not applied yet, as its pings said.
"""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
from rich.console import Console

from installation.runtime.console import OperatorConsole, nodes_line
from installation.status import OperatorStatus, RenderNodeStatus, WearerStatus
from installation.visuals.feed import Snapshot
from installation.visuals.node import ConductorLink
from installation.visuals.serve import SnapshotServer


@pytest.mark.parametrize(("nodes", "line"), [
    ([], "render nodes: none connected (serving on 0.0.0.0:7420)"),
    ([RenderNodeStatus("10.0.0.5", "1/2", 0, 3.0)], "render nodes (1): 10.0.0.5 tile 1/2 0 behind"),
    ([RenderNodeStatus("10.0.0.5", "1/2", 2, 3.0), RenderNodeStatus("10.0.0.6")],
     "render nodes (2): 10.0.0.5 tile 1/2 2 behind   10.0.0.6"),
])
def test_the_nodes_line(nodes: list[RenderNodeStatus], line: str) -> None:
    assert nodes_line(["0.0.0.0:7420"], nodes) == line


def _wait(ok, timeout_s: float = 10.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        got = ok()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError("not in time")


def test_the_console_lists_connected_nodes_with_their_tile_and_lag() -> None:
    server = SnapshotServer("127.0.0.1", 0, ["p1", "p2"])
    server.start()
    links = [ConductorLink("127.0.0.1", server.port, tile=tile) for tile in ("1/2", "2/2")]
    try:
        for link in links:
            link.start()
        _wait(lambda: len(server.node_status()) == 2 and all(n.tile for n in server.node_status()))
        for i in range(10):
            server.publish(Snapshot(time.perf_counter(), {"drift": 0.3, "p1.glow": i / 10}))
        links[0].shown_seq = server.seq  # one node is up to date, the other four snapshots behind
        links[1].shown_seq = server.seq - 4
        figures = _wait(lambda: (lambda s: s if sorted(n.behind for n in s) == [0, 4] else None)(server.node_status()), 5.0)
        assert sorted(n.tile for n in figures) == ["1/2", "2/2"] and all(n.address == "127.0.0.1" for n in figures)
        session = SimpleNamespace(show=SimpleNamespace(scenes=[]), blackout=False,
                                  pipeline=SimpleNamespace(sinks={"visual": SimpleNamespace(publishers=[server])}))
        screen = Console(width=100, height=24, record=True, force_terminal=False)
        console = OperatorConsole(session, "t", console=screen, keys=False)  # type: ignore[arg-type]
        console._status = OperatorStatus(wearers=[WearerStatus(f"p{i}", 70.0, 2.0, 0.9, "ok", 5.0, 0.1) for i in (1, 2)])
        screen.print(console._render())
        text = screen.export_text()
        line = next(x for x in text.splitlines() if x.startswith("render nodes"))
        assert line.startswith("render nodes (2): ") and "127.0.0.1 tile 1/2 0 behind" in line, text
        assert "127.0.0.1 tile 2/2 4 behind" in line and len(text.splitlines()) <= 24
    finally:
        for link in links:
            link.stop()
        server.close()
