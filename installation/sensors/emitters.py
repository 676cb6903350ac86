"""Simulated rigs on real transports: emitters that speak the wire formats real rigs
use (native serial, EmotiBit and OpenBCI OSC, PulseSensor, LSL), and a rehearsal that
sends a scripted audience through one and reads it back with the real source.

``ecosymphony simulate`` runs an emitter; rehearsals with ``--via`` and the tests use
them to drive the real serial, OSC and LSL sources with no hardware.
"""

from __future__ import annotations

import os
import socket
import threading
from typing import Literal

import numpy as np
from pythonosc import osc_message_builder

from installation.config import ConfigError, parse_source
from installation.sensors.base import SampleBlock, Source, SourceBase
from installation.sensors.parsers import native_encode

from installation.sensors.scripted import ScriptedAudience

WireFormat = Literal["native", "emotibit", "pulsesensor", "openbci"]


#: What a simulated EmotiBit sends, by signal: its OSC type tags.
EMOTIBIT_SENDS = {"ppg": "PPG:IR", "eda": "EDA", "acc_x": "ACC:X", "acc_y": "ACC:Y", "acc_z": "ACC:Z", "battery": "B%"}


def _slot_index(wearer: str) -> int:
    return int(wearer[1:]) - 1


class OscEmitter:
    """Sends blocks as OSC over UDP in a rig's address scheme."""

    def __init__(self, host: str, port: int, fmt: WireFormat) -> None:
        if fmt == "pulsesensor":
            raise ConfigError("the pulsesensor format is serial only; use --serial-pty")
        self.target = (host, port)
        self.fmt = fmt
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sent = 0

    def _send(self, address: str, values: list[float]) -> None:
        m = osc_message_builder.OscMessageBuilder(address)
        for v in values:
            m.add_arg(float(v))
        self._socket.sendto(m.build().dgram, self.target)
        self.sent += 1

    def send(self, blocks: list[SampleBlock], beats: dict[str, list[float]]) -> None:
        for b in blocks:
            if self.fmt == "native":
                self._send(f"/eco/{b.wearer}/{b.signal}", b.values.tolist())
            elif self.fmt == "emotibit" and b.signal in EMOTIBIT_SENDS:  # EmotiBit has no ECG
                tag = EMOTIBIT_SENDS[b.signal]
                self._send(f"/EmotiBit/{_slot_index(b.wearer)}/{tag}", b.values.tolist())
            elif self.fmt == "openbci" and b.signal == "ecg":
                self._send(f"/openbci/time-series-raw/ch{_slot_index(b.wearer)}", b.values.tolist())
        if self.fmt == "openbci":  # a pulse board reports beats, not the wave
            for wearer, times in beats.items():
                if _slot_index(wearer) == 0:
                    for previous, t in zip(times, times[1:]):
                        self._send("/openbci/pulse/ibi", [round((t - previous) * 1000.0)])
                        self._send("/openbci/pulse/bpm", [round(60.0 / (t - previous))])

    def close(self) -> None:
        self._socket.close()


class SerialPtyEmitter:
    """A pseudo-terminal that speaks a serial rig's lines; its path is the 'port'."""

    def __init__(self, fmt: WireFormat) -> None:
        if fmt not in ("native", "pulsesensor"):
            raise ConfigError(f"the {fmt} format is not a serial format; use native or pulsesensor")
        self.fmt = fmt
        self.master, slave = os.openpty()
        os.set_blocking(self.master, False)  # nobody reading must never stall the simulation
        self.path = os.ttyname(slave)
        self._slave = slave  # kept open so the port exists until we close
        self._seq = 0
        self.sent = 0

    def send(self, blocks: list[SampleBlock], beats: dict[str, list[float]]) -> None:
        lines: list[str] = []
        eda_now = {b.wearer: float(b.values[-1]) for b in blocks if b.signal == "eda"}
        ppg = [b for b in blocks if b.signal in ("ppg", "ecg")]
        if self.fmt == "native" and ppg:
            for i in range(ppg[0].values.size):
                fields: dict[str, float] = {}
                for b in ppg:
                    n = _slot_index(b.wearer) + 1
                    value = float(b.values[min(i, b.values.size - 1)])
                    # ECG in millivolts goes out as microvolt counts, as a board's ADC would.
                    fields[f"{b.signal}{n}" if n > 1 else b.signal] = round(value * 1000.0) if b.signal == "ecg" else round(value)
                    if b.wearer in eda_now:
                        fields[f"eda{n}" if n > 1 else "eda"] = round(eda_now[b.wearer], 4)
                lines.append(native_encode(self._seq, int(ppg[0].times_s[min(i, ppg[0].values.size - 1)] * 1000), fields))
                self._seq += 1
        elif self.fmt == "pulsesensor":
            ppg = [b for b in ppg if b.signal == "ppg"]
            several = len(ppg) > 1
            for b in ppg:
                k = _slot_index(b.wearer)
                letter = chr(ord("a") + k) if several else "S"
                lines += [f"{letter}{int(round(v))}" for v in b.values.tolist()]
            for wearer, times in beats.items():
                k = _slot_index(wearer)
                for previous, t in zip(times, times[1:]):
                    ibi_ms = int(round((t - previous) * 1000))
                    bpm = int(round(60000 / ibi_ms))
                    lines += [f"{chr(ord('A') + k)}{bpm}", f"{chr(ord('M') + k)}{ibi_ms}"] if several else [f"B{bpm}", f"Q{ibi_ms}"]
        if lines:
            data = ("\r\n".join(lines) + "\r\n").encode("ascii")
            try:
                os.write(self.master, data)
                self.sent += len(lines)
            except BlockingIOError:
                pass  # nobody reads: drop, as a real UART would

    def close(self) -> None:
        os.close(self.master)
        os.close(self._slave)


class LslEmitter:
    """LSL outlets ``eco-sim-ppg`` (type PPG) and ``eco-sim-eda`` (type EDA), one channel per wearer."""

    def __init__(self, wearers: list[str], ppg_rate_hz: float, eda_rate_hz: float) -> None:
        import pylsl

        self.wearers = wearers
        self.ppg = pylsl.StreamOutlet(pylsl.StreamInfo("eco-sim-ppg", "PPG", len(wearers), ppg_rate_hz, "float32", "eco-sim-ppg"))
        self.ecg = pylsl.StreamOutlet(pylsl.StreamInfo("eco-sim-ecg", "ECG", len(wearers), ppg_rate_hz, "float32", "eco-sim-ecg"))
        self.eda = pylsl.StreamOutlet(pylsl.StreamInfo("eco-sim-eda", "EDA", len(wearers), eda_rate_hz, "float32", "eco-sim-eda"))
        self.sent = 0

    def send(self, blocks: list[SampleBlock], beats: dict[str, list[float]]) -> None:
        for signal, outlet in (("ppg", self.ppg), ("ecg", self.ecg), ("eda", self.eda)):
            chosen = {b.wearer: b.values for b in blocks if b.signal == signal}
            if len(chosen) != len(self.wearers):
                continue  # a wearer is missing (a fault): LSL chunks need every channel
            chunk = np.stack([chosen[w] for w in self.wearers], axis=1)
            outlet.push_chunk(chunk.tolist())
            self.sent += chunk.shape[0]

    def close(self) -> None:
        del self.ppg, self.ecg, self.eda


Emitter = OscEmitter | SerialPtyEmitter | LslEmitter


class Simulation:
    """Paces a scripted audience in real time and sends it through an emitter."""

    def __init__(self, scripted: ScriptedAudience, emitter: Emitter) -> None:
        self.scripted = scripted
        self.emitter = emitter
        self._beats_sent: dict[str, float] = {}

    def step(self, timeout_s: float = 0.05) -> int:
        """Send what is due; return how many blocks went out."""
        blocks = self.scripted.read(timeout_s)
        if not blocks:
            return 0
        now_s = self.scripted.audience.elapsed_s()
        beats: dict[str, list[float]] = {}
        for w in self.scripted.audience.wearers:
            slot = w.profile.wearer
            if self.scripted.faults_at(slot, now_s):
                continue  # a lifted or silent sensor reports no beats
            truth = w.true_beats_s(now_s)
            last = self._beats_sent.get(slot, -1.0)
            fresh = truth[truth > last]
            if fresh.size:
                before = truth[truth <= last]
                beats[slot] = ([float(before[-1])] if before.size else []) + fresh.tolist()
                self._beats_sent[slot] = float(fresh[-1])
        self.emitter.send(blocks, beats)
        return len(blocks)


class TransportRehearsal(SourceBase):
    """A rehearsal through a real transport: a simulation thread sends the scripted
    audience over OSC, a serial pty or LSL, and the matching real source reads it.

    Parameters
    ----------
    scripted : ScriptedAudience
        Who is simulated.
    via : {"osc", "serial", "lsl"}
        The transport.
    fmt : WireFormat
        The wire format (``native`` unless a rig's format is wanted).
    """

    def __init__(self, scripted: ScriptedAudience, via: Literal["osc", "serial", "lsl"], fmt: WireFormat = "native") -> None:
        self.scripted = scripted
        self.via = via
        self.fmt = fmt
        self.name = f"simulated audience over {via} ({fmt})"
        self.source: Source | None = None
        self._emitter: Emitter | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def open(self) -> None:
        from installation.sensors.factory import source_from_config
        from installation.sensors.osc_source import OscSource

        wearers = [w.profile.wearer for w in self.scripted.audience.wearers]
        if self.via == "osc":
            osc = source_from_config(parse_source({"kind": "osc", "port": 0, "wearers": wearers}))
            osc.open()
            assert isinstance(osc, OscSource)
            self.source, self._emitter = osc, OscEmitter("127.0.0.1", osc.port, self.fmt)
        elif self.via == "serial":
            if self.fmt == "pulsesensor" and self.scripted.audience.heart == "ecg":
                raise ConfigError("PulseSensor boards send a pulse wave, not ECG: use --format native")
            emitter = SerialPtyEmitter(self.fmt)
            line_format = "native" if self.fmt == "native" else "pulsesensor-visualizer"
            serial_source = source_from_config(parse_source({"kind": "serial", "port": emitter.path, "baud": 115200,
                                                             "format": line_format, "wearers": wearers}))
            serial_source.open()
            self.source, self._emitter = serial_source, emitter
        else:
            a = self.scripted.audience
            self._emitter = LslEmitter(wearers, a.ppg_rate_hz, a.eda_rate_hz)
            heart = "eco-sim-ecg" if a.heart == "ecg" else "eco-sim-ppg"
            self.source = _LslPair([source_from_config(parse_source({"kind": "lsl", "stream_name": name, "wearers": wearers}))
                                    for name in (heart, "eco-sim-eda")])
            self.source.open()
        simulation = Simulation(self.scripted, self._emitter)
        self.scripted.open()
        self._thread = threading.Thread(target=self._run, args=(simulation,), name="simulated-sensors", daemon=True)
        self._thread.start()

    def _run(self, simulation: "Simulation") -> None:
        while not self._stop.is_set():
            simulation.step(0.02)

    def read(self, timeout_s: float) -> list[SampleBlock]:
        assert self.source is not None, "read() before open()"
        return self.source.read(timeout_s)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
        if self.source is not None:
            self.source.close()
        if self._emitter is not None:
            self._emitter.close()


class _LslPair(SourceBase):
    """Two LSL inlets read as one source."""

    name = "lsl eco-sim"

    def __init__(self, sources: list[Source]) -> None:
        self.sources = sources

    def open(self) -> None:
        for s in self.sources:
            s.open()

    def read(self, timeout_s: float) -> list[SampleBlock]:
        out: list[SampleBlock] = []
        for s in self.sources:
            out += s.read(timeout_s / len(self.sources))
        return out

    def close(self) -> None:
        for s in self.sources:
            s.close()
