"""The session's threads: real simulated audience, core thread, no sound or window."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import pytest

from installation.config import load_show
from installation.launch import prepare_show
from installation.sensors.simulated import SimulatedAudience
from installation.session import Session

SHOW = Path(__file__).parent.parent / "patches" / "default.toml"


def test_rebaseline_request_reaches_the_core_thread(caplog: pytest.LogCaptureFixture) -> None:
    prepared = prepare_show(load_show(SHOW))
    session = Session(prepared.show, prepared.mapper, [SimulatedAudience(2, seed=3)], ["p1", "p2"], None, None)
    before = set(threading.enumerate())
    with caplog.at_level(logging.WARNING, logger="installation.session"):
        with session:
            time.sleep(1.5)
            session.rebaseline("p2")
            time.sleep(0.3)
            session.run(0.5)
    assert "re-baselining p2 from now" in caplog.text
    assert session.stats.blocks > 100
    assert set(threading.enumerate()) <= before


def test_a_failing_source_does_not_stop_the_show(caplog: pytest.LogCaptureFixture) -> None:
    class Flaky(SimulatedAudience):
        """A sensor link that fails every few reads, as an unplugged cable would."""

        calls = 0

        def read(self, timeout_s: float):  # type: ignore[override]
            self.calls += 1
            if self.calls % 5 == 0:
                raise OSError("device disconnected")
            return super().read(timeout_s)

    prepared = prepare_show(load_show(SHOW))
    session = Session(prepared.show, prepared.mapper, [Flaky(1)], ["p1"], None, None)
    with caplog.at_level(logging.WARNING):
        with session:
            session.run(2.0)
    assert session.stats.source_errors > 3
    assert session.stats.blocks > 50
    assert "device disconnected" in caplog.text


def test_osc_out_parameters_reach_a_peer(tmp_path: Path) -> None:
    """A show can drive a lighting desk: osc.out./address goes out as OSC on loopback."""
    import socket

    from pythonosc.osc_message import OscMessage

    from installation.config import parse_show

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as desk:
        desk.bind(("127.0.0.1", 0))
        desk.settimeout(0.2)
        port = desk.getsockname()[1]
        text = SHOW.read_text() + (
            f'\n[osc_out]\nport = {port}\nrate_hz = 20\n\n[[mappings]]\nfrom = "p*.eda.arousal"\nto = "osc.out./lights/p*"\n'
            '\n[[mappings]]\nfrom = "any.heart.beat"\nto = "osc.out./cue/beat"\n'
        )
        prepared = prepare_show(parse_show(text, "osc.toml", SHOW))
        session = Session(prepared.show, prepared.mapper, [SimulatedAudience(2, seed=3)], ["p1", "p2"], None, None)
        seen: dict[str, list[float]] = {}
        with session:
            deadline = time.monotonic() + 6.0
            while time.monotonic() < deadline:
                try:
                    data, _ = desk.recvfrom(4096)
                except TimeoutError:
                    continue
                message = OscMessage(data)
                seen.setdefault(message.address, []).append(message.params[0])
    assert {"/lights/p1", "/lights/p2", "/cue/beat"} <= set(seen)
    assert all(0.0 <= v <= 1.0 for v in seen["/lights/p1"])
    assert len(seen["/lights/p1"]) <= 6.0 * 20 + 5  # no more than the rate asks
