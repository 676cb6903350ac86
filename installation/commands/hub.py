"""``ecosymphony hub CONFIG``: publish a hub's sources as LSL streams, one status line per stream each second."""

from __future__ import annotations

import json
import sys
import time
from typing import Any, Callable

from installation.config import HubConfig
from installation.hub.publisher import HubStream
from installation.hub.run import Hub
from installation.sensors import lsl_net

#: Columns of the status lines, in order.
COLUMNS = ("hub", "stream", "type", "wearer", "rate_hz", "samples", "consumers", "last")


def apply_network(cfg: HubConfig) -> None:
    """Give liblsl the hub's ``[lsl]`` settings (before any stream is made)."""
    net = cfg.lsl
    lsl_net.apply(net.scope, net.listen, net.known_peers, net.session_id, net.port_range)


def status_line(row: dict[str, Any]) -> str:
    """One stream's status as a line of text."""
    return "  ".join(f"{c}={row.get(c)}" for c in COLUMNS)


def run_hub(cfg: HubConfig, duration_s: float | None, as_json: bool, should_stop: Callable[[], bool],
            write: Callable[[str], None] = sys.stdout.write) -> Hub:
    """Run a hub until ``duration_s`` or ``should_stop()``, writing the status lines; returns it (stopped)."""
    apply_network(cfg)

    def published(stream: HubStream) -> None:
        if as_json:  # when each stream went up, on the wall clock (seconds since the epoch)
            write(json.dumps({"published": stream.name, "wall_s": time.time()}) + "\n")
            sys.stdout.flush()

    hub = Hub(cfg, on_new_stream=published)

    def report(rows: list[dict[str, Any]]) -> None:
        for row in rows:
            write((json.dumps(row) if as_json else status_line(row)) + "\n")
        sys.stdout.flush()

    hub.run(duration_s, report, should_stop)
    return hub
