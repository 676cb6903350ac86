"""Preflight lists the render nodes waiting for the show: a real scene server for a few seconds
on the show's port, and real node links (the thread of ``ecosymphony visuals --from``)."""

from __future__ import annotations

import socket

import pytest

from installation.commands.preflight import judge_render_nodes, probe_render_nodes
from installation.config import parse_show
from installation.status import RenderNodeStatus
from installation.visuals.node import ConductorLink

from tests.helpers import DEFAULT_SHOW


@pytest.mark.parametrize(("nodes", "result", "words"), [
    ("Address already in use", "NO-GO", "cannot listen there (Address already in use)"),
    ([], "WARN", "ecosymphony visuals --from 0.0.0.0:7420"),
    ([RenderNodeStatus("10.0.0.5", "1/2"), RenderNodeStatus("10.0.0.6", "")],
     "GO", "2 connected: 10.0.0.5 (tile 1/2), 10.0.0.6"),
])
def test_the_render_nodes_line(nodes: list[RenderNodeStatus] | str, result: str, words: str) -> None:
    check = judge_render_nodes("0.0.0.0:7420", nodes)
    assert (check.check, check.target, check.result) == ("render nodes", "0.0.0.0:7420", result) and words in check.detail


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _show(port: int):  # type: ignore[no-untyped-def]
    text = DEFAULT_SHOW.read_text().replace('patch = "eco_symphony.py"', 'patch = "eco_symphony"')
    text = text.replace("[visual]\n", f'[visual]\nserve = true\nserve_port = {port}\n', 1)
    return parse_show(text)


def test_nodes_waiting_for_the_show_are_listed_with_their_tiles() -> None:
    port = _free_port()
    links = [ConductorLink("127.0.0.1", port, tile=tile) for tile in ("1/3", "3/3")]
    for link in links:
        link.start()  # before the server: they wait, trying again
    try:
        nodes = probe_render_nodes(_show(port), wait_s=3.0)
    finally:
        for link in links:
            link.stop()
    assert not isinstance(nodes, str)
    assert sorted((n.address, n.tile) for n in nodes) == [("127.0.0.1", "1/3"), ("127.0.0.1", "3/3")]
    assert judge_render_nodes(f"127.0.0.1:{port}", nodes).result == "GO"


def test_a_port_in_use_is_no_go() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        nodes = probe_render_nodes(_show(busy.getsockname()[1]), wait_s=0.1)
    assert isinstance(nodes, str) and judge_render_nodes("x", nodes).result == "NO-GO"
