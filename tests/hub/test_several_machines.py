"""Four sensor hubs and a conductor, each in its own network namespace, over Lab Streaming Layer.

Real processes (``ecosymphony hub`` x 4, ``ecosymphony run``) on a bridge of namespaces;
the conductor's OSC output is read by liblo's ``oscdump`` (an independent receiver). One
hub starts late; another is killed with SIGKILL and started again. Checked: every wearer
is heard in its own slot (its beats at its own simulated heart rate), wearers of two hubs
that share a simulated heart rhythm are in sync, the killed hub's wearers leave and come
back in the same slots within 2 s of its streams going up again, and nobody else leaves.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest

from installation.sensors.simulated import SimulatedAudience
from tests.hub.machines import REPO, Lines, child_env, end, start_hub
from tests.netns import Host, network

HUBS = 4
WEARERS = 8
SEEDS = (7, 7, 8, 9)  # hubs 0 and 1: the same simulated hearts
PORT = 9361
HEARD_S = 12.0  # every hub heard this long (for synchrony), then hub 2 is killed ...
DOWN_S = 4.5  # ... and started again this much later (its wearers have left: the core's stale_s is 3 s)
AFTER_S = 6.0  # the show goes on this long after hub 2's streams are up again


@pytest.fixture(scope="module")
def hosts() -> Iterator[list[Host]]:
    yield from network(HUBS + 1, "four LSL hubs and a conductor", subnet="10.214.18")


def _ntp_s(stamp: str) -> float:
    """oscdump's receive time ``seconds.fraction`` (NTP, hexadecimal) in seconds since 1970."""
    whole, fraction = stamp.split(".")
    return int(whole, 16) + int(fraction, 16) / 2**32 - 2208988800


def _hub_config(path: Path, i: int) -> Path:
    path.write_text(f'[hub]\nname = "hub{i}"\n\n[[sources]]\nkind = "simulated"\nwearers = {WEARERS}\nseed = {SEEDS[i]}\n\n'
                    '[lsl]\nscope = "link"\nlisten = "0.0.0.0"\n', encoding="utf-8")
    return path


def _show(path: Path, peers: list[str]) -> Path:
    hubs = ", ".join(f'"hub{i}"' for i in range(HUBS))
    known = ", ".join(f'"{p}"' for p in peers)
    path.write_text(f'[show]\ntitle = "conductor"\n\n[[sources]]\nkind = "lsl"\nhubs = [{hubs}]\nslots_per_hub = {WEARERS}\n\n'
                    '[lsl]\nscope = "link"\nknown_peers = [' + known + ']\n\n[[mappings]]\nfrom = "p*.heart.beat"\nto = "visual.p*.pulse"\n\n'
                    f'[[outputs]]\nkind = "osc"\nport = {PORT}\nrate_hz = 2\n'
                    'send = ["p*.heart.beat", "p*.wearer.*", "group.sync.p1.p9", "group.sync.p2.p10", "group.sync.p1.p2"]\n',
                    encoding="utf-8")
    return path


def _true_bpm(seed: int, wearer: int, from_s: float, to_s: float) -> float:
    """A simulated wearer's median heart rate between two simulation times, bpm."""
    beats = SimulatedAudience(WEARERS, seed).wearers[wearer].true_beats_s(to_s)
    beats = beats[beats >= from_s]
    return float(np.median(60.0 / np.diff(beats)))


def test_four_hubs_of_eight_wearers_and_a_conductor(hosts: list[Host], tmp_path: Path) -> None:
    oscdump = shutil.which("oscdump")
    if oscdump is None:
        pytest.skip("needs oscdump: install liblo-tools (apt-get install liblo-tools)")
    conductor_host, hub_hosts = hosts[0], hosts[1:]
    configs = [_hub_config(tmp_path / f"hub{i}.toml", i) for i in range(HUBS)]
    show = _show(tmp_path / "show.toml", [h.address for h in hub_hosts])
    children: list[subprocess.Popen[str]] = []
    try:
        hubs = {i: start_hub(hub_hosts[i], configs[i]) for i in range(HUBS - 1)}
        children += [p for p, _ in hubs.values()]
        # a loaded machine takes seconds to start a Python process; a hub's simulation starts as it publishes
        began = {i: lines.first_published_s(timeout_s=60.0) for i, (_, lines) in hubs.items()}
        dump = subprocess.Popen(conductor_host.command(oscdump, "-L", str(PORT)), stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True)
        children.append(dump)
        dumped = Lines(dump)
        conductor = subprocess.Popen(
            conductor_host.python("-m", "installation", *(["-v"] if os.environ.get("HUBTEST_DEBUG") else []), "run", str(show),
                                  "--duration", "300", "--audio", "none", "--visuals", "none", "--no-console",
                                  "--runs-dir", str(tmp_path / "runs")),
            cwd=REPO, env=child_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        children.append(conductor)
        said = Lines(conductor)
        dumped.wait_for("/p17/wearer/arrive", timeout_s=60.0)  # the conductor plays and hears hub2
        hubs[HUBS - 1] = start_hub(hub_hosts[HUBS - 1], configs[HUBS - 1])  # a hub that starts late
        children.append(hubs[HUBS - 1][0])
        began[HUBS - 1] = hubs[HUBS - 1][1].first_published_s(timeout_s=60.0)
        dumped.wait_for("/p25/wearer/arrive", timeout_s=30.0)
        time.sleep(HEARD_S)
        killed_wall_s = time.time()
        hubs[2][0].send_signal(signal.SIGKILL)
        hubs[2][0].wait(timeout=5.0)
        time.sleep(DOWN_S)
        hubs[2] = start_hub(hub_hosts[2], configs[2])
        children.append(hubs[2][0])
        back_wall_s = hubs[2][1].first_published_s(timeout_s=60.0)
        time.sleep(AFTER_S)
        conductor.send_signal(signal.SIGTERM)
        assert conductor.wait(timeout=60.0) == 0, "\n".join(said.lines[-30:])
        time.sleep(0.5)
    finally:
        for proc in children:
            end(proc)
    messages = [line.split() for line in dumped.lines if len(line.split()) >= 3]
    if os.environ.get("HUBTEST_DEBUG"):
        Path(os.environ["HUBTEST_DEBUG"]).write_text(f"killed {killed_wall_s} back {back_wall_s}\n" + "\n".join(said.lines) + "\n----\n" + "\n".join(dumped.lines))
    slots = [f"p{i * WEARERS + k + 1}" for i in range(HUBS) for k in range(WEARERS)]
    beats = {slot: [(_ntp_s(m[0]), float(m[3])) for m in messages if m[1] == f"/{slot}/heart/beat" and len(m) > 3]
             for slot in slots}
    for i in range(HUBS):
        for k in range(WEARERS):
            slot = slots[i * WEARERS + k]
            assert len(beats[slot]) >= 10, f"hub{i}'s wearer p{k + 1} is not heard in {slot} ({len(beats[slot])} beats)"
            first = [(t, bpm) for t, bpm in beats[slot] if i != 2 or t < killed_wall_s]  # hub2: its first run
            heard = float(np.median([bpm for _, bpm in first]))
            truth = _true_bpm(SEEDS[i], k, first[0][0] - began[i], first[-1][0] - began[i])
            assert abs(heard - truth) < 3.0, f"{slot}: heart rate {heard:.1f} bpm, hub{i}'s p{k + 1} has {truth:.1f}"
    arrive = {slot: [_ntp_s(m[0]) for m in messages if m[1] == f"/{slot}/wearer/arrive"] for slot in slots}
    leave = {slot: [_ntp_s(m[0]) for m in messages if m[1] == f"/{slot}/wearer/leave"] for slot in slots}
    killed = slots[2 * WEARERS: 3 * WEARERS]
    returns_s: list[float] = []
    for slot in killed:
        assert any(killed_wall_s < t < back_wall_s for t in leave[slot]), f"{slot} did not fade out when its hub was killed"
        back = [t for t in arrive[slot] if t > back_wall_s - 0.5]
        assert back, f"{slot} did not come back"
        returns_s.append(back[0] - back_wall_s)
        assert back[0] - back_wall_s <= 2.0, f"{slot} came back {back[0] - back_wall_s:.2f} s after its hub's streams went up"
        assert any(t > back_wall_s for t, _ in beats[slot]), f"{slot}'s beats did not come back"
    if os.environ.get("HUBTEST_DEBUG"):
        with open(os.environ["HUBTEST_DEBUG"], "a") as f:
            f.write(f"\nreturns_s {sorted(returns_s)}\n")
    for slot in set(slots) - set(killed):
        assert not leave[slot], f"{slot} left although its hub ran on"
    sync = {m[1]: float(m[3]) for m in messages if m[1].startswith("/group/sync/") and len(m) > 3}
    assert sync["/group/sync/p1/p9"] > 0.6, sync  # hub0's p1 and hub1's p1: the same heart rhythm, different machines
    assert sync["/group/sync/p2/p10"] > 0.6, sync
    assert sync["/group/sync/p1/p2"] < 0.4, sync  # two different hearts


_LOOK = """
import sys
from installation.sensors import lsl_net
lsl_net.apply("link", "0.0.0.0", sys.argv[1:])
import pylsl
print(len(pylsl.resolve_bypred("starts-with(source_id,'ecosymphony:')", 0, 3.0)))
"""


def test_a_hub_of_the_default_scope_is_not_found_by_multicast_from_another_machine(hosts: list[Host], tmp_path: Path) -> None:
    """``scope = "machine"`` (the default) keeps a hub out of other machines' discovery; a machine that
    names it in KnownPeers still finds it (what the README says: machine scope is no firewall)."""
    looker, hub_host = hosts[0], hosts[1]
    config = tmp_path / "quiet.toml"
    config.write_text('[hub]\nname = "quiet"\n\n[[sources]]\nkind = "simulated"\nwearers = 1\n', encoding="utf-8")
    hub, lines = start_hub(hub_host, config)
    try:
        lines.first_published_s(timeout_s=60.0)
        seen = [subprocess.run(looker.python("-c", _LOOK, *peers), cwd=REPO, env=child_env(), capture_output=True, text=True,
                               timeout=60.0).stdout.strip() for peers in ([], [hub_host.address])]
    finally:
        end(hub)
    assert seen == ["0", "2"]  # its PPG and EDA streams, only when asked directly
