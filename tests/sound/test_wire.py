"""The wire between the show and the patch: addresses, trigger turns and OSC bytes, read back by
python-osc and by liblo's own ``oscdump`` (an independent peer)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

import pytest
from pythonosc.osc_bundle import OscBundle
from pythonosc.parsing.osc_types import IMMEDIATELY
from pythonosc.osc_message import OscMessage

from installation.sound.wire import (
    LIBLO_EARLY_S, PARITY_OFFSET, TriggerTurns, bundle, datagrams, due_at, expand_parameters,
    message, osc_path, strength_of, voice_path,
)


@pytest.mark.parametrize(
    ("address", "path"),
    [("drone.brightness", "/drone/brightness"), ("p12.tone", "/p12/tone"), ("level", "/level")],
)
def test_addresses_become_osc_paths(address: str, path: str) -> None:
    assert osc_path(address) == path
    assert voice_path(address, 2) == path + "/2"


def test_patterns_expand_to_every_wearer() -> None:
    got = expand_parameters({"p*.pulse": "trigger", "drone.level": "continuous"}, ["p1", "p3"])
    assert got == {"p1.pulse": "trigger", "p3.pulse": "trigger", "drone.level": "continuous"}


def test_copies_take_turns_and_every_firing_changes_the_copys_value() -> None:
    turns = TriggerTurns(3)
    fired = [turns.fire("p1.pulse", 0.5) for _ in range(7)]
    assert [k for k, _ in fired] == [0, 1, 2, 0, 1, 2, 0]
    by_copy: dict[int, list[float]] = {}
    for k, v in fired:
        by_copy.setdefault(k, []).append(v)
    for values in by_copy.values():  # the same strength, yet never the same value twice running
        assert all(a != b for a, b in zip(values, values[1:]))
        assert all(strength_of(v) == pytest.approx(0.5) for v in values)
    assert turns.fire("p2.pulse", 0.1)[0] == 0  # each trigger has its own turns


@pytest.mark.parametrize(("strength", "carried"), [(0.0, 0.0), (1.0, 1.0), (-3.0, 0.0), (7.0, 1.0), (float("nan"), 0.0)])
def test_strength_is_clipped_and_survives_the_parity(strength: float, carried: float) -> None:
    turns = TriggerTurns(1)
    for _ in range(2):  # with and without the offset
        _, value = turns.fire("p1.pulse", strength)
        assert strength_of(value) == pytest.approx(carried)
        assert 0.0 <= value <= 1.0 + PARITY_OFFSET


def test_a_message_and_a_bundle_read_back_with_python_osc() -> None:
    m = OscMessage(message("/p1/tone", 0.25))
    assert m.address == "/p1/tone" and m.params == [0.25]
    due = time.time() + 1.5
    b = OscBundle(bundle([message("/a", 1.0), message("/b/c", 2.0)], due))
    assert [(x.address, x.params) for x in b] == [("/a", [1.0]), ("/b/c", [2.0])]
    assert b.timestamp == pytest.approx(due, abs=1e-3)
    assert OscBundle(bundle([message("/a", 1.0)])).timestamp == IMMEDIATELY  # the time tag 1: "now"


def test_a_burst_of_values_is_split_into_datagrams_that_each_fit() -> None:
    msgs = [message(f"/p{i}/level", i / 1000.0) for i in range(1000)]
    grams = datagrams(msgs)
    assert len(grams) > 1 and all(len(g) <= 8192 for g in grams)
    got = [(m.address, m.params[0]) for g in grams for m in OscBundle(g)]
    assert got == [(f"/p{i}/level", pytest.approx(i / 1000.0)) for i in range(1000)]


def test_a_due_time_is_a_little_late_for_liblo() -> None:
    assert due_at(0.1) - time.time() == pytest.approx(0.1 + LIBLO_EARLY_S, abs=0.01)


@pytest.mark.skipif(shutil.which("oscdump") is None, reason="liblo's oscdump is not installed: apt-get install liblo-tools")
def test_liblo_reads_our_messages_and_bundles() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dump = subprocess.Popen(["oscdump", "-L", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        time.sleep(0.3)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as out:
            out.sendto(message("/p1/tone", 0.25), ("127.0.0.1", port))
            out.sendto(bundle([message("/p2/pulse/1", 2.5), message("/drone/level", 0.75)]), ("127.0.0.1", port))
        time.sleep(0.5)
    finally:
        dump.terminate()
        text = dump.communicate(timeout=5)[0]
    assert "/p1/tone f 0.250000" in text
    assert "/p2/pulse/1 f 2.500000" in text and "/drone/level f 0.750000" in text
