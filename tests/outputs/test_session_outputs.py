"""A short rehearsal (simulated audience, no sound, no window) whose show has two [[outputs]]:
each peer receives the features it asked for, and only those."""

from __future__ import annotations

import threading
from pathlib import Path

from installation.config import parse_show
from installation.runtime.launch import LaunchOptions, perform
from tests.helpers import DEFAULT_SHOW
from tests.outputs.peers import Peer


def test_a_rehearsal_feeds_two_peers_their_own_selections(tmp_path: Path) -> None:
    desk, emotibit = Peer(), Peer()
    text = DEFAULT_SHOW.read_text() + (
        f'\n[[outputs]]\nkind = "osc"\nport = {desk.port}\nrate_hz = 20\n'
        'send = ["p*.heart.bpm", "group.count", "p*.heart.beat", "sound.drone.*"]\n'
        f'\n[[outputs]]\nkind = "osc"\nport = {emotibit.port}\nformat = "emotibit"\nrate_hz = 15\n'
    )
    show = parse_show(text, "two-outputs.toml", DEFAULT_SHOW)
    stop = threading.Event()

    def drain() -> None:
        while not stop.is_set():
            desk.drain(0.02), emotibit.drain(0.02)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        summary = perform(show, LaunchOptions(duration_s=9.0, participants=2, seed=3, audio="none", visuals="none",
                                              live_edit=False, runs_dir=tmp_path), rehearsal=True, notify=lambda _: None)
    finally:
        stop.set()
        reader.join(timeout=5.0)
        desk.drain(0.2), emotibit.drain(0.2)
        desk.close(), emotibit.close()
    assert summary.beats["p1"] > 3 and summary.beats["p2"] > 3
    got = desk.by_address()
    assert {"/p1/heart/bpm", "/p2/heart/bpm", "/group/count", "/p1/heart/beat", "/p2/heart/beat"} <= set(got)
    assert all(a.startswith(("/p1/heart/", "/p2/heart/", "/group/count", "/sound/drone/")) for a in got), sorted(got)
    assert all(40.0 < args[0] < 140.0 for args in got["/p1/heart/bpm"])
    assert len(got["/group/count"]) <= 9.5 * 20  # no more than its rate
    assert got["/group/count"][-1] == [2.0]
    beats = len(got["/p1/heart/beat"])
    assert abs(beats - summary.beats["p1"]) <= 1  # every beat, at once, not rate-limited
    emo = emotibit.by_address()
    assert {"/EmotiBit/0/HR", "/EmotiBit/1/HR", "/EmotiBit/0/EDA", "/EmotiBit/1/EDA"} <= set(emo)
    assert all(a.startswith(("/EmotiBit/0/", "/EmotiBit/1/")) for a in emo), sorted(emo)
    assert len(emo["/EmotiBit/0/EDA"]) <= 9.5 * 15
