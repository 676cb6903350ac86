"""Two network stacks on this machine for Link peers: two network namespaces joined by a veth
pair, each with ``lo`` up and a multicast route (Link finds its peers by multicast). Made by
the tests, as root, and deleted after; nothing they send leaves them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest


@dataclass(frozen=True)
class Host:
    """One namespace: its name, and how to run a command in it."""

    name: str

    def command(self, *args: str) -> list[str]:
        return ["ip", "netns", "exec", self.name, *args]

    def python(self, *args: str) -> list[str]:
        return self.command(sys.executable, *args)


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=10.0)


def two_hosts() -> Iterator[tuple[Host, Host]]:
    """Make the two namespaces (a generator for a fixture); skip, saying why, where they cannot be made."""
    if shutil.which("ip") is None:
        pytest.skip("needs the ip command to make network namespaces: install the Debian package iproute2")
    if os.geteuid() != 0:
        pytest.skip("needs root to make network namespaces (ip netns add) for the Link peers")
    tag = f"{os.getpid() % 100000}"
    names = (f"eco-link-{tag}-a", f"eco-link-{tag}-b")
    links = (f"elk{tag}a", f"elk{tag}b")
    made: list[str] = []
    try:
        for name in names:
            _ip("netns", "add", name)
            made.append(name)
        _ip("link", "add", links[0], "type", "veth", "peer", "name", links[1])
        for i, (name, link) in enumerate(zip(names, links)):
            _ip("link", "set", link, "netns", name)
            _ip("-n", name, "addr", "add", f"10.213.7.{i + 1}/24", "dev", link)
            _ip("-n", name, "link", "set", "lo", "up")
            _ip("-n", name, "link", "set", link, "up")
            _ip("-n", name, "route", "add", "224.0.0.0/4", "dev", link)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        for name in made:
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10.0)
        why = exc.stderr.strip() if isinstance(exc, subprocess.CalledProcessError) and exc.stderr else str(exc)
        pytest.skip(f"cannot make network namespaces here ({why})")
    try:
        yield Host(names[0]), Host(names[1])
    finally:
        for name in names:  # the veth pair goes with them
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10.0)


def child_env(repo: Path) -> dict[str, str]:
    """The environment for a Python child run from the repository (this checkout's package first)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(repo) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env
