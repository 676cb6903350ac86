"""Preflight's check of the lighting outputs: the interface exists and a route leads to the receiver
(real sockets; a network namespace with nothing but loopback for "no route")."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from installation.commands.preflight import LightProbe, judge_light, light_targets, probe_light
from installation.config import parse_show
from tests.helpers import DEFAULT_SHOW, REPO


@pytest.mark.parametrize("destination, interface, result, detail", [
    ("127.0.0.1", None, "GO", "sending from 127.0.0.1"),
    ("127.0.0.1", "127.0.0.1", "GO", "sending from 127.0.0.1"),
    ("127.0.0.1", "192.0.2.254", "NO-GO", "no network interface of this machine has the address 192.0.2.254"),
])
def test_probe_and_judge(destination: str, interface: str | None, result: str, detail: str) -> None:
    check = judge_light("outputs[0] sacn", destination, 5568, probe_light(destination, 5568, interface))
    assert check.result == result and detail in check.detail, check


def test_no_route_is_no_go() -> None:
    if shutil.which("ip") is None or os.geteuid() != 0:
        pytest.skip("needs root and the ip command (Debian package iproute2) to make a network namespace")
    ns = f"eco-pf-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True, timeout=10)
    try:
        subprocess.run(["ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"], check=True, timeout=10)
        code = ("from installation.commands.preflight import probe_light; "
                "print(probe_light('239.255.0.1', 5568).error); print(probe_light('10.9.8.7', 6454).error)")
        done = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", code], cwd=REPO, capture_output=True,
                              text=True, timeout=60, env=dict(os.environ, PYTHONPATH=str(REPO)))
    finally:
        subprocess.run(["ip", "netns", "del", ns], timeout=10)
    assert done.stdout.splitlines() == ["no route to its network"] * 2, done.stderr


def test_light_targets_use_the_multicast_group_of_the_first_universe() -> None:
    show = parse_show(DEFAULT_SHOW.read_text() + '[[outputs]]\nkind = "sacn"\nuniverses = [300, 2]\n'
                      '[[outputs]]\nkind = "artnet"\nname = "node"\nhost = "10.0.0.5"\nuniverses = [0]\n', "s")
    assert light_targets(show) == [("outputs[0] sacn", "239.255.1.44", 5568, None), ("outputs[1] node", "10.0.0.5", 6454, None)]
    assert judge_light("x", "10.0.0.5", 6454, LightProbe(error="no route to its network")).result == "NO-GO"
