"""A replay and an offline render never play into a live rig unless asked: the show's
``[osc_out]`` and ``[[outputs]]`` peers (real UDP sockets on loopback) hear nothing from
them by default, and hear them with ``live_outputs`` (``--outputs on``)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from installation.clock import FakeClock
from installation.commands.render import render_offline
from installation.commands.replay import replay
from installation.config import parse_show
from installation.record.reader import load_recording
from installation.record.writer import Recorder
from installation.runtime.launch import LaunchOptions, make_sources, prepare_show
from installation.runtime.session import Session
from installation.sensors.simulated import SimulatedAudience
from tests.helpers import DEFAULT_SHOW as SHOW
from tests.outputs.peers import Peer


def _show_text(osc_out: Peer, output: Peer) -> str:
    return SHOW.read_text(encoding="utf-8") + (
        f'\n[osc_out]\nport = {osc_out.port}\nrate_hz = 20\n'
        '\n[[mappings]]\nfrom = "any.heart.beat"\nto = "osc.out./cue/beat"\n'
        f'\n[[outputs]]\nkind = "osc"\nport = {output.port}\nrate_hz = 20\nsend = ["p*.heart.bpm", "p*.heart.beat"]\n'
    )


@pytest.fixture()
def peers():  # type: ignore[no-untyped-def]
    osc_out, output = Peer(), Peer()
    yield osc_out, output
    osc_out.close()
    output.close()


@pytest.mark.parametrize("live", [False, True])
def test_an_offline_render_sends_to_live_peers_only_when_asked(peers, live: bool, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    osc_out, output = peers
    prepared = prepare_show(parse_show(_show_text(osc_out, output), "live.toml", SHOW))
    clock = FakeClock()
    sources, wearers = make_sources(prepared.show, LaunchOptions(participants=2, seed=3), rehearsal=True, clock=clock)
    summary = render_offline(prepared, sources, wearers, clock, tmp_path / "mix.wav", 8.0, live_outputs=live)
    assert sum(summary.beats.values()) >= 6  # the show played: beats were found and mapped
    osc_out.collect(0.3)
    output.collect(0.3)
    heard = {"osc_out": len(osc_out.messages), "outputs": len(output.messages)}
    if live:
        assert heard["osc_out"] >= 6 and heard["outputs"] >= 6, heard
        assert {"/cue/beat"} == {a for a, _ in osc_out.messages}
    else:
        assert heard == {"osc_out": 0, "outputs": 0}


def test_a_replay_sends_to_live_peers_only_when_asked(peers, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    osc_out, output = peers
    text = _show_text(osc_out, output)
    prepared = prepare_show(parse_show(text, "live.toml", SHOW))
    recorder = Recorder(tmp_path / "rec", text, "rehearse", SHOW)
    session = Session(prepared.show, prepared.mapper, [SimulatedAudience(2, seed=4)], ["p1", "p2"], None, None,
                      recorder=recorder)
    with session:
        session.run(6.0)
    time.sleep(0.2)
    live_during_show = (len(osc_out.drain(0.2)), len(output.drain(0.2)))
    assert min(live_during_show) > 0  # the live show itself did send: the peers work
    osc_out.messages.clear()
    output.messages.clear()
    recording = load_recording(tmp_path / "rec")

    quiet = replay(recording)
    osc_out.collect(0.3)
    output.collect(0.3)
    assert sum(quiet.beats.values()) >= 4
    assert (len(osc_out.messages), len(output.messages)) == (0, 0)

    loud = replay(recording, live_outputs=True)
    osc_out.collect(0.3)
    output.collect(0.3)
    assert loud.beats == quiet.beats  # the same replay, deterministically
    assert len(osc_out.messages) > 0 and len(output.messages) > 0
