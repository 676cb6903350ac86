"""The JACK server module and the engine's jack backend, on JACK's dummy driver."""

from __future__ import annotations

import os

import pytest

from installation.bench.step_patch import StepPatch
from installation.sound import jack_server
from installation.sound.engine import SoundEngine
from installation.sound.jack_server import DummyJackServer, JackNotInstalled, open_client, server_running


def test_dummy_server_starts_and_stops_by_its_pid(jackd: str) -> None:
    already = server_running()
    server = DummyJackServer(48000, 128)
    settings = server.start()
    try:
        assert server_running()
        if already:  # a server of someone else's: used as it is, and left alone
            assert not server.started and server.pid is None
        else:
            assert server.started and settings.sample_rate_hz == 48000 and settings.buffer_frames == 128
            pid = server.pid
            assert pid is not None
            assert settings.period_ms == pytest.approx(128 / 48.0)
    finally:
        server.stop()
    assert server_running() == already
    if not already:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # gone, not just unreachable


def test_no_server_and_no_jackd_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jack_server, "server_settings", lambda: None)
    monkeypatch.setattr(jack_server, "jackd_path", lambda: None)
    with pytest.raises(JackNotInstalled, match=r"apt-get install jackd2"):
        DummyJackServer().start()


def test_jack_backend_plays_through_the_server(jackd: str) -> None:
    with DummyJackServer(48000, 64) as settings:
        engine = SoundEngine(StepPatch(["p1"], {}), "jack", sample_rate_hz=44100, buffer_frames=256,
                             fade_in_s=0.0, fade_out_s=0.0, jack_name="ecosymphony-test", jack_connect_outputs=False)
        engine.start()
        try:
            # pyo takes the server's rate and buffer size, whatever it was asked for
            assert (engine.sample_rate_hz, engine.buffer_frames) == (settings.sample_rate_hz, settings.buffer_frames)
            client = open_client("ecosymphony-test-probe")
            try:
                ports = [p.name for p in client.get_ports("ecosymphony-test:", is_audio=True, is_output=True)]
            finally:
                client.close()
            assert ports == ["ecosymphony-test:output_1", "ecosymphony-test:output_2"]
            engine.trigger("p1.pulse", 1.0)
            assert engine.errors == 0
        finally:
            engine.stop()
        assert engine.server is None
