"""The show's ``[[outputs]]``: features, events and parameters fanned out to OSC peers, LSL outlets
and MIDI ports.

The session calls :meth:`Outputs.update` at its feature rate (every 10 ms) with the
features and the parameter values, and :meth:`Outputs.event` for every event and
trigger. Each output sends only what its ``send`` patterns select, each address at
most ``rate_hz`` times a second (events at once); an address is matched against the
patterns once and remembered, so a crowd costs little. Nothing here raises into the
show: a peer that is not there is logged once, an output that cannot be made is
logged and left out.
"""

from __future__ import annotations

import logging
import math
from typing import Mapping, Sequence

from installation.addresses import WEARER_RE, resolve_pair, slot_number, wearer_pairs
from installation.config import (ArtnetOutputConfig, LslOutputConfig, MidiOutputConfig, OscOutputConfig, OutputConfig,
                                  SacnOutputConfig, Show)
from installation.outputs.encoders import CARRIED, make_format
from installation.outputs.lsl import LslOutlet
from installation.outputs.midi import MidiLink, MidiState
from installation.outputs.midi_map import MidiMap
from installation.outputs.midi_ports import MidiPort
from installation.outputs.osc import OscPeer
from installation.outputs.select import Selection, catalogue, concrete, pattern_regex

log = logging.getLogger(__name__)


def describe(cfg: OutputConfig) -> str:
    """One line saying where an output goes and what it sends (for ``ecosymphony check``)."""
    if isinstance(cfg, (SacnOutputConfig, ArtnetOutputConfig)):
        to = f"{cfg.host}:{cfg.port}" if cfg.host else f"multicast 239.255.x.y:{cfg.port}"
        first = "from 1" if cfg.kind == "sacn" else "from 0"
        return (f"{cfg.kind} {to} at {cfg.rate_hz:g} Hz: universes {', '.join(map(str, cfg.universes))} "
                f"(numbered {first})")
    if isinstance(cfg, LslOutputConfig):
        return f"lsl stream {cfg.name!r} (type {cfg.type}) at {cfg.rate_hz:g} Hz: {', '.join(cfg.send)}"
    if isinstance(cfg, MidiOutputConfig):
        return describe_midi(cfg)
    send = cfg.send or [f"p*.{k}" for k in CARRIED[cfg.format]]
    fmt = f" {cfg.format}" if cfg.format != "plain" else (f" under {cfg.prefix}" if cfg.prefix else "")
    devices = f" (devices: {', '.join(f'{i}={w}' for i, w in enumerate(cfg.wearers))})" if cfg.wearers else ""
    return f"osc {cfg.host}:{cfg.port}{fmt} at {cfg.rate_hz:g} Hz: {', '.join(send)}{devices}"


def describe_midi(cfg: MidiOutputConfig) -> str:
    """One line for a MIDI output: where, and what it sends."""
    where = f"virtual port {midi_name(cfg)!r}" if cfg.virtual else f"port {cfg.port!r}"
    sends = [f"notes on {n.source}" for n in cfg.notes] + [f"cc {c.cc} from {c.source}" for c in cfg.cc]
    if cfg.clock:
        sends.append(f"clock from {cfg.clock_from}")
    return f"midi {where} ({cfg.api}): {', '.join(sends)}"


def midi_name(cfg: MidiOutputConfig) -> str:
    """Our MIDI client's name (and a virtual port's): ``name``, else ``ecosymphony``."""
    return cfg.name or "ecosymphony"


def parameter_addresses(targets: Sequence[str], wearers: list[str]) -> list[str]:
    """The parameter addresses that continuous mapping targets stand for with these wearers."""
    slots = [w for w in wearers if WEARER_RE.fullmatch(w)]
    out: dict[str, None] = {}
    for target in targets:
        if target.count("p*") == 2:
            out |= dict.fromkeys(resolve_pair(target, a, b) for a, b in wearer_pairs(slots))
        elif "p*" in target:
            out |= dict.fromkeys(target.replace("p*", w) for w in slots)
        else:
            out[target] = None
    return list(out)


class _OscOutput:
    """One ``kind = "osc"`` entry: a peer, a selection, a format and a schedule."""

    kind = "osc"

    def __init__(self, cfg: OscOutputConfig, index: int, wearers: list[str]) -> None:
        fmt = f" ({cfg.format})" if cfg.format != "plain" else ""
        self.label = f"outputs[{index}] " + (cfg.name or f"osc {cfg.host}:{cfg.port}") + fmt
        self.peer = OscPeer(cfg.host, cfg.port, self.label)
        self.selection = Selection(cfg.send or [f"p*.{k}" for k in CARRIED[cfg.format]])
        self.format = make_format(cfg.format, list(cfg.wearers or wearers), cfg.prefix)
        self.period_s = 1.0 / cfg.rate_hz
        self._due_s = -math.inf
        self._now_s = 0.0
        self._feature_keys: tuple[int, list[str]] = (-1, [])

    def update(self, now_s: float, features: Mapping[str, float], params: Mapping[str, float]) -> None:
        self._now_s = now_s
        if now_s < self._due_s - 1e-6:  # (a microsecond of leeway for sums of floats)
            return
        # The next turn one period on (on average exactly rate_hz), or from now after a gap.
        self._due_s = now_s + self.period_s if now_s - self._due_s > self.period_s else self._due_s + self.period_s
        count, keys = self._feature_keys
        if count != len(features):  # a wearer came: the feature addresses changed
            keys = [k for k in features if self.selection(k)]
            self._feature_keys = (len(features), keys)
        send, feature = self.peer.send, self.format.feature
        for address in keys:
            value = features[address]
            if value == value:  # NaN (not known yet) is never sent
                for path, args in feature(address, value):
                    send(path, args, now_s)
        selected = self.selection
        for address, value in params.items():
            if value == value and selected(address):
                for path, args in feature(address, value):
                    send(path, args, now_s)

    def event(self, address: str, value: float, time_s: float, onset_s: float) -> None:
        if self.selection(address):
            self.peer.send_all(self.format.event(address, value, time_s, onset_s), self._now_s)

    def close(self) -> None:
        self.peer.close()


class _LslOutput:
    """One ``kind = "lsl"`` entry."""

    kind = "lsl"

    def __init__(self, cfg: LslOutputConfig, index: int, wearers: list[str], parameters: list[str]) -> None:
        self.label = f"outputs[{index}] lsl {cfg.name}"
        slots = sorted((w for w in wearers if WEARER_RE.fullmatch(w)), key=slot_number)
        candidates = [a for t, k in catalogue().items() if k == "feature" for a in concrete(t, slots)] + parameters
        channels: dict[str, None] = {}
        for pattern in cfg.send:  # in the order the patterns name them
            regex = pattern_regex(pattern)
            channels |= dict.fromkeys(a for a in candidates if regex.fullmatch(a))
        self.outlet = LslOutlet(cfg.name, cfg.type, list(channels), cfg.rate_hz)
        self.failed = 0

    def update(self, now_s: float, features: Mapping[str, float], params: Mapping[str, float]) -> None:
        try:
            self.outlet.update(now_s, features, params)
        except Exception as exc:  # liblsl trouble must not stop the show
            self.failed += 1
            if self.failed == 1:
                log.error("%s: could not push a sample: %s", self.label, exc)

    def event(self, address: str, value: float, time_s: float, onset_s: float) -> None:
        return None  # a steady-rate stream of features: events are not its business

    def close(self) -> None:
        self.outlet.close()


class _MidiOutput:
    """One ``kind = "midi"`` entry: the pure mapping here, the port in its own thread."""

    kind = "midi"
    #: Most tempo updates a second handed to the thread (the tempo is smoothed over seconds).
    TEMPO_RATE_HZ = 10.0

    def __init__(self, cfg: MidiOutputConfig, index: int) -> None:
        where = f"virtual {midi_name(cfg)}" if cfg.virtual else str(cfg.port)
        self.label = f"outputs[{index}] midi {where}" if cfg.name is None or cfg.virtual \
            else f"outputs[{index}] {cfg.name} (midi {where})"
        self.map = MidiMap(cfg)
        self.link = MidiLink(MidiPort(cfg.api, None if cfg.virtual else cfg.port, midi_name(cfg)), self.label)
        self._features: Mapping[str, float] = {}
        self._tempo_due_s = -math.inf

    def update(self, now_s: float, features: Mapping[str, float], params: Mapping[str, float]) -> None:
        self._features = features
        for message in self.map.controls(now_s, features):
            self.link.send(message)
        tempo = self.map.tempo(now_s, features)
        if tempo is not None and now_s >= self._tempo_due_s:
            self._tempo_due_s = now_s + 1.0 / self.TEMPO_RATE_HZ
            self.link.tempo(tempo)

    def event(self, address: str, value: float, time_s: float, onset_s: float) -> None:
        for note in self.map.notes(address, value, self._features):
            self.link.note(note)

    def state(self) -> MidiState:
        return self.link.state()

    def close(self) -> None:
        self.link.close()


class Outputs:
    """Every ``[[outputs]]`` entry of a show.

    Parameters
    ----------
    configs : sequence of OutputConfig
        The show's entries (validated).
    wearers : list of str
        Wearer slots of the session: EmotiBit device order by default, LSL channels.
    parameters : list of str, optional
        Parameter addresses the mappings drive (for LSL channels).
    """

    def __init__(self, configs: Sequence[OutputConfig], wearers: list[str], parameters: list[str] | None = None) -> None:
        ordered = sorted((w for w in wearers if WEARER_RE.fullmatch(w)), key=slot_number)
        self._outputs: list[_OscOutput | _LslOutput | _MidiOutput] = []
        for i, cfg in enumerate(configs):
            try:
                if isinstance(cfg, OscOutputConfig):
                    self._outputs.append(_OscOutput(cfg, i, ordered))
                elif isinstance(cfg, MidiOutputConfig):
                    self._outputs.append(_MidiOutput(cfg, i))
                elif isinstance(cfg, LslOutputConfig):  # (sacn and artnet: the lights' own sink)
                    self._outputs.append(_LslOutput(cfg, i, ordered, list(parameters or [])))
            except Exception as exc:  # an output that cannot be made is left out; the show goes on
                log.error("outputs[%d] (%s): left out: %s", i, cfg.kind, exc)

    @classmethod
    def from_show(cls, show: Show, targets: Sequence[str], wearers: list[str]) -> "Outputs":
        """The show's outputs; ``targets``: the continuous mappings' targets (``visual.p*.hue``)."""
        if not any(isinstance(o, (OscOutputConfig, LslOutputConfig, MidiOutputConfig)) for o in show.outputs):
            return cls([], wearers)
        scene_sets = [a for scene in show.scenes for a in scene.set]
        return cls(show.outputs, wearers, parameter_addresses([*targets, *scene_sets], wearers))

    def __len__(self) -> int:
        return len(self._outputs)

    def midi_states(self) -> list[tuple[str, MidiState]]:
        """Each MIDI output's label and state (for the console)."""
        return [(o.label, o.state()) for o in self._outputs if isinstance(o, _MidiOutput)]

    def update(self, now_s: float, features: Mapping[str, float], params: Mapping[str, float]) -> None:
        """Send what is due; ``now_s``: the session's clock, seconds."""
        for output in self._outputs:
            output.update(now_s, features, params)

    def event(self, address: str, value: float, time_s: float, onset_s: float = math.nan) -> None:
        """An event (``p1.heart.beat``) or a trigger (``sound.p1.pulse``), sent at once to whoever asked.

        ``time_s``: when it happened (seconds, the source's clock for core events);
        ``onset_s``: a skin-conductance response's onset (same clock), else NaN.
        """
        for output in self._outputs:
            output.event(address, value, time_s, onset_s)

    def close(self) -> None:
        for output in self._outputs:
            try:
                output.close()
            except Exception as exc:  # shutting down: say it, carry on
                log.warning("%s: closing failed: %s", output.label, exc)
        self._outputs.clear()
