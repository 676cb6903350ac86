"""Packets as the protocol libraries' own parsers read them: sACN through ``sacn``'s parser (and the
same bytes as its own packet builder), Art-Net's header field by field."""

from __future__ import annotations

import numpy as np
import pytest
from sacn.messages.data_packet import DataPacket

from installation.lights.wire import ArtnetUniverse, SacnUniverse, new_cid


@pytest.mark.parametrize("universe, priority, terminated", [(1, 100, False), (63999, 0, True), (300, 200, False)])
def test_sacn_packets_are_the_librarys_own(universe: int, priority: int, terminated: bool) -> None:
    cid = new_cid()
    u = SacnUniverse(universe, cid, "Eco-Symphony", priority)
    rng = np.random.default_rng(universe)
    for sequence in range(300):  # through the wrap at 255
        frame = rng.integers(0, 256, 512, dtype=np.uint8)
        data = u.encode(frame, terminated)
        parsed = DataPacket.make_data_packet(tuple(data))
        assert (parsed.universe, parsed.priority, parsed.sequence, parsed.option_StreamTerminated) == \
            (universe, priority, sequence % 256, terminated)
        assert parsed.dmxData == tuple(frame.tolist()) and parsed.cid == tuple(cid)
    reference = DataPacket(cid=tuple(cid), sourceName="Eco-Symphony", universe=universe, priority=priority,
                           sequence=300 % 256, streamTerminated=terminated, dmxData=tuple(frame.tolist()))
    assert u.encode(frame, terminated) == bytes(reference.getBytes())  # byte for byte what the library builds


@pytest.mark.parametrize("universe", [0, 1, 255, 256, 32767])
def test_artnet_packets(universe: int) -> None:
    a = ArtnetUniverse(universe)
    frame = np.arange(512, dtype=np.uint16).astype(np.uint8)
    sequences = []
    for _ in range(300):
        data = a.encode(frame)
        assert data[:8] == b"Art-Net\x00" and data[8:10] == b"\x00\x50" and data[10:12] == b"\x00\x0e"
        assert int.from_bytes(data[14:16], "little") == universe and int.from_bytes(data[16:18], "big") == 512
        assert data[18:] == frame.tobytes()
        sequences.append(data[12])
    assert sequences[:3] == [1, 2, 3] and 0 not in sequences and sequences[255] == 1  # 1..255, never 0


def test_artnet_refuses_a_port_address_past_32767() -> None:
    with pytest.raises(ValueError, match="0 to 32767"):
        ArtnetUniverse(32768)
