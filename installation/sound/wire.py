"""How parameters reach a patch: addresses as OSC paths, triggers as values, messages as bytes.

Pure (no pyo, no sockets), shared by the show process, which sends, and the patch's
inputs (:mod:`installation.sound.inputs`), which pyo reads natively.

Continuous parameters
    ``drone.brightness`` travels as the OSC path ``/drone/brightness`` with one
    float: the value, held by pyo until the next one.
Triggers
    A trigger has ``voices`` copies that take turns (a new beat never cuts a ringing
    one short). Copy ``k`` of ``p1.pulse`` is the path ``/p1/pulse/k``; its value is
    the strength (0..1) plus 2 every other time that copy fires, so every firing
    changes the value (pyo's ``Change`` fires the copy) and the strength is the
    value with the 2 taken off (:data:`PARITY_OFFSET`).
Timing
    A trigger due later (a predicted beat) goes in an OSC bundle stamped with the
    wall-clock time it is due; liblo, in the sound process, holds it until then and
    hands it to pyo at the buffer that time falls in. liblo releases a stamped bundle
    up to :data:`LIBLO_EARLY_S` before its time, so the stamp is that much later.
"""

from __future__ import annotations

import math
import struct
import time
from typing import Iterable, Mapping

from installation.addresses import ParameterKind

#: Added to a trigger copy's value every other firing (strengths are 0..1).
PARITY_OFFSET = 2.0
#: liblo dispatches a time-stamped bundle when it is due in less than this (seconds).
LIBLO_EARLY_S = 0.01
#: Seconds between the NTP epoch (1900) and the Unix epoch (1970), for OSC time tags.
NTP_EPOCH_OFFSET_S = 2208988800
#: Largest datagram sent at once, bytes (a burst of values is split into bundles of this size).
MAX_DATAGRAM_BYTES = 8192


def osc_path(address: str) -> str:
    """The OSC path of a parameter address (``p1.tone`` -> ``/p1/tone``)."""
    return "/" + address.replace(".", "/")


def voice_path(address: str, voice: int) -> str:
    """The OSC path of copy ``voice`` of a trigger (``p1.pulse``, 2 -> ``/p1/pulse/2``)."""
    return f"{osc_path(address)}/{voice}"


def expand_parameters(parameters: Mapping[str, ParameterKind], wearers: Iterable[str]) -> dict[str, ParameterKind]:
    """A patch's parameter patterns with ``p*`` replaced by each wearer (``p*.pulse`` -> ``p1.pulse``, ...)."""
    out: dict[str, ParameterKind] = {}
    names = list(wearers)
    for pattern, kind in parameters.items():
        if "p*" in pattern:
            for w in names:
                out[pattern.replace("p*", w)] = kind
        else:
            out[pattern] = kind
    return out


class TriggerTurns:
    """Which copy of a trigger fires next, and the value that fires it.

    Parameters
    ----------
    voices : int
        Copies of every trigger, taking turns (the patch's ``TRIGGER_VOICES``).
    """

    def __init__(self, voices: int) -> None:
        self.voices = max(1, int(voices))
        self._turn: dict[str, int] = {}
        self._parity: dict[tuple[str, int], bool] = {}

    def fire(self, address: str, strength: float) -> tuple[int, float]:
        """The copy that rang longest ago and the value that fires it with ``strength`` (clipped to 0..1).

        Returns
        -------
        tuple of (int, float)
            The copy's index and its new value.
        """
        k = self._turn[address] = (self._turn.get(address, -1) + 1) % self.voices
        flip = self._parity[(address, k)] = not self._parity.get((address, k), False)
        s = 0.0 if not math.isfinite(strength) else min(1.0, max(0.0, float(strength)))
        return k, s + (PARITY_OFFSET if flip else 0.0)


def strength_of(value: float) -> float:
    """The strength a trigger copy's value carries (the inverse of :meth:`TriggerTurns.fire`)."""
    return value - PARITY_OFFSET if value >= PARITY_OFFSET - 0.5 else value


def _pad(data: bytes) -> bytes:
    return data + b"\0" * (4 - len(data) % 4)


_HEADS: dict[str, bytes] = {}


def message(path: str, value: float) -> bytes:
    """One OSC message: ``path`` with one 32-bit float."""
    head = _HEADS.get(path)
    if head is None:
        if len(_HEADS) > 100_000:
            _HEADS.clear()
        head = _HEADS[path] = _pad(path.encode("ascii")) + _pad(b",f")
    return head + struct.pack(">f", value)


def timetag(unix_s: float | None) -> bytes:
    """An OSC time tag for a wall-clock time (seconds since 1970), or "immediately" for None."""
    if unix_s is None:
        return struct.pack(">Q", 1)
    ntp = unix_s + NTP_EPOCH_OFFSET_S
    seconds = int(ntp)
    return struct.pack(">II", seconds, int((ntp - seconds) * 2**32) & 0xFFFFFFFF)


def bundle(messages: Iterable[bytes], unix_s: float | None = None) -> bytes:
    """An OSC bundle of ``messages``, due at ``unix_s`` (None: immediately)."""
    parts = [b"#bundle\0", timetag(unix_s)]
    for m in messages:
        parts.append(struct.pack(">i", len(m)))
        parts.append(m)
    return b"".join(parts)


def due_at(delay_s: float) -> float:
    """The time tag, wall-clock seconds, for a trigger due ``delay_s`` from now (see :data:`LIBLO_EARLY_S`)."""
    return time.time() + delay_s + LIBLO_EARLY_S


def datagrams(messages: list[bytes]) -> list[bytes]:
    """``messages`` in as few immediate bundles as fit :data:`MAX_DATAGRAM_BYTES` each."""
    out: list[bytes] = []
    chunk: list[bytes] = []
    size = 16
    for m in messages:
        if chunk and size + 4 + len(m) > MAX_DATAGRAM_BYTES:
            out.append(bundle(chunk))
            chunk, size = [], 16
        chunk.append(m)
        size += 4 + len(m)
    if chunk:
        out.append(bundle(chunk))
    return out
