"""The welfare watch in a real run of the ``ecosymphony render`` command: a scripted racing heart
raises its notice (printed with its time of show), and the steward's OSC notification arrives on a
real UDP socket on 127.0.0.1 when the live outputs are on."""

from __future__ import annotations

import socket
from pathlib import Path

from pythonosc.osc_message import OscMessage

from tests.helpers import REPO, ecosymphony


def test_render_raises_the_notice_and_notifies_the_steward(tmp_path: Path) -> None:
    steward = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    steward.bind(("127.0.0.1", 0))
    steward.settimeout(5.0)
    show = tmp_path / "show.toml"
    show.write_text(f'''
[[sources]]
kind = "simulated"
wearers = 2

[sound]
patch = "{(REPO / "patches" / "eco_symphony.py").as_posix()}"

[care.welfare]
baseline_s = 15

[care.welfare.racing_heart]
for_s = 10

[care.notify]
port = {steward.getsockname()[1]}
address = "/steward"

[[mappings]]
from = "p*.heart.beat"
to = "sound.p*.pulse"
''', encoding="utf-8")
    scenario = tmp_path / "racing.toml"
    scenario.write_text('[[events]]\nat_s = 30\nduration_s = 30\nwearer = "p2"\nwhat = "racing"\n', encoding="utf-8")
    try:
        done = ecosymphony("render", str(show), "--input", str(scenario), "--duration", "55",
                           "--out", str(tmp_path / "out.wav"), "--outputs", "on", timeout_s=300.0)
        assert done.returncode == 0, done.stderr
        lines = [line for line in done.stdout.splitlines() if line.startswith("notice at")]
        assert len(lines) == 1, done.stdout
        assert "care.racing_heart: p2: heart racing" in lines[0]
        at_s = float(lines[0].split()[2])
        assert 40.0 <= at_s <= 55.0  # the racing mood ramps up over 10 s, then 10 s held
        message = OscMessage(steward.recv(65536))
    finally:
        steward.close()
    assert message.address == "/steward/raised"
    assert message.params[:2] == ["p2", "care.racing_heart"]
    assert message.params[2].startswith("p2: heart racing, ")
