"""The welfare watch in a live rehearsal, in real time: a scripted racing heart raises its notice,
logged as a warning with the rule and the figures, and the steward's phone (a UDP socket on
127.0.0.1) gets it over OSC while the show plays. Thresholds shortened so that it takes 30 s."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest
from pythonosc.osc_message import OscMessage

from installation.config import parse_show
from installation.runtime.launch import LaunchOptions, perform
from tests.helpers import REPO


def test_a_live_rehearsal_raises_logs_and_notifies(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    steward = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    steward.bind(("127.0.0.1", 0))
    steward.settimeout(2.0)
    show = parse_show(f'''
[sound]
patch = "{(REPO / "patches" / "eco_symphony.py").as_posix()}"

[care.welfare]
baseline_s = 6

[care.welfare.racing_heart]
for_s = 5

[care.notify]
port = {steward.getsockname()[1]}

[[mappings]]
from = "p*.heart.beat"
to = "sound.p*.pulse"
''')
    scenario = tmp_path / "racing.toml"
    scenario.write_text('[[events]]\nat_s = 16\nduration_s = 60\nwearer = "p1"\nwhat = "racing"\n', encoding="utf-8")
    caplog.set_level(logging.WARNING)
    try:
        perform(show, LaunchOptions(duration_s=34.0, participants=2, runs_dir=tmp_path, audio="none", visuals="none",
                                    scenario=scenario),
                rehearsal=True, notify=lambda line: None, find_devices=lambda: [], has_display=lambda: False)
        message = OscMessage(steward.recv(65536))
    finally:
        steward.close()
    logged = [r.getMessage() for r in caplog.records if r.getMessage().startswith("notice ")]
    assert len(logged) == 1, logged
    assert logged[0].startswith("notice care.racing_heart: p1: heart racing, ")
    assert "above their own" in logged[0]
    assert message.address == "/ecosymphony/care/raised"
    assert message.params[:2] == ["p1", "care.racing_heart"]
