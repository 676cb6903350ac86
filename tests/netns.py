"""Several machines on this one: Linux network namespaces on a bridge, made by a test as root.

:func:`network` makes ``count`` host namespaces, each with ``lo`` up, one interface
(``eth0``) on a private subnet and a multicast route (LSL and Ableton Link discover by
multicast), all joined by a bridge that lives in a namespace of its own (multicast
snooping off, so every host hears every group). Nothing they send leaves them; every
namespace is deleted afterwards. Where namespaces cannot be made the test is skipped with
the reason (in CI, which runs as root, skips are failures).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from typing import Iterator

import pytest


@dataclass(frozen=True)
class Host:
    """One namespace: its name, its address on the bridge, and how to run a command in it."""

    name: str
    address: str

    def command(self, *args: str) -> list[str]:
        """``args`` run inside this namespace."""
        return ["ip", "netns", "exec", self.name, *args]

    def python(self, *args: str) -> list[str]:
        """This Python run inside this namespace."""
        return self.command(sys.executable, *args)


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=10.0)


def _delete(names: list[str]) -> None:
    for name in names:  # the veth pairs go with them
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10.0)


def require_namespaces(purpose: str) -> None:
    """Skip, saying why and how to fix it, where network namespaces cannot be made."""
    if shutil.which("ip") is None:
        pytest.skip(f"needs the ip command to make network namespaces ({purpose}): install the Debian package iproute2")
    if os.geteuid() != 0:
        pytest.skip(f"needs root to make network namespaces (ip netns add) for {purpose}")


def network(count: int, purpose: str, subnet: str = "10.214.9") -> Iterator[list[Host]]:
    """Make ``count`` hosts on one bridge (a generator for a fixture); skip where they cannot be made.

    Parameters
    ----------
    count : int
        Host namespaces (at most 250); host ``i`` has the address ``{subnet}.{i + 1}``.
    purpose : str
        What they are for, in a skip's reason.
    subnet : str
        The first three bytes of the hosts' /24 subnet.
    """
    require_namespaces(purpose)
    tag = f"{os.getpid() % 100000}"
    switch = f"eco-{tag}-sw"
    hosts = [Host(f"eco-{tag}-h{i}", f"{subnet}.{i + 1}") for i in range(count)]
    made: list[str] = []
    try:
        _ip("netns", "add", switch)
        made.append(switch)
        _ip("-n", switch, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0")
        _ip("-n", switch, "link", "set", "br0", "up")
        for i, host in enumerate(hosts):
            _ip("netns", "add", host.name)
            made.append(host.name)
            inner, outer = f"e{tag}h{i}", f"e{tag}s{i}"
            _ip("link", "add", inner, "type", "veth", "peer", "name", outer)
            _ip("link", "set", inner, "netns", host.name)
            _ip("link", "set", outer, "netns", switch)
            _ip("-n", host.name, "link", "set", inner, "name", "eth0")
            _ip("-n", host.name, "addr", "add", f"{host.address}/24", "dev", "eth0")
            _ip("-n", host.name, "link", "set", "lo", "up")
            _ip("-n", host.name, "link", "set", "eth0", "up")
            _ip("-n", host.name, "route", "add", "224.0.0.0/4", "dev", "eth0")
            _ip("-n", switch, "link", "set", outer, "master", "br0")
            _ip("-n", switch, "link", "set", outer, "up")
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        _delete(made)
        why = exc.stderr.strip() if isinstance(exc, subprocess.CalledProcessError) and exc.stderr else str(exc)
        pytest.skip(f"cannot make network namespaces here for {purpose} ({why})")
    try:
        yield hosts
    finally:
        _delete(made)
