"""A patch's inputs on a real pyo server (manual mode): OSC datagrams on loopback read by pyo's own
``OscReceive``, and the same streams set from Python."""

from __future__ import annotations

import gc
import os
import socket
import time
from typing import Any, Iterator

import pytest

from installation.sound.inputs import OscInputs, SigInputs
from installation.sound.process import free_udp_port
from installation.sound.wire import TriggerTurns, bundle, due_at, message, osc_path, voice_path

os.environ.setdefault("PYO_GUI_WX", "0")
import pyo  # noqa: E402

RATE = 48000
BUFFER = 64


@pytest.fixture
def server() -> Iterator[Any]:
    s = pyo.Server(sr=RATE, nchnls=2, buffersize=BUFFER, duplex=0, audio="manual")
    s.deactivateMidi()
    s.setVerbosity(1)
    s.boot().start()
    yield s
    s.stop()
    gc.collect()
    s.shutdown()


def send(port: int, *datagrams: bytes) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for d in datagrams:
            sock.sendto(d, ("127.0.0.1", port))
    time.sleep(0.02)  # into the socket's buffer before the next buffer is computed


def test_a_value_holds_its_default_then_steps_to_what_arrives(server: Any) -> None:
    port = free_udp_port()
    inputs = OscInputs(port, 1)
    tone = inputs.value("p1.tone", 0.3)
    level = inputs.value("drone.level", 0.5)
    server.process()
    assert tone.get() == pytest.approx(0.3) and level.get() == pytest.approx(0.5)
    send(port, message(osc_path("p1.tone"), 0.8))
    server.process()
    assert tone.get() == pytest.approx(0.8)  # at once: a step, not a ramp over the buffer
    assert level.get() == pytest.approx(0.5)  # the others keep theirs
    inputs.release()


def test_garbage_on_the_port_changes_nothing(server: Any) -> None:
    port = free_udp_port()
    inputs = OscInputs(port, 1)
    tone = inputs.value("p1.tone", 0.3)
    server.process()
    wrong_type = b"/p1/tone\0\0\0\0,s\0\0hi\0\0"
    send(port, b"\x00garbage", b"#bundle\0truncated", wrong_type, message("/p9/unknown", 1.0))
    for _ in range(3):
        server.process()
    assert tone.get() == pytest.approx(0.3)
    inputs.release()


def fires_of(voices: list[Any]) -> list[Any]:
    return [pyo.Counter(v.fire, min=0, max=1_000_000) for v in voices]


def test_trigger_copies_fire_in_turn_with_their_strengths(server: Any) -> None:
    port = free_udp_port()
    inputs = OscInputs(port, 3)
    voices = inputs.trigger("p1.pulse")
    assert len(voices) == 3 and inputs.triggers == ["p1.pulse"]
    hits = [0, 0, 0]
    funcs = [pyo.TrigFunc(v.fire, lambda k=k: hits.__setitem__(k, hits[k] + 1)) for k, v in enumerate(voices)]
    server.process()
    turns = TriggerTurns(3)
    strengths = [0.2, 0.9, 0.5, 0.7]
    for strength in strengths:
        k, value = turns.fire("p1.pulse", strength)
        send(port, message(voice_path("p1.pulse", k), value))
        server.process()
        assert voices[k].strength.get() == pytest.approx(strength, abs=1e-6)
    assert hits == [2, 1, 1]
    for _ in range(5):  # nothing new arrives: nothing fires
        server.process()
    assert hits == [2, 1, 1]
    del funcs
    inputs.release()


def test_a_time_stamped_trigger_waits_for_its_time(server: Any) -> None:
    port = free_udp_port()
    inputs = OscInputs(port, 1)
    (voice,) = inputs.trigger("p1.pulse")
    fired_s: list[float] = []
    func = pyo.TrigFunc(voice.fire, lambda: fired_s.append(time.monotonic()))
    _, value = TriggerTurns(1).fire("p1.pulse", 1.0)
    sent_s = time.monotonic()
    send(port, bundle([message(voice_path("p1.pulse", 0), value)], due_at(0.2)))
    buffer_s = BUFFER / RATE
    while time.monotonic() - sent_s < 0.5 and not fired_s:  # buffers in real time
        server.process()
        time.sleep(buffer_s)
    assert fired_s, "the stamped trigger never fired"
    assert 0.15 < fired_s[0] - sent_s < 0.35  # held by liblo until it was due, not sent on at once
    del func
    inputs.release()


def test_sig_inputs_are_set_from_python_and_refuse_what_the_patch_does_not_read(server: Any) -> None:
    inputs = SigInputs(2)
    tone = inputs.value("p1.tone", 0.3)
    voices = inputs.trigger("p1.pulse")
    counts = fires_of(voices)
    server.process()
    assert inputs.set("p1.tone", 0.6) and tone.get() == pytest.approx(0.3)  # from the next buffer
    server.process()
    assert tone.get() == pytest.approx(0.6)
    assert inputs.fire("p1.pulse", 0.4)
    server.process()
    assert voices[0].strength.get() == pytest.approx(0.4)
    assert not inputs.set("p1.level", 1.0) and not inputs.fire("p2.pulse", 1.0)
    assert not inputs.set("p1.pulse", 1.0)  # a trigger is not a value
    del counts
    inputs.release()
