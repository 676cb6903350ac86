"""The test network of namespaces: every host reaches every other, by unicast and by multicast."""

from __future__ import annotations

import subprocess

from tests.netns import Host, network

LISTEN = """
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("", 16571))
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, struct.pack("4s4s", socket.inet_aton("239.255.172.215"), socket.inet_aton(sys.argv[1])))
s.settimeout(5.0)
print("ready", flush=True)
print(s.recvfrom(64)[0].decode(), flush=True)
"""
SEND = """
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
for _ in range(20):
    s.sendto(sys.argv[2].encode(), (sys.argv[1], 16571))
    time.sleep(0.05)
"""


def test_three_hosts_reach_each_other_by_unicast_and_multicast() -> None:
    gen = network(3, "the namespace network's own test")
    hosts = next(gen)
    try:
        a, b, c = hosts
        assert _heard(a, [b], b.address) == ["unicast"]
        assert _heard(c, [a, b], "239.255.172.215") == ["multicast", "multicast"]
    finally:
        gen.close()


def _heard(sender: Host, listening: list[Host], destination: str) -> list[str]:
    """What each of ``listening`` hears when ``sender`` sends to ``destination`` (an address or the group)."""
    word = "multicast" if destination.startswith("239.") else "unicast"
    listeners = [subprocess.Popen(h.python("-c", LISTEN, h.address), stdout=subprocess.PIPE, text=True) for h in listening]
    try:
        for p in listeners:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        subprocess.run(sender.python("-c", SEND, destination, word), timeout=10, check=True)
        return [p.communicate(timeout=10)[0].strip() for p in listeners]
    finally:
        for p in listeners:
            if p.poll() is None:
                p.kill()
