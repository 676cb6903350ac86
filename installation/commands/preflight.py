"""``ecosymphony preflight``: a warm-up check before doors open, with a go / no-go verdict.

It confirms, for one show file, that

* the show file is valid (its patch loads and its mappings compile);
* each configured source is sending, for every wearer slot it feeds, the signals
  the show reads, with good quality (each source is opened and listened to for a
  few seconds, through a :class:`SignalCore` of its own);
* the audio output is there (the configured backend: the device, by name or
  index; a running JACK server; or no device, when the sound would go to a WAV file);
* the display is there (only when the visuals are on);
* each OSC output's host resolves and is reachable (on this machine: whether
  anything listens on the port yet);
* with ``[link] enabled``, how many Ableton Link peers are seen within about a second.
* each lighting output (sACN, Art-Net) can send: its interface exists and a route
  leads to its receiver or multicast group.
* each MIDI output's port is there (or its virtual port can be made).
* each LSL hub a source names is seen (its streams, wearers, host and LSL clock offset),
  and which hubs on the network the show does not name.
* with ``[visual] serve``, the render nodes' port can be listened on, and which render
  nodes (``ecosymphony visuals --from``, waiting for the show) connect to it within a few
  seconds: each one's address and tile.

The judging is pure (``judge_*`` and :func:`verdict`, tested with tables); the
probing (:func:`listen_sources`, :func:`probe_udp`, :func:`probe_display`, :func:`probe_midi`) does the I/O.
"""

from __future__ import annotations

import errno
import ipaddress
import json
import math
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Literal

from pythonosc import osc_message_builder

from installation.config import LinkConfig, MidiOutputConfig, Show, SimulatedSource
from installation.dsp.core import SignalCore
from installation.dsp.quality import BAD_STATES
from installation.sensors.base import Source
from installation.sound.devices import AudioDevice, choose_output_device
from installation.status import RenderNodeStatus

Result = Literal["GO", "WARN", "NO-GO"]
#: Worse results sort later.
SEVERITY: dict[str, int] = {"GO": 0, "WARN": 1, "NO-GO": 2}
#: Quality below which a channel cannot drive the show (the mapper's fallback threshold).
MIN_QUALITY = 0.3
CHANNEL_OF_SIGNAL = {"ppg": "heart", "ecg": "heart", "bpm": "heart", "ibi": "heart", "eda": "eda",
                     "acc": "motion", "acc_x": "motion", "acc_y": "motion", "acc_z": "motion"}


@dataclass(frozen=True, slots=True)
class Check:
    """One line of the go / no-go table."""

    check: str
    target: str
    result: Result
    detail: str


# ---- sensors ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ChannelSeen:
    """What arrived on one channel (``heart``, ``eda`` or ``motion``) of a wearer while listening."""

    samples: int
    state: str
    quality: float
    value: float = math.nan  # heart: bpm; eda: skin-conductance level; motion: its level


@dataclass(slots=True)
class SourceHeard:
    """What one source sent while listening: per wearer slot, per channel.

    ``error`` is set when it could not be opened or read.
    """

    name: str
    slots: list[str]
    listen_s: float
    wearers: dict[str, dict[str, ChannelSeen]] = field(default_factory=dict)
    error: str = ""
    connected: bool = True
    index: int = 0  # its place in the show file's [[sources]]


def channels_read(show: Show) -> set[str]:
    """The channels (``heart``, ``eda``) the show's mappings and scene rules read."""
    addresses = [m.source for m in show.mappings] + [sc.when.feature for sc in show.scenes if sc.when is not None]
    found: set[str] = set()
    for a in addresses:
        if ".heart." in f".{a}." or a.startswith("group.sync"):
            found.add("heart")
        if ".eda." in f".{a}.":
            found.add("eda")
    return found


def _channel_words(channel: str) -> str:
    return {"heart": "heart signal", "eda": "skin-conductance (EDA) signal"}.get(channel, channel)


def judge_wearer(heard: SourceHeard, wearer: str, needed: set[str]) -> Check:
    """GO when every channel expected of ``wearer`` arrived in good quality; else WARN or NO-GO naming why.

    Expected: the channels the show reads (``needed``: missing is NO-GO) and those the
    source's other wearers send (missing, and not read by the show: WARN).
    """
    target = f"{wearer} @ {heard.name}"
    seen = heard.wearers.get(wearer, {})
    if not seen:
        why = f"nothing arrived in {heard.listen_s:g} s"
        if heard.error:
            why += f" ({heard.error})"
        elif not heard.connected:
            why += " (not connected: is the device plugged in?)"
        return Check("sensor", target, "NO-GO", why)
    others = {c for w, chans in heard.wearers.items() if w != wearer for c in chans}
    problems: list[tuple[Result, str]] = []
    for channel in sorted(needed | others, key=lambda ch: ch != "heart"):
        if channel not in seen:
            bad: Result = "NO-GO" if channel in needed else "WARN"
            problems.append((bad, f"no {_channel_words(channel)} arrived" + ("" if channel in needed else " (the show does not read it)")))
    fine: list[str] = []
    for channel, c in sorted(seen.items(), key=lambda item: item[0] != "heart"):
        state = c.state.replace("_", " ")
        if c.state in BAD_STATES:
            problems.append(("NO-GO", f"{channel}: {state} (quality {c.quality:.2f})"))
        elif c.state == "learning":
            problems.append(("WARN", f"{channel}: still learning after {heard.listen_s:g} s (listen longer: --listen-s 10)"))
        elif c.quality < MIN_QUALITY:
            problems.append(("NO-GO", f"{channel}: quality {c.quality:.2f} too low ({state})"))
        elif c.state == "noisy":
            problems.append(("WARN", f"{channel}: noisy (quality {c.quality:.2f}; motion?)"))
        else:
            figure = ""
            if math.isfinite(c.value):
                figure = f" {c.value:.0f} bpm" if channel == "heart" else f" level {c.value:.2f}"
            fine.append(f"{channel} ok{figure} (quality {c.quality:.2f})")
    if not problems:
        return Check("sensor", target, "GO", "; ".join(fine))
    worst = max((r for r, _ in problems), key=SEVERITY.__getitem__)
    return Check("sensor", target, worst, "; ".join([p for _, p in problems] + fine))


def judge_source(heard: SourceHeard, needed: set[str]) -> list[Check]:
    """One line per wearer slot of a source, plus one for slots it sent that it does not name."""
    checks = []
    if heard.error:
        checks.append(Check("source", f"sources[{heard.index}] {heard.name}", "NO-GO", heard.error))
    checks += [judge_wearer(heard, w, needed) for w in heard.slots]
    strays = sorted(set(heard.wearers) - set(heard.slots), key=lambda w: (len(w), w))
    if strays:
        checks.append(Check("source", f"sources[{heard.index}] {heard.name}", "WARN",
                            f"sends for {', '.join(strays)}, which this source's wearers do not name"))
    return checks


def _heard_from(core: SignalCore, heard: SourceHeard, samples: dict[tuple[str, str], int], now_s: float) -> None:
    features = core.features(now_s)
    states = core.states()
    for (wearer, channel), n in samples.items():
        key = f"{wearer}.{channel}"
        if channel == "motion":  # an accelerometer: heard is all it needs to be; its figure is the level
            heard.wearers.setdefault(wearer, {})[channel] = ChannelSeen(n, "ok", 1.0, float(features.get(f"{key}.level", math.nan)))
            continue
        value = features.get(f"{key}.bpm" if channel == "heart" else f"{key}.scl", math.nan)
        heard.wearers.setdefault(wearer, {})[channel] = ChannelSeen(
            n, states.get(key, "ok"), float(features.get(f"{key}.quality", 0.0)), float(value))


def listen_sources(show: Show, listen_s: float, make: Callable[..., Source] | None = None,
                   clock: Callable[[], float] = time.perf_counter) -> list[SourceHeard]:
    """Open every source of the show, listen for ``listen_s`` seconds, and say what each sent.

    Each source is judged by a signal core of its own. A source that cannot be
    opened or read is reported with its error; the others carry on.
    """
    from installation.sensors.factory import source_from_config, source_slots
    from installation.pipeline.pipeline import core_settings

    make = make or source_from_config
    entries: list[tuple[Source | None, SourceHeard, SignalCore, dict[tuple[str, str], int]]] = []
    first = 0
    for i, cfg in enumerate(show.sources):
        slots = source_slots(cfg, first)
        problem = ""
        try:
            source: Source | None = make(cfg, first)
            name = str(getattr(source, "name", cfg.kind))
        except Exception as exc:  # a source the show names but that cannot be built
            source, name, problem = None, cfg.kind, f"cannot be set up: {exc}"
        if isinstance(cfg, SimulatedSource):
            first += cfg.wearers
        heard = SourceHeard(name, slots, listen_s, error=problem, index=i)
        entries.append((source, heard, SignalCore(core_settings(show)), {}))
    opened = []
    for source, heard, core, samples in entries:
        if source is None:
            continue
        try:
            source.open()
            opened.append((source, heard, core, samples))
        except Exception as exc:
            heard.error = f"cannot open: {exc}"
    try:
        deadline = clock() + listen_s
        while opened and clock() < deadline:
            for source, heard, core, samples in opened:
                if heard.error:
                    continue
                try:
                    blocks = source.read(0.01)
                except Exception as exc:
                    heard.error = f"read failed: {exc}"
                    continue
                for block in blocks:
                    core.process(block)
                    key = (block.wearer, CHANNEL_OF_SIGNAL.get(block.signal, block.signal))
                    samples[key] = samples.get(key, 0) + int(block.values.size)
        now_s = clock()
        for source, heard, core, samples in opened:
            heard.connected = bool(getattr(source, "connected", True))
            _heard_from(core, heard, samples, now_s)
    finally:
        for source, heard, _, _ in opened:
            try:
                source.close()
            except Exception as exc:  # closing must not hide the verdict
                heard.error = heard.error or f"close failed: {exc}"
    return [heard for _, heard, _, _ in entries]


# ---- audio ------------------------------------------------------------------------------------
def judge_audio(backend: str, wanted: int | str | None, audio_option: str,
                devices: list[AudioDevice] | None = None, jack: tuple[int, int] | str | None = None) -> Check:
    """The audio output: the configured backend against what was found.

    ``devices``: the PortAudio output devices (for ``auto`` and ``portaudio``);
    ``jack``: the running server's (rate Hz, buffer frames), None when none runs, or
    the reason JACK cannot be used at all.
    """
    target = f"sound.backend {backend}" + (f", device {wanted!r}" if wanted is not None else "")
    if audio_option == "none":
        return Check("audio", "--audio none", "GO", "no sound (as asked)")
    if audio_option == "file" or backend == "wav":
        return Check("audio", target if backend == "wav" else "--audio file", "GO", "the sound is written to a WAV file (as asked)")
    if backend == "jack":
        if isinstance(jack, str):
            return Check("audio", target, "NO-GO", f"JACK cannot be used: {jack}")
        if jack is None:
            return Check("audio", target, "NO-GO", "no JACK server is running; start it first (jackd or the venue's set-up)")
        return Check("audio", target, "GO", f"JACK running at {jack[0]} Hz, {jack[1]} frames a cycle")
    try:
        device = choose_output_device(wanted, devices or [])
    except LookupError as exc:
        return Check("audio", target, "NO-GO", str(exc))
    if device is not None:
        return Check("audio", target, "GO", f"device {device.index}: {device.name}")
    if backend == "portaudio":
        return Check("audio", target, "NO-GO", "no audio output device found")
    return Check("audio", target, "WARN", "no device: the sound will be written to a WAV file")


# ---- display ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DisplayProbe:
    """What SDL found: its video driver and each display's size (empty: none)."""

    driver: str = ""
    sizes: tuple[tuple[int, int], ...] = ()
    error: str = ""


_DISPLAY_PROBE = r"""
import json, os, sys
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame
try:
    pygame.display.init()
    out = {"driver": pygame.display.get_driver(), "sizes": [list(s) for s in pygame.display.get_desktop_sizes()]}
except pygame.error as exc:
    out = {"error": str(exc)}
sys.stdout.write(json.dumps(out))
"""


def probe_display(has_display: Callable[[], bool] | None = None, timeout_s: float = 15.0) -> DisplayProbe:
    """Ask SDL, in a child process (a broken display cannot hang or crash this one), what it sees."""
    from installation.runtime.launch import display_available

    if not (has_display or display_available)():
        return DisplayProbe(error="no display is set (DISPLAY / WAYLAND_DISPLAY)")
    try:
        done = subprocess.run([sys.executable, "-c", _DISPLAY_PROBE], capture_output=True, text=True, timeout=timeout_s)
        data = json.loads(done.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.TimeoutExpired, ValueError, IndexError) as exc:
        return DisplayProbe(error=f"the display could not be probed ({type(exc).__name__})")
    if "error" in data:
        return DisplayProbe(error=str(data["error"]))
    return DisplayProbe(str(data.get("driver", "")), tuple((int(w), int(h)) for w, h in data.get("sizes", [])))


def judge_display(visuals_option: str, probe: DisplayProbe | None, display_index: int = 0) -> Check:
    """The display, needed only when the visuals are on and meant for a window."""
    target = f"visual.display {display_index}"
    if visuals_option == "none":
        return Check("display", "--visuals none", "GO", "no visuals (as asked)")
    if visuals_option == "frames":
        return Check("display", "--visuals frames", "GO", "PNG frames are written (as asked)")
    if probe is None or probe.error or not probe.sizes or probe.driver in ("dummy", "offscreen"):
        why = probe.error if probe is not None and probe.error else "SDL sees no screen"
        return Check("display", target, "NO-GO", f"none found: {why} (the scene would only be written as PNG frames)")
    if not 0 <= display_index < len(probe.sizes):
        return Check("display", target, "NO-GO", f"SDL sees {len(probe.sizes)} display(s); visual.display {display_index} is not one")
    w, h = probe.sizes[display_index]
    return Check("display", target, "GO", f"{probe.driver}, {w}x{h}")


# ---- OSC outputs ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class UdpProbe:
    """What sending one datagram to (host, port) showed."""

    resolved: str = ""  # the address the host resolved to ("" when it did not)
    loopback: bool = False
    refused: bool = False  # ICMP port unreachable: nothing listens
    error: str = ""  # no route, host does not resolve, ...


def probe_udp(host: str, port: int, wait_s: float = 0.2) -> UdpProbe:
    """Resolve ``host`` and send one OSC message (``/ecosymphony/preflight``) to ``port``.

    A connected UDP socket hears back ``ECONNREFUSED`` when the peer's port is
    closed (reliably on this machine; from another one only when it answers ICMP);
    ``connect`` itself fails when there is no route.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    except socket.gaierror as exc:
        return UdpProbe(error=f"host {host!r} does not resolve ({exc.strerror or exc})")
    family, kind, proto, _, address = infos[0]
    resolved = str(address[0])
    loopback = ipaddress.ip_address(resolved.split("%")[0]).is_loopback
    sock = socket.socket(family, kind, proto)
    try:
        sock.connect(address)
        sock.send(osc_message_builder.OscMessageBuilder("/ecosymphony/preflight").build().dgram)
        sock.settimeout(wait_s)
        try:
            sock.recv(64)
        except TimeoutError:
            pass
        return UdpProbe(resolved, loopback)
    except ConnectionRefusedError:
        return UdpProbe(resolved, loopback, refused=True)
    except OSError as exc:
        words = {errno.ENETUNREACH: "no route to its network", errno.EHOSTUNREACH: "no route to the host"}
        return UdpProbe(resolved, loopback, error=words.get(exc.errno or 0, exc.strerror or str(exc)))
    finally:
        sock.close()


def judge_udp(name: str, host: str, port: int, probe: UdpProbe) -> Check:
    """An OSC output: NO-GO when the host does not resolve or has no route; WARN when nothing listens yet."""
    target = f"{name} {host}:{port}"
    if probe.error:
        return Check("osc out", target, "NO-GO", probe.error)
    via = f" ({probe.resolved})" if probe.resolved and probe.resolved != host else ""
    if probe.refused:
        return Check("osc out", target, "WARN", f"nothing listening yet{via}: start the receiver (lighting desk, TouchDesigner, ...)")
    if probe.loopback:
        return Check("osc out", target, "GO", f"a receiver is listening{via}")
    return Check("osc out", target, "GO", f"a route exists{via} (UDP: whether it listens cannot be told from here)")


def osc_targets(show: Show) -> list[tuple[str, str, int]]:
    """The OSC outputs to check: (name, host, port). ``[osc_out]`` when the show sets it or a mapping
    sends OSC, every ``[[outputs]]`` entry of kind ``osc`` (named ``outputs[i]`` or by its ``name``), and
    the steward's ``[care.notify]`` when it has a port."""
    targets = []
    uses = any(m.target.startswith("osc.") for m in show.mappings)
    if uses or "osc_out" in show.model_fields_set:
        targets.append(("[osc_out]", show.osc_out.host, show.osc_out.port))
    for i, out in enumerate(show.outputs):
        if out.kind == "osc":
            targets.append((f"outputs[{i}]" + (f" {out.name}" if out.name else ""), out.host, out.port))
    notify = show.care.notify
    if notify.port is not None:  # the steward's phone or desk: it must be there before doors open
        targets.append(("[care.notify]", notify.host, notify.port))
    return targets


# ---- Ableton Link ------------------------------------------------------------------------------------
#: Seconds preflight listens for Link peers (Link finds the peers on a network within about a second).
LINK_LISTEN_S = 1.0


def probe_link(wait_s: float = LINK_LISTEN_S) -> int | str:
    """Other Link peers seen within ``wait_s`` seconds, or why none could be looked for."""
    from installation.link.clock import LinkError, count_peers

    try:
        return count_peers(wait_s)[0]
    except LinkError as exc:
        return str(exc)


def judge_link(link: LinkConfig, peers: int | str) -> Check:
    """The Link line: how many peers, and what the show will do with their tempo."""
    if isinstance(peers, str):
        return Check("link", "[link]", "NO-GO", peers)
    if peers == 0:
        return Check("link", "[link]", "WARN", f"no Link peer seen within {LINK_LISTEN_S:g} s: the show will lead the "
                                               "tempo alone (start the musicians' Link apps, on the same network)")
    seen = f"{peers} Link peer{'s' if peers != 1 else ''} seen"
    if link.lead:
        return Check("link", "[link]", "GO", f"{seen}; lead = true: the show takes their tempo over")
    return Check("link", "[link]", "GO", f"{seen}; the show joins their session and keeps its tempo")



# ---- lighting outputs -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class LightProbe:
    """What preparing to send to a lighting output showed (nothing is sent to the rig)."""

    source: str = ""  # the address of this machine the frames would leave from ("" when they cannot)
    error: str = ""


def probe_light(destination: str, port: int, interface: str | None = None) -> LightProbe:
    """Whether frames can leave for ``destination`` (an address or E1.31's multicast group): the
    interface to send from exists (``interface``: one of this machine's addresses), and a route
    leads there (a UDP socket's ``connect``, whose ``getsockname`` is the address it would use)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        if interface:
            try:
                sock.bind((interface, 0))
            except OSError as exc:
                return LightProbe(error=f"no network interface of this machine has the address {interface} ({exc.strerror})")
            if ipaddress.ip_address(destination).is_multicast:
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(interface))
        try:
            sock.connect((destination, port))
        except OSError as exc:
            words = {errno.ENETUNREACH: "no route to its network", errno.EHOSTUNREACH: "no route to the host"}
            return LightProbe(error=words.get(exc.errno or 0, exc.strerror or str(exc)))
        return LightProbe(source=str(sock.getsockname()[0]))
    finally:
        sock.close()


def light_targets(show: Show) -> list[tuple[str, str, int, str | None]]:
    """The lighting outputs to check: (name, destination, port, interface); a multicast sACN output
    is checked with its first universe's group (239.255.<high byte>.<low byte>)."""
    targets = []
    for i, out in enumerate(show.outputs):
        if out.kind in ("sacn", "artnet"):
            u = out.universes[0]
            destination = out.host or f"239.255.{u >> 8}.{u & 0xFF}"
            targets.append((f"outputs[{i}]" + (f" {out.name}" if out.name else f" {out.kind}"), destination, out.port,
                            out.interface))
    return targets


def judge_light(name: str, destination: str, port: int, probe: LightProbe) -> Check:
    """A lighting output: NO-GO without its interface or a route; GO with the address frames leave from."""
    target = f"{name} {destination}:{port}"
    if probe.error:
        return Check("lights out", target, "NO-GO", probe.error)
    return Check("lights out", target, "GO", f"a route exists, sending from {probe.source} "
                 "(UDP: whether a node listens cannot be told from here)")

# ---- MIDI outputs -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class MidiProbe:
    """What the MIDI system showed: the system used, its output ports, whether a virtual port
    could be made, or why nothing could be done."""

    api: str = ""
    ports: tuple[str, ...] = ()
    made: bool = False
    problem: str = ""


def probe_midi(cfg: MidiOutputConfig) -> MidiProbe:
    """Look for the output's MIDI system and ports; for a virtual port, make it and close it again."""
    from installation.outputs.fanout import midi_name
    from installation.outputs.midi_ports import MidiPort, MidiUnavailable, choose_api, output_ports

    try:
        api = choose_api(cfg.api)
    except MidiUnavailable as exc:
        return MidiProbe(problem=str(exc))
    listed = output_ports(api)
    if listed.problem:
        return MidiProbe(api, problem=listed.problem)
    if not cfg.virtual:
        return MidiProbe(api, tuple(listed.names))
    port = MidiPort(api, None, midi_name(cfg) + "-preflight")
    try:
        port.open()
    except MidiUnavailable as exc:
        return MidiProbe(api, tuple(listed.names), problem=f"the virtual port cannot be made: {exc}")
    finally:
        port.close()
    return MidiProbe(api, tuple(listed.names), made=True)


def judge_midi(name: str, wanted: str | None, probe: MidiProbe) -> Check:
    """A MIDI output: GO when its port is there (or the virtual port could be made); NO-GO naming why not."""
    from installation.outputs.midi_ports import match_port

    target = f"{name} " + (f"port {wanted!r}" if wanted is not None else "virtual port")
    if probe.problem:
        return Check("midi out", target, "NO-GO", probe.problem)
    if wanted is None:
        return Check("midi out", target, "GO", f"can be made on {probe.api} (connect it to the DAW or synth)")
    found = match_port(wanted, list(probe.ports))
    if found is None:
        there = ", ".join(repr(n) for n in probe.ports) or "none"
        return Check("midi out", target, "NO-GO", f"no {probe.api} port matches (ports: {there}): plug the "
                     "interface in or start the receiver")
    return Check("midi out", target, "GO", f"{found!r} on {probe.api}")


# ---- the verdict ---------------------------------------------------------------------------------
# ---- render nodes --------------------------------------------------------------------------------
def probe_render_nodes(show: Show, wait_s: float = 3.0) -> list[RenderNodeStatus] | str:
    """The render nodes that connect to the show's scene server within ``wait_s`` seconds (nodes that wait
    for the show try again every 2 s at most), each with its tile once it pinged; or why the port
    cannot be listened on."""
    from installation.visuals.serve import SnapshotServer

    v = show.visual
    server = SnapshotServer(v.serve_host, v.serve_port, [], allow=v.serve_allow)
    try:
        server.start()
    except OSError as exc:
        return exc.strerror or str(exc)
    try:
        time.sleep(wait_s)
        # a node that joined late gets a moment to say its tile
        settle = time.monotonic() + 1.0
        while any(not n.tile for n in server.node_status()) and time.monotonic() < settle:
            time.sleep(0.05)
        return server.node_status()
    finally:
        server.close()


def judge_render_nodes(where: str, nodes: list[RenderNodeStatus] | str) -> Check:
    """The render nodes' line (pure): NO-GO when the port cannot be listened on, WARN when no node
    connected (none is needed for the show to run), else GO with each node's address and tile."""
    if isinstance(nodes, str):
        return Check("render nodes", where, "NO-GO", f"cannot listen there ({nodes}): is a show running already, or "
                     "is [visual] serve_host an address of this machine?")
    if not nodes:
        return Check("render nodes", where, "WARN", "none connected: start them with `ecosymphony visuals --from "
                     f"{where}` (they wait for the show)")
    listed = ", ".join(f"{n.address}" + (f" (tile {n.tile})" if n.tile else "") for n in nodes)
    return Check("render nodes", where, "GO", f"{len(nodes)} connected: {listed}")


# ---- LSL hubs -----------------------------------------------------------------------------------
def probe_hubs(slots: dict[str, list[str]], wait_s: float = 3.0) -> list[dict[str, object]]:
    """The hub streams a conductor of these hubs opens within ``wait_s`` seconds: hub, wearer, slot,
    kind, host, LSL clock offset (seconds); and, as ``kind = "unnamed"``, the hubs seen that the show does not name."""
    import pylsl

    from installation.sensors.hub_streams import SOURCE_ID_PREFIX, parse_source_id
    from installation.sensors.lsl_hubs import LslHubSource

    source = LslHubSource(slots)
    source.open()
    try:
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            source.read(0.05)
        seen = source.streams()
    finally:
        source.close()
    others = {parsed[0]: info.hostname() for info in pylsl.resolve_bypred(f"starts-with(source_id,'{SOURCE_ID_PREFIX}')", 0, 0.5)
              if (parsed := parse_source_id(info.source_id())) is not None and parsed[0] not in slots}
    return seen + [{"hub": hub, "kind": "unnamed", "host": host} for hub, host in sorted(others.items())]


def judge_hubs(slots: dict[str, list[str]], seen: list[dict[str, object]]) -> list[Check]:
    """One line per hub the show names (its streams, wearers, host and largest clock offset; NO-GO when
    it is not seen), and a WARN per hub seen that the show does not name (pure)."""
    checks = []
    for hub in slots:
        mine = [s for s in seen if s["hub"] == hub and s["kind"] != "unnamed"]
        if not mine:
            checks.append(Check("lsl hub", hub, "NO-GO", "not seen on the network: is it running, in the same LSL scope, "
                                "or named in [lsl] known_peers?"))
            continue
        wearers = sorted({str(s["slot"]) for s in mine}, key=lambda w: int(w[1:]))
        offset_ms = max(abs(float(s["offset_s"])) for s in mine) * 1e3  # type: ignore[arg-type]
        hosts = ", ".join(sorted({str(s["host"]) for s in mine}))
        checks.append(Check("lsl hub", hub, "GO", f"{len(mine)} streams on {hosts}; wearers {', '.join(wearers)}; "
                            f"clock offset up to {offset_ms:.2f} ms"))
    for s in seen:
        if s["kind"] == "unnamed":
            checks.append(Check("lsl hub", str(s["hub"]), "WARN", f"seen on {s['host']} but the show names no such hub"))
    return checks


def verdict(checks: list[Check]) -> tuple[int, str]:
    """Exit code (0 go, warnings allowed; 1 no-go) and the last line: ``GO`` or ``NO-GO: n problems``."""
    problems = sum(c.result == "NO-GO" for c in checks)
    warnings = sum(c.result == "WARN" for c in checks)
    if problems:
        return 1, f"NO-GO: {problems} problem{'s' if problems != 1 else ''}"
    return 0, "GO" + (f" ({warnings} warning{'s' if warnings != 1 else ''})" if warnings else "")


@dataclass(frozen=True, slots=True)
class PreflightOptions:
    """What to check: listening time (seconds) and the ``--audio`` / ``--visuals`` choices the show will run with."""

    listen_s: float = 5.0
    audio: str = "auto"
    visuals: str = "auto"


def preflight(show: Show, options: PreflightOptions,
              find_devices: Callable[[], list[AudioDevice]] | None = None,
              find_display: Callable[[], DisplayProbe] | None = None) -> list[Check]:
    """Run every check on a show that :func:`installation.runtime.launch.prepare_show` accepted."""
    from installation.sound.devices import output_devices
    from installation.sound.jack_server import JackError, server_settings

    checks: list[Check] = []
    needed = channels_read(show)
    if not show.sources:
        checks.append(Check("source", "[[sources]]", "NO-GO", "the show names no [[sources]]: `ecosymphony run` needs one"))
    for heard in listen_sources(show, options.listen_s):
        checks += judge_source(heard, needed)
    for src in show.sources:
        if getattr(src, "hubs", None):
            slots = src.hub_slots()  # type: ignore[union-attr]
            checks += judge_hubs(slots, probe_hubs(slots))
    s = show.sound
    devices: list[AudioDevice] | None = None
    jack: tuple[int, int] | str | None = None
    if options.audio == "auto" and s.backend in ("auto", "portaudio"):
        devices = (find_devices or output_devices)()
    elif options.audio == "auto" and s.backend == "jack":
        try:
            found = server_settings()
            jack = None if found is None else (found.sample_rate_hz, found.buffer_frames)
        except JackError as exc:
            jack = str(exc)
    checks.append(judge_audio(s.backend, s.device, options.audio, devices, jack))
    probe = (find_display or probe_display)() if options.visuals == "auto" else None
    checks.append(judge_display(options.visuals, probe, show.visual.display))
    for name, host, port in osc_targets(show):
        checks.append(judge_udp(name, host, port, probe_udp(host, port)))
    for i, out in enumerate(show.outputs):
        if isinstance(out, MidiOutputConfig):
            name = f"outputs[{i}]" + (f" {out.name}" if out.name else "")
            checks.append(judge_midi(name, None if out.virtual else out.port, probe_midi(out)))
    if show.link.enabled:
        checks.append(judge_link(show.link, probe_link()))
    for name, destination, port, interface in light_targets(show):
        checks.append(judge_light(name, destination, port, probe_light(destination, port, interface)))
    if show.visual.serve:
        checks.append(judge_render_nodes(f"{show.visual.serve_host}:{show.visual.serve_port}", probe_render_nodes(show)))
    return checks


__all__ = ["Check", "ChannelSeen", "DisplayProbe", "LightProbe", "MidiProbe", "PreflightOptions", "SourceHeard",
           "UdpProbe", "channels_read", "judge_audio", "judge_display", "judge_light", "judge_link", "judge_midi",
           "judge_hubs", "judge_render_nodes", "judge_source", "judge_udp", "judge_wearer", "light_targets", "listen_sources", "osc_targets", "preflight",
           "probe_display", "probe_hubs", "probe_light", "probe_render_nodes", "probe_link", "probe_midi", "probe_udp", "verdict"]
