"""A patch's inputs: every parameter as a pyo stream, fed natively or from Python.

A patch never receives a Python call while it plays. It asks its inputs, once, in
:meth:`~installation.sound.patch.Patch.build`, for a stream per parameter
(:meth:`PatchInputs.value`) and a firing stream and a strength per copy of each
trigger (:meth:`PatchInputs.trigger`), and wires them into its graph.

Two feeds, the same streams:

:class:`OscInputs`
    pyo's ``OscReceive`` on a UDP port (liblo, C, read at the start of each buffer):
    the sound process, fed by the show process over loopback. No Python runs
    between the socket and the sample.
:class:`SigInputs`
    ``pyo.Sig`` objects set from Python: the offline render and the deterministic
    tests, in one process.

How values are laid out on the wire is :mod:`installation.sound.wire`.
"""

from __future__ import annotations

import os
from typing import Any

from installation.sound.wire import PARITY_OFFSET, TriggerTurns, osc_path, voice_path

os.environ.setdefault("PYO_GUI_WX", "0")
import pyo  # noqa: E402  (after the environment that silences its GUI notice)


class TriggerVoice:
    """One copy of a trigger.

    Attributes
    ----------
    fire : pyo.PyoObject
        A trigger stream: one sample of 1 at the buffer the copy fires in.
    strength : pyo.PyoObject
        The strength of its newest firing, 0..1, held until the next.
    toggle : pyo.PyoObject
        0 or 1, flipping each time the copy fires (made when first asked for: a
        patch that does not read it does not pay for it).
    """

    __slots__ = ("fire", "strength", "_raw", "_toggle", "_nodes")

    def __init__(self, raw: Any, nodes: list[Any]) -> None:
        self._raw = raw
        self._nodes = nodes
        self._toggle: Any = None
        self.fire = pyo.Change(raw)
        # The value less the parity offset, in one object: strengths are 0..1 < PARITY_OFFSET.
        self.strength = pyo.Wrap(raw, 0.0, PARITY_OFFSET)
        nodes += [raw, self.fire, self.strength]

    @property
    def toggle(self) -> Any:
        if self._toggle is None:
            self._toggle = pyo.Compare(self._raw, PARITY_OFFSET - 0.5, ">=")
            self._nodes.append(self._toggle)
        return self._toggle


class PatchInputs:
    """The streams a patch reads (base of :class:`OscInputs` and :class:`SigInputs`).

    Parameters
    ----------
    trigger_voices : int
        Copies of each trigger (the patch's ``TRIGGER_VOICES``).
    """

    def __init__(self, trigger_voices: int = 1) -> None:
        self.trigger_voices = max(1, int(trigger_voices))
        self.defaults: dict[str, float] = {}
        self._voices: dict[str, list[TriggerVoice]] = {}
        self._nodes: list[Any] = []

    def _stream(self, path: str, default: float) -> Any:
        raise NotImplementedError

    def value(self, address: str, default: float = 0.0) -> Any:
        """The stream of a continuous parameter (``"drone.level"``, ``"p1.tone"``), at ``default``
        until a value arrives; values step at buffer boundaries (the patch smooths them)."""
        if address not in self.defaults:
            self.defaults[address] = float(default)
        return self._stream(osc_path(address), self.defaults[address])

    def trigger(self, address: str) -> list[TriggerVoice]:
        """The copies of a trigger parameter (``"p1.pulse"``), ``trigger_voices`` of them, taking turns."""
        known = self._voices.get(address)
        if known is not None:  # a rebuilt patch reads the same copies
            return known
        voices = self._voices[address] = []
        for k in range(self.trigger_voices):
            voices.append(TriggerVoice(self._stream(voice_path(address, k), 0.0), self._nodes))
        return voices

    @property
    def triggers(self) -> list[str]:
        """The trigger addresses the patch reads."""
        return list(self._voices)

    def release(self) -> None:
        """Drop every pyo object (before the server goes)."""
        self._nodes.clear()
        self._voices.clear()


class SigInputs(PatchInputs):
    """Inputs set from Python (:meth:`set`, :meth:`fire`): one process, deterministic."""

    def __init__(self, trigger_voices: int = 1) -> None:
        super().__init__(trigger_voices)
        self._sigs: dict[str, Any] = {}
        self.turns = TriggerTurns(self.trigger_voices)

    def _stream(self, path: str, default: float) -> Any:
        sig = self._sigs.get(path)
        if sig is None:
            sig = self._sigs[path] = pyo.Sig(default)
        return sig

    def set(self, address: str, value: float) -> bool:
        """Set a continuous parameter; False when the patch has no such input."""
        sig = self._sigs.get(osc_path(address)) if address in self.defaults else None
        if sig is None:
            return False
        sig.setValue(float(value))
        return True

    def fire(self, address: str, strength: float) -> bool:
        """Fire the next copy of a trigger; False when the patch has no such trigger."""
        if address not in self._voices:
            return False
        k, value = self.turns.fire(address, strength)
        self._sigs[voice_path(address, k)].setValue(value)
        return True

    def release(self) -> None:
        super().release()
        self._sigs.clear()


class OscInputs(PatchInputs):
    """Inputs read by pyo from OSC messages on a UDP port of the loopback interface.

    Parameters
    ----------
    port : int
        UDP port (bound by liblo when the first input is made).
    trigger_voices : int
        Copies of each trigger.
    """

    def __init__(self, port: int, trigger_voices: int = 1) -> None:
        super().__init__(trigger_voices)
        self.port = port
        self._receive: Any = None
        self._streams: dict[str, Any] = {}

    def _stream(self, path: str, default: float) -> Any:
        stream = self._streams.get(path)
        if stream is not None:
            return stream
        if self._receive is None:
            self._receive = pyo.OscReceive(self.port, path)
            self._receive.setInterpolation(False)
        else:
            self._receive.addAddress(path)
            self._receive.setInterpolation(False)  # (each address its own stream: set again for the new one)
        self._receive.setValue(path, default)
        stream = self._streams[path] = pyo.Sig(self._receive[path])
        return stream

    def release(self) -> None:
        super().release()
        self._streams.clear()
        self._receive = None
