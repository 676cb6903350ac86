"""DMX frames -> UDP payloads, through the protocol libraries' own packet classes.

* **sACN (E1.31)**: :class:`sacn.messages.data_packet.DataPacket` (the ``sacn`` library) builds
  the packet: CID, source name, priority and the universe, which it refuses outside 1..63999;
  each frame sets the sequence number, the stream-terminated option and the slots in it.
* **Art-Net (ArtDmx)**: :class:`stupidArtnet.StupidArtnet` builds the header (``Art-Net``, op
  code 0x5000, protocol 14, sequence, port-address low byte first, length); we keep its
  sequence field running (1..255; 0 would mean "no sequence").

We do not use either library's own sending thread: one scheduler of ours decides when a
universe goes out (:mod:`installation.lights.pacing`) for both protocols, on the monotonic
clock, and a failed send is logged instead of ending a thread.
"""

from __future__ import annotations

import uuid

import numpy as np
from sacn.messages.data_packet import DataPacket, calculate_multicast_addr
from stupidArtnet import StupidArtnet

SACN_PORT = 5568
ARTNET_PORT = 6454


class SacnUniverse:
    """Packets of one sACN universe from one source (one CID), with its running sequence number.

    The library builds the whole packet once (:meth:`DataPacket.getBytes`, a full universe of 512
    slots); each frame then only changes the three fields E1.31 puts at fixed offsets in such a
    packet, the ones the library's own parser reads back (``DataPacket.make_data_packet``): the
    sequence number (byte 111), the options (112: stream terminated is bit 6) and the slots
    (126..637). Building every packet through the library costs ~0.25 ms; this costs ~2 us.
    """

    SEQUENCE_AT = 111
    OPTIONS_AT = 112
    SLOTS_AT = 126
    TERMINATED = 0x40

    def __init__(self, universe: int, cid: bytes, source_name: str, priority: int) -> None:
        self.packet = DataPacket(cid=tuple(cid), sourceName=source_name, universe=universe, priority=priority,
                                 dmxData=(0,) * 512)
        self.template = bytes(self.packet.getBytes())
        self.universe = universe
        self.sequence = 0

    @property
    def multicast_group(self) -> str:
        """E1.31's multicast address of this universe: 239.255.<high byte>.<low byte>."""
        return calculate_multicast_addr(self.universe)

    def encode(self, frame: np.ndarray, terminated: bool = False) -> bytes:
        """The next packet carrying ``frame`` (512 bytes); the sequence number moves on by one."""
        data = bytearray(self.template)
        data[self.SEQUENCE_AT] = self.sequence
        data[self.OPTIONS_AT] = self.TERMINATED if terminated else 0
        data[self.SLOTS_AT:self.SLOTS_AT + 512] = frame.tobytes()
        self.sequence = (self.sequence + 1) & 0xFF
        return bytes(data)


class ArtnetUniverse:
    """ArtDmx packets of one Art-Net port-address (0..32767), with a running sequence number (1..255)."""

    def __init__(self, universe: int) -> None:
        if not 0 <= universe <= 32767:
            raise ValueError(f"Art-Net port-addresses run from 0 to 32767, got {universe}")
        self.packet = StupidArtnet("127.0.0.1", universe, 512, even_packet_size=True)
        self.packet.close()  # its own socket is not used: ours sends
        self.universe = universe
        self._sequence = 0

    def encode(self, frame: np.ndarray, terminated: bool = False) -> bytes:
        """The next ArtDmx packet carrying ``frame`` (Art-Net has no termination: ``terminated`` is ignored)."""
        self._sequence = self._sequence % 255 + 1
        a = self.packet
        a.sequence = self._sequence
        a.make_artdmx_header()
        return bytes(a.packet_header) + frame.tobytes()


def new_cid() -> bytes:
    """A fresh component identifier (E1.31's CID, a UUID) for one show's sACN source."""
    return uuid.uuid4().bytes
