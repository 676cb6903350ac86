"""Two network stacks on this machine for Link peers: two hosts of the test network
(:mod:`tests.netns`, each with ``lo`` up and a multicast route: Link finds its peers by
multicast). Made by the tests, as root, and deleted after; nothing they send leaves them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

from tests.netns import Host, network

__all__ = ["Host", "child_env", "two_hosts"]


def two_hosts() -> Iterator[tuple[Host, Host]]:
    """Two hosts of the test network (a generator for a fixture); skip, saying why, where they cannot be made."""
    hosts = network(2, "the Link peers")
    a, b = next(hosts)
    try:
        yield a, b
    finally:
        hosts.close()


def child_env(repo: Path) -> dict[str, str]:
    """The environment for a Python child run from the repository (this checkout's package first)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(repo) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env
