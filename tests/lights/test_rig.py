"""The light rig inside a pipeline, heard by the ``sacn`` library's parser on a UDP socket: mapped
values on the wire, the operator's blackout darkening the lights, the house look while the pipeline
stalls, and the house look then the terminated stream when the pipeline closes."""

from __future__ import annotations

import time
from typing import Callable

from installation.clock import FakeClock
from installation.config import parse_show
from installation.operator_commands import Blackout
from installation.pipeline.pipeline import Pipeline
from installation.pipeline.sinks import LightSink
from installation.runtime.launch import prepare_show
from tests.helpers import DEFAULT_SHOW
from tests.lights.test_receivers import RawReceiver


def _until(check: Callable[[], bool], timeout_s: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:  # bounded in time
        if check():
            return True
        time.sleep(0.01)
    return False


def test_blackout_stall_and_stop_as_a_receiver_sees_them() -> None:
    raw = RawReceiver()
    text = DEFAULT_SHOW.read_text() + f'''
[[outputs]]
kind = "sacn"
host = "127.0.0.1"
port = {raw.port}
universes = [3]
priority = 150
source_name = "rig test"

[lights]
house = 0.2
house_color = "#ffffff"

[[fixtures]]
name = "wash"
universe = 3
address = 1
layout = "rgb+dimmer"
hue = 0.0
'''
    prepared = prepare_show(parse_show(text, "rig.toml", DEFAULT_SHOW))
    pipeline = Pipeline(prepared.show, prepared.mapper, ["p1"], FakeClock())
    sink = pipeline.sinks["light"]
    assert isinstance(sink, LightSink)
    last = lambda: raw.packets[-1][1].dmxData[:4] if raw.packets else None  # noqa: E731

    def tick() -> None:
        pipeline.flush(0.0)

    try:
        sink.set("wash.intensity", 1.0, 0.0)
        tick()
        assert _until(lambda: (tick(), last() == (255, 0, 0, 255))[1])
        pipeline.command(Blackout(True))
        assert _until(lambda: (tick(), last() == (0, 0, 0, 0))[1])
        pipeline.command(Blackout(False))
        assert _until(lambda: (tick(), last() == (255, 0, 0, 255))[1])
        stalled_s = time.monotonic()  # no tick from now on: the house look within a little over a second
        assert _until(lambda: last() == (255, 255, 255, 51), timeout_s=3.0)
        assert 0.9 < time.monotonic() - stalled_s < 2.5 and sink.rig.house_up  # (the console says so)
        assert _until(lambda: (tick(), last() == (255, 0, 0, 255))[1])  # ticks again: the show's look again
        assert not sink.rig.house_up
    finally:
        pipeline.close()
        time.sleep(0.2)
        raw.close()
    packets = [p for _, p in raw.packets]
    assert all(p.universe == 3 and p.priority == 150 and p.sourceName == "rig test" for p in packets)
    assert [p.option_StreamTerminated for p in packets[-6:]] == [False] * 3 + [True] * 3
    assert all(p.dmxData[:4] == (255, 255, 255, 51) for p in packets[-6:])  # the house look, then the end


def test_a_sender_that_dies_is_started_again() -> None:
    import os
    import signal

    from installation.lights.rig import LightRig

    raw = RawReceiver()
    show = parse_show(DEFAULT_SHOW.read_text() + f'''
[[outputs]]
kind = "sacn"
host = "127.0.0.1"
port = {raw.port}
universes = [1]

[[fixtures]]
name = "wash"
universe = 1
layout = "dimmer"
''', "rig.toml", DEFAULT_SHOW)
    rig = LightRig(show, ["p1"])
    rig.set("wash.intensity", 0.5)
    rig.start()
    try:
        assert _until(lambda: (rig.fed(), bool(raw.packets) and raw.packets[-1][1].dmxData[0] == 128)[1], 10.0)
        first = rig._proc
        assert first is not None
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=5)
        heard = len(raw.packets)
        rig.set("wash.intensity", 1.0)
        assert _until(lambda: (rig.fed(), rig._proc is not first and len(raw.packets) > heard
                               and raw.packets[-1][1].dmxData[0] == 255)[1], 10.0)
    finally:
        rig.close()
        raw.close()
