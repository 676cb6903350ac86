"""Show-file schema (TOML), loading and validation.

Every section refuses unknown keys. Errors name the file, the key path
(``mappings[3].curve``) and, for a misspelt key or enumerated value, the nearest valid one.
"""

from __future__ import annotations

import difflib
import ipaddress
import math
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator, model_validator

from installation.addresses import GROUP_FEATURES, WEARER_FEATURES, WEARER_RE, SignalKind


class ConfigError(ValueError):
    """A show file could not be read or is invalid; the message says where and why."""


#: The show files and sound patches that come with the program; a show names a
#: patch in here by its bare name (``patch = "eco_symphony"``).
PATCHES_DIR = Path(__file__).resolve().parent.parent / "patches"


def default_show_path() -> Path:
    """``patches/default.toml`` in the working folder, else the one that comes with the program."""
    here = Path.cwd() / "patches" / "default.toml"
    return here if here.is_file() else PATCHES_DIR / "default.toml"


def shipped_patches() -> list[str]:
    """Names of the sound patches in :data:`PATCHES_DIR` (``eco_symphony``, ...)."""
    return sorted(p.stem for p in PATCHES_DIR.glob("*.py") if not p.name.startswith("_"))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ShowInfo(_Strict):
    """``[show]``: title and description shown to the operator."""

    title: str = "Untitled show"
    description: str = ""


class SimulatedSource(_Strict):
    """``[[sources]]`` with ``kind = "simulated"``: rehearsal wearers, no hardware."""

    kind: Literal["simulated"] = "simulated"
    first_slot: int = Field(0, ge=0, exclude=True)
    wearers: int = Field(4, ge=1, le=64, description="number of simulated wearers")
    seed: int = Field(1, description="seed of the simulation's own random generator")
    heart: Literal["ppg", "ecg"] = Field("ppg", description="which heart sensor the simulated wearers wear")
    ppg_rate_hz: float = Field(100.0, ge=25.0, le=2000.0)
    ecg_rate_hz: float = Field(250.0, ge=100.0, le=2000.0)
    eda_rate_hz: float = Field(25.0, ge=4.0, le=2000.0)
    acc_rate_hz: float | None = Field(None, ge=10.0, le=2000.0,
                                      description="wrist accelerometers at this rate (acc_x, acc_y, acc_z); none when unset")


_SLOT = re.compile(r"p[1-9][0-9]*")


def _check_ip(address: str) -> str:
    try:
        ipaddress.ip_address(address)
    except ValueError:
        raise ValueError("not an IP address (use 127.0.0.1 for this machine, 0.0.0.0 for every network)") from None
    return address


def _check_slots(slots: list[str]) -> list[str]:
    for slot in slots:
        if not _SLOT.fullmatch(slot):
            raise ValueError(f"wearer slots are named p1, p2, ... (never a person's name), got {slot!r}")
    if len(set(slots)) != len(slots):
        raise ValueError(f"a slot appears twice: {slots}")
    return slots
LineFormat = Literal["auto", "native", "pulsesensor-plotter", "pulsesensor-visualizer", "grove-gsr", "csv", "key-value"]


class SerialSourceConfig(_Strict):
    """``[[sources]]`` with ``kind = "serial"``: a sensor board on a serial port."""

    kind: Literal["serial"]
    port: str = Field(description="device path, or match:<glob> / match:usb:VID:PID to find it")
    baud: int = Field(115200, ge=300, le=4_000_000)
    format: LineFormat = "native"
    wearers: list[str] = Field(default_factory=lambda: ["p1"], min_length=1, description="slot of each sensor on the board")
    columns: list[str] = Field(default_factory=list, description="csv format: what each column is")
    plotter_columns: Literal["triplet", "signal"] = "triplet"
    gsr_calibration: float = Field(512.0, gt=0.0, le=1023.0)
    gsr_convert: bool = True
    rates_hz: dict[SignalKind, Annotated[float, Field(gt=0.0, le=10000.0)]] = Field(default_factory=dict)

    _slots = field_validator("wearers")(lambda cls, v: _check_slots(v))

    @field_validator("port")
    @classmethod
    def _port_given(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("needs a device path or match:<pattern>")
        return v

    @model_validator(mode="after")
    def _csv_has_columns(self) -> "SerialSourceConfig":
        if self.format == "csv" and not self.columns:
            raise ValueError("format 'csv' needs columns = [...] naming each column (ppg, eda, ppg2, ...)")
        return self


class OscSourceConfig(_Strict):
    """``[[sources]]`` with ``kind = "osc"``: EmotiBit, OpenBCI, Mind Monitor or ``/eco/`` over UDP."""

    kind: Literal["osc"]
    port: int = Field(12345, ge=0, le=65535)
    host: str = Field("127.0.0.1", description="127.0.0.1 keeps it on this machine; 0.0.0.0 opens it")
    allow: list[str] | None = Field(None, description="sender addresses accepted (default: loopback only)")
    wearers: list[str] = Field(default_factory=lambda: ["p1"], min_length=1, description="slot of each device index")
    rates_hz: dict[SignalKind, Annotated[float, Field(gt=0.0, le=10000.0)]] = Field(default_factory=dict)

    _slots = field_validator("wearers")(lambda cls, v: _check_slots(v))

    @field_validator("host", "allow")
    @classmethod
    def _addresses(cls, v: str | list[str] | None) -> str | list[str] | None:
        for address in [v] if isinstance(v, str) else (v or []):
            _check_ip(address)
        return v


_HUB_NAME = re.compile(r"[A-Za-z0-9_-]{1,32}")


def _check_hub_name(name: str) -> str:
    if not _HUB_NAME.fullmatch(name):
        raise ValueError(f"a hub name is 1 to 32 letters, digits, '-' or '_', got {name!r}")
    return name


class LslSourceConfig(_Strict):
    """``[[sources]]`` with ``kind = "lsl"``: a Lab Streaming Layer stream, one channel per wearer,
    or every wearer of the named hubs (``hubs = ["hall-a", "hall-b"]``), each in a stable slot."""

    kind: Literal["lsl"]
    stream_name: str | None = Field(None, description="find the stream by its name ...")
    stream_type: str | None = Field(None, description="... or by its type (PPG, ECG, EDA, GSR, HR)")
    hubs: list[str] | None = Field(None, min_length=1, description="... or every stream of these hubs (ecosymphony hub)")
    slots_per_hub: int = Field(8, ge=1, le=64, description="hubs: slots kept for each hub, in the order of hubs")
    first_slot: int = Field(1, ge=1, le=999, description="hubs: the slot of the first hub's first wearer")
    signal: SignalKind | None = Field(None, description="what the channels are (default: from the stream type)")
    wearers: list[str] = Field(default_factory=lambda: ["p1"], min_length=1, description="slot of each channel")

    _slots = field_validator("wearers")(lambda cls, v: _check_slots(v))

    @field_validator("hubs")
    @classmethod
    def _hub_names(cls, v: list[str] | None) -> list[str] | None:
        for name in v or []:
            _check_hub_name(name)
        if v is not None and len(set(v)) != len(v):
            raise ValueError(f"a hub appears twice: {v}")
        return v

    @model_validator(mode="after")
    def _one_way_to_find_it(self) -> "LslSourceConfig":
        if sum(x is not None for x in (self.stream_name, self.stream_type, self.hubs)) != 1:
            raise ValueError("give exactly one of stream_name, stream_type or hubs")
        return self

    def hub_slots(self) -> dict[str, list[str]]:
        """Each named hub's slots: hub ``i`` (0-based, in the order of ``hubs``) has
        ``slots_per_hub`` slots from ``p{first_slot + i * slots_per_hub}``; its wearer ``pK`` takes the K-th."""
        return {hub: [f"p{self.first_slot + i * self.slots_per_hub + k}" for k in range(self.slots_per_hub)]
                for i, hub in enumerate(self.hubs or [])}


class LslNetConfig(_Strict):
    """``[lsl]``: how Lab Streaming Layer finds and offers streams (written to an ``lsl_api.cfg`` for the process)."""

    scope: Literal["machine", "link", "site"] = Field(
        "machine", description="discovery: this machine only, the local subnet, or a site's routed subnets")
    listen: str = Field("127.0.0.1", description="127.0.0.1 with scope 'machine'; an interface's own address to use that one")
    known_peers: list[str] = Field(default_factory=list, description="hosts asked directly (other subnets, VLANs)")
    session_id: str = Field("default", min_length=1, description="LSL session id: only streams of the same session are seen")
    port_range: int = Field(128, ge=32, le=4096, description="ports from 16572 a machine's streams take (one each); "
                            "discovery by KnownPeers or on one machine asks only these")

    _listen = field_validator("listen")(lambda cls, v: _check_ip(v))

    @model_validator(mode="after")
    def _scope_fits_listen(self) -> "LslNetConfig":
        if self.scope == "machine" and self.listen not in ("127.0.0.1", "::1"):
            raise ValueError("scope 'machine' keeps streams on this machine: with listen = "
                             f"{self.listen!r} set scope = 'link' (one subnet) or 'site'")
        return self


class HubInfo(_Strict):
    """``[hub]`` of a hub config: its name (in every stream's name and description) and whether it runs the core."""

    name: str = Field(description="the hub's name, unique among the show's hubs")
    core: bool = Field(False, description="also run the signal core here and publish beats and features")

    _name = field_validator("name")(lambda cls, v: _check_hub_name(v))


class HubConfig(_Strict):
    """A hub config (``ecosymphony hub CONFIG``): its name, its sources (as a show's) and its ``[lsl]`` network."""

    hub: HubInfo
    sources: list["SourceConfig"] = Field(min_length=1)
    lsl: LslNetConfig = Field(default_factory=LslNetConfig)
    core: "CoreConfig" = Field(default_factory=lambda: CoreConfig())
    path: Path | None = Field(None, exclude=True, description="file it was loaded from")


def load_hub(path: str | Path) -> HubConfig:
    """Load and validate a hub config; raise :class:`ConfigError` naming the file and every wrong key."""
    p = Path(path)
    data = _toml(_read(p), str(p))
    try:
        return HubConfig.model_validate({**data, "path": p.resolve()})
    except ValidationError as exc:
        problems = "\n".join(f"  - {_describe(e)}" for e in exc.errors())
        raise ConfigError(f"{p}: invalid hub config:\n{problems}") from None


SourceConfig = Annotated[
    Union["SimulatedSource", SerialSourceConfig, OscSourceConfig, LslSourceConfig], Field(discriminator="kind")
]
_SOURCE_ADAPTER: TypeAdapter[SourceConfig] = TypeAdapter(SourceConfig)


class CoreConfig(_Strict):
    """``[core]``: signal-core settings."""

    baseline_s: float = Field(10.0, ge=0.0, le=600.0)
    ppg_polarity: Literal["auto", "normal", "inverted"] = "auto"
    ppg_band_hz: tuple[float, float] = (0.5, 5.0)

    @field_validator("ppg_band_hz")
    @classmethod
    def _band_ordered(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not 0.0 < v[0] < v[1]:
            raise ValueError(f"needs 0 < low < high, got {list(v)}")
        return v


class SoundConfig(_Strict):
    """``[sound]``: the pyo patch and the safety chain around it."""

    patch: str = Field("eco_symphony.py", description="patch file, relative to the show file, or the bare name "
                       "of a patch that comes with the program")
    backend: Literal["auto", "portaudio", "jack", "wav"] = Field(
        "auto", description="auto: a sound card if any, else a WAV file; jack: a JACK server already running"
    )
    device: int | str | None = Field(None, description="output device index or name part")
    sample_rate_hz: int = Field(48000, ge=8000, le=192000)
    buffer_frames: int = Field(256, ge=16, le=8192)
    ceiling_db: float = Field(-1.0, ge=-60.0, le=0.0, description="limiter ceiling, dBFS")
    fade_in_s: float = Field(2.0, ge=0.0, le=60.0)
    fade_out_s: float = Field(1.0, ge=0.0, le=60.0)
    settings: dict[str, float | str] = Field(default_factory=dict, description="patch settings")
    process: bool = Field(True, description="run pyo and the patch in a supervised process of their own "
                          "(false: inside the show process, as before; for debugging a patch)")
    crossfade_s: float = Field(2.0, ge=0.0, le=30.0, description="a patch file saved while the show plays "
                               "crossfades to the new patch over this many seconds (under JACK)")
    jack_connect_to: list[str] = Field(default_factory=list, description="JACK input ports the outputs also "
                                       "connect to, one per channel (a recorder), jack backend")


class VisualConfig(_Strict):
    """``[visual]``: the pygame scene."""

    scene: Literal["bioluminescent"] = "bioluminescent"
    size: str = Field("1280x720", description="window size WIDTHxHEIGHT in pixels")
    fps: int = Field(60, ge=1, le=240)
    fullscreen: bool = Field(False, description="fullscreen at the display's own size (size is then the fallback's)")
    display: int = Field(0, ge=0, le=15, description="index of the display the window opens on (0: the first)")
    frame_every_s: float = Field(1.0, gt=0.0, description="PNG interval when there is no display")
    flash_limit: bool = Field(True, description="hold back pulses and flares that would flash a quarter of the screen "
                                                "more than max_flashes_per_s times a second")
    max_flashes_per_s: float = Field(3.0, description="flashes allowed per second (above 0, at most 3: the "
                                                      "photosensitivity guidelines' limit)")
    serve: bool = Field(False, description="serve the scene's state to render nodes (ecosymphony visuals --from)")
    serve_host: str = Field("127.0.0.1", description="address the render nodes' server listens on: 127.0.0.1 keeps "
                            "it on this machine; 0.0.0.0 (or this machine's address on the projectors' network) opens it")
    serve_port: int = Field(7420, ge=1, le=65535, description="TCP port of the render nodes' server")
    serve_allow: list[str] | None = Field(None, description="render node addresses accepted (default: loopback only "
                                          "when serve_host is loopback, else any)")

    @field_validator("serve_host", "serve_allow")
    @classmethod
    def _serve_addresses(cls, v: str | list[str] | None) -> str | list[str] | None:
        for address in [v] if isinstance(v, str) else (v or []):
            _check_ip(address)
        return v

    @field_validator("max_flashes_per_s")
    @classmethod
    def _safe_flashes(cls, v: float) -> float:
        if not (math.isfinite(v) and 0.0 < v <= 3.0):
            raise ValueError(f"must be above 0 and at most 3 flashes per second (the photosensitivity guidelines' "
                             f"limit; it can be lowered, never raised), got {v}")
        return v

    @field_validator("size")
    @classmethod
    def _size_format(cls, v: str) -> str:
        m = re.fullmatch(r"(\d+)x(\d+)", v)
        if not m or not (64 <= int(m.group(1)) <= 8192 and 64 <= int(m.group(2)) <= 8192):
            raise ValueError(f"must look like 1280x720 (64..8192 pixels each way), got {v!r}")
        return v

    @property
    def size_px(self) -> tuple[int, int]:
        """Window size as (width, height) in pixels."""
        w, h = self.size.split("x")
        return int(w), int(h)


Curve = Literal["linear", "exponential", "logarithmic", "s-curve", "power"]
ScaleName = Literal["chromatic", "major", "minor", "pentatonic", "minor-pentatonic", "whole-tone"]
#: Each scale's degrees in semitones above its root, ascending from 0.
SCALES: dict[str, tuple[int, ...]] = {
    "chromatic": tuple(range(12)),
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "pentatonic": (0, 2, 4, 7, 9),
    "minor-pentatonic": (0, 3, 5, 7, 10),
    "whole-tone": (0, 2, 4, 6, 8, 10),
}


class Smoothing(_Strict):
    """One-pole smoothing with separate rise and fall times, seconds."""

    rise_s: float = Field(0.0, ge=0.0, le=600.0)
    fall_s: float = Field(0.0, ge=0.0, le=600.0)


class OneEuro(_Strict):
    """One-Euro filter: steady when the input is steady, quick when it moves."""

    min_cutoff_hz: float = Field(1.0, gt=0.0, le=100.0)
    beta: float = Field(0.0, ge=0.0, le=100.0)
    d_cutoff_hz: float = Field(1.0, gt=0.0, le=100.0)


class Quantize(_Strict):
    """Snap a frequency output (hertz) to the nearest note of a scale."""

    scale: ScaleName = "pentatonic"
    root_hz: float = Field(110.0, gt=0.0, le=20000.0)


class Threshold(_Strict):
    """Hysteresis on the input: fire when it rises to ``on``, re-arm when it falls to ``off``."""

    on: float
    off: float

    @model_validator(mode="after")
    def _ordered(self) -> "Threshold":
        if self.off >= self.on:
            raise ValueError(f"off ({self.off}) must be below on ({self.on})")
        return self


class Mapping(_Strict):
    """``[[mappings]]``: one feature or event address to one parameter address, through a chain of
    transforms applied in this order: range and clip, invert, curve, output range, quantise,
    deadband, smoothing, slew limit, One-Euro filter. A ``threshold`` turns a feature into events."""

    name: str | None = Field(None, description="a name scenes refer to; unnamed mappings play in every scene")
    source: str = Field(alias="from", description="feature or event address, e.g. p*.eda.arousal")
    target: str = Field(alias="to", description="parameter address, e.g. sound.drone.brightness")
    in_range: tuple[float, float] = (0.0, 1.0)
    out_range: tuple[float, float] = (0.0, 1.0)
    curve: Curve = "linear"
    power: float = Field(2.0, gt=0.0, le=16.0, description="exponent of curve = \"power\"")
    invert: bool = False
    deadband: float = Field(0.0, ge=0.0, description="ignore output changes smaller than this")
    smooth: Smoothing | None = None
    slew_per_s: float = Field(0.0, ge=0.0, description="largest output change per second (0: no limit)")
    one_euro: OneEuro | None = None
    quantize: Quantize | None = None
    threshold: Threshold | None = None
    fallback: Literal["hold", "rest", "group"] = Field(
        "hold", description="when the wearer is gone or their signal is bad: hold, glide to rest, or follow the group"
    )
    rest: float = Field(0.0, description="the value to glide to with fallback = \"rest\"")
    fallback_glide_s: float = Field(2.0, ge=0.0, le=600.0)

    @field_validator("in_range")
    @classmethod
    def _in_range_nonempty(cls, v: tuple[float, float]) -> tuple[float, float]:
        if v[0] == v[1]:
            raise ValueError(f"in_range needs two different ends, got {list(v)}")
        return v


class SceneRule(_Strict):
    """Switch to the scene when a feature stays above (or below) a value for a while."""

    feature: str = Field(description="feature address, e.g. group.sync")
    above: float | None = None
    below: float | None = None
    for_s: float = Field(10.0, ge=0.0, le=3600.0)

    @model_validator(mode="after")
    def _one_bound(self) -> "SceneRule":
        if (self.above is None) == (self.below is None):
            raise ValueError("give exactly one of above or below")
        return self


class Scene(_Strict):
    """``[[scenes]]``: a named set of mappings and fixed parameter values, faded in over ``crossfade_s``."""

    name: str = Field(min_length=1)
    mappings: list[str] = Field(default_factory=list, description="names of the mappings that play in this scene")
    set: dict[str, float] = Field(default_factory=dict, description="parameter values held during the scene")
    crossfade_s: float = Field(3.0, ge=0.0, le=600.0)
    key: str | None = Field(None, pattern=r"^[0-9]$", description="operator key that selects it")
    when: SceneRule | None = None


class OscOut(_Strict):
    """``[osc_out]``: where ``osc.out./address`` parameters are sent (lighting desks, TouchDesigner, Max)."""

    host: str = "127.0.0.1"
    port: int = Field(9000, ge=1, le=65535)
    rate_hz: float = Field(30.0, gt=0.0, le=1000.0, description="most updates per second per address")

    _host = field_validator("host")(lambda cls, v: _check_ip(v))


class RecordConfig(_Strict):
    """``[record]``: whole-show recording (off unless asked: no biometric data on disk by default)."""

    enabled: bool = Field(False, description="record every raw sample, event, scene change and operator action")
    dir: str = Field("recordings", min_length=1, description="folder (relative to the working folder) in which "
                     "each recording's own folder is made")
    format: Literal["csv", "xdf"] = Field("csv", description="csv: a folder of CSV files; xdf: one XDF file "
                                          "(every stream, clock offsets and a marker stream of events), as "
                                          "LabRecorder writes and pyxdf loads")
    keep_days: int = Field(30, ge=0, le=36500, description="recordings in dir older than this many days are deleted "
                           "when a show next starts (0: kept until deleted by hand)")
    consent: Literal["none", "operator", "device"] = Field(
        "none", description="none: every wearer is recorded; operator: a wearer is recorded only once the operator "
        "gives their consent (console key c); device: once their device sends a consent reading of 1 (or the "
        "operator gives it)")


class OscOutputConfig(_Strict):
    """``[[outputs]]`` with ``kind = "osc"``: features, events and parameters to a peer (lighting desk,
    TouchDesigner, Max, Ableton), plain or as an EmotiBit Oscilloscope or OpenBCI GUI would send them."""

    kind: Literal["osc"]
    name: str | None = Field(None, description="a label for the operator")
    host: str = Field("127.0.0.1", description="the peer's IP address (a broadcast address works too)")
    port: int = Field(ge=1, le=65535)
    rate_hz: float = Field(30.0, gt=0.0, le=1000.0, description="updates per second of each feature and parameter")
    send: list[str] = Field(default_factory=list, description="address patterns (* matches anything)")
    format: Literal["plain", "emotibit", "openbci"] = "plain"
    wearers: list[str] | None = Field(None, description="emotibit: slot of device 0, 1, ...; openbci: the one wearer")
    prefix: str = Field("", description="plain: put in front of every OSC path, e.g. /eco")

    _host = field_validator("host")(lambda cls, v: _check_ip(v))

    @field_validator("wearers")
    @classmethod
    def _slots_valid(cls, v: list[str] | None) -> list[str] | None:
        return None if v is None else _check_slots(v)

    @field_validator("send")
    @classmethod
    def _patterns_given(cls, v: list[str]) -> list[str]:
        for pattern in v:
            if not pattern.strip() or " " in pattern:
                raise ValueError(f"an address pattern such as 'p*.heart.bpm', got {pattern!r}")
        return v

    @field_validator("prefix")
    @classmethod
    def _prefix_path(cls, v: str) -> str:
        if v and (not v.startswith("/") or v.endswith("/") or " " in v):
            raise ValueError(f"an OSC path such as '/eco' (a leading slash, none at the end), got {v!r}")
        return v

    @model_validator(mode="after")
    def _fits_format(self) -> "OscOutputConfig":
        if self.format == "plain":
            if self.wearers is not None:
                raise ValueError("wearers sets device indices for the emotibit and openbci formats; "
                                 "the plain format names every wearer in its addresses")
            if not self.send:
                raise ValueError("send = [...] lists what to send, e.g. [\"p*.heart.bpm\", \"group.sync\"]")
        elif self.prefix:
            raise ValueError(f"prefix is for the plain format; the {self.format} format's addresses are fixed")
        if self.format == "openbci" and self.wearers is not None and len(self.wearers) != 1:
            raise ValueError(f"the openbci format carries one wearer (the OpenBCI GUI sends one pulse); "
                             f"give one slot, e.g. wearers = [\"p1\"], got {self.wearers}")
        return self


class LslOutputConfig(_Strict):
    """``[[outputs]]`` with ``kind = "lsl"``: one Lab Streaming Layer stream of features and parameters,
    one channel per address (labels in the stream's description), at a steady rate."""

    kind: Literal["lsl"]
    name: str = Field("ecosymphony-features", min_length=1, description="the stream's name")
    type: str = Field("Features", min_length=1, description="the stream's type")
    send: list[str] = Field(min_length=1, description="address patterns (* matches anything)")
    rate_hz: float = Field(10.0, gt=0.0, le=1000.0, description="samples per second")


#: sACN (E1.31) numbers its universes from 1; Art-Net's port-addresses start at 0.
SACN_UNIVERSES = (1, 63999)
ARTNET_UNIVERSES = (0, 32767)


def _check_universes(v: list[int], lo: int, hi: int, protocol: str) -> list[int]:
    for u in v:
        if not lo <= u <= hi:
            first = "1 (there is no universe 0 in sACN)" if protocol == "sACN" else "0 (Art-Net counts from 0)"
            raise ValueError(f"{protocol} universes run from {lo} to {hi}, counted from {first}; got {u}")
    if len(set(v)) != len(v):
        raise ValueError(f"a universe appears twice: {v}")
    return v


class SacnOutputConfig(_Strict):
    """``[[outputs]]`` with ``kind = "sacn"``: the fixtures' DMX universes as E1.31 (streaming ACN),
    multicast (no ``host``) or unicast to one receiver. Universes are numbered from 1."""

    kind: Literal["sacn"]
    name: str | None = Field(None, description="a label for the operator")
    universes: list[int] = Field(min_length=1, description="the universes sent, 1..63999")
    host: str | None = Field(None, description="a receiver's IP address (unicast); none: multicast to 239.255.x.y")
    interface: str | None = Field(None, description="the IP address of this machine's network interface to send "
                                  "from (none: the one the route to the receiver takes)")
    port: int = Field(5568, ge=1, le=65535, description="UDP port (E1.31's is 5568)")
    priority: int = Field(100, ge=0, le=200, description="E1.31 priority: a receiver follows the highest source")
    rate_hz: float = Field(40.0, gt=0.0, le=44.0, description="most frames per second per universe (DMX's own limit is 44)")
    source_name: str = Field("Eco-Symphony", min_length=1, description="the name receivers show for this source")

    _host = field_validator("host", "interface")(lambda cls, v: v if v is None else _check_ip(v))
    _universes = field_validator("universes")(lambda cls, v: _check_universes(v, *SACN_UNIVERSES, "sACN"))

    @field_validator("source_name")
    @classmethod
    def _name_fits(cls, v: str) -> str:
        if len(v.encode("utf-8")) > 63:
            raise ValueError(f"at most 63 bytes in UTF-8 (E1.31's field), got {len(v.encode('utf-8'))}")
        return v


class ArtnetOutputConfig(_Strict):
    """``[[outputs]]`` with ``kind = "artnet"``: the fixtures' DMX universes as Art-Net (ArtDmx) to a node
    (unicast, or a broadcast address). Universes are Art-Net port-addresses, numbered from 0."""

    kind: Literal["artnet"]
    name: str | None = Field(None, description="a label for the operator")
    universes: list[int] = Field(min_length=1, description="port-addresses sent, 0..32767 (net, sub-net, universe)")
    host: str = Field(description="the node's IP address (or a broadcast address such as 2.255.255.255)")
    interface: str | None = Field(None, description="the IP address of this machine's network interface to send "
                                  "from (none: the one the route to the node takes)")
    port: int = Field(6454, ge=1, le=65535, description="UDP port (Art-Net's is 6454)")
    rate_hz: float = Field(40.0, gt=0.0, le=44.0, description="most frames per second per universe (DMX's own limit is 44)")
    source_name: str = Field("Eco-Symphony", min_length=1, description="a label for the operator")

    _host = field_validator("host", "interface")(lambda cls, v: v if v is None else _check_ip(v))
    _universes = field_validator("universes")(lambda cls, v: _check_universes(v, *ARTNET_UNIVERSES, "Art-Net"))


LightOutputConfig = Union[SacnOutputConfig, ArtnetOutputConfig]
LIGHT_KINDS = ("sacn", "artnet")

FixtureLayout = Literal["dimmer", "rgb", "rgbw", "rgb+dimmer", "strip"]
#: The channel names a custom fixture may use; ``strobe`` and ``unused`` are held at 0.
FIXTURE_CHANNELS = ("red", "green", "blue", "white", "amber", "uv", "dimmer", "strobe", "unused")


class FixtureConfig(_Strict):
    """``[[fixtures]]``: a light at a DMX address, with a layout (or its own list of channels).

    Its parameters are mapping targets: ``light.<name>.intensity``, ``.hue``, ``.saturation``,
    ``.pulse`` (a trigger) and, for a strip, ``.wave`` (a trigger) and ``.segment.p*``."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="its name in addresses: light.<name>.hue")
    universe: int = Field(ge=0, le=63999, description="the universe, numbered as its output's protocol numbers them")
    address: int = Field(1, ge=1, le=512, description="the first DMX channel, 1..512")
    layout: FixtureLayout | None = Field(None, description="dimmer, rgb, rgbw, rgb+dimmer or strip")
    pixels: int | None = Field(None, ge=1, le=170, description="strip: how many RGB pixels")
    channels: list[str] | None = Field(None, min_length=1, description="a custom layout: each channel's name in order")
    hue: float = Field(0.5, ge=0.0, le=1.0, description="colour before a mapping sets it (0..1 round the colour wheel)")
    pulse_s: float = Field(0.3, gt=0.0, le=10.0, description="how long a pulse takes to fade (time constant, seconds)")
    wave_s: float = Field(1.5, gt=0.0, le=30.0, description="strip: how long a wave takes to travel its length")

    @field_validator("channels")
    @classmethod
    def _known_channels(cls, v: list[str] | None) -> list[str] | None:
        for name in v or []:
            if name not in FIXTURE_CHANNELS:
                close = difflib.get_close_matches(name, FIXTURE_CHANNELS, n=1)
                hint = f"; did you mean '{close[0]}'?" if close else f"; one of: {', '.join(FIXTURE_CHANNELS)}"
                raise ValueError(f"unknown channel name '{name}'{hint}")
        return v

    @model_validator(mode="after")
    def _one_layout(self) -> "FixtureConfig":
        if (self.layout is None) == (self.channels is None):
            raise ValueError("give a layout (dimmer, rgb, rgbw, rgb+dimmer, strip) or channels = [...], not both")
        if self.layout == "strip" and self.pixels is None:
            raise ValueError("a strip needs pixels = N (how many RGB pixels)")
        if self.layout != "strip" and self.pixels is not None:
            raise ValueError("pixels is for layout = \"strip\"")
        return self


class LightsConfig(_Strict):
    """``[lights]``: what the lights show when the show is not driving them, and flash safety."""

    house: float = Field(0.0, ge=0.0, le=1.0, description="the house look's level, 0..1 (0: dark), shown on stop, "
                         "after a crash and while the show stalls")
    house_color: str = Field("#ffffff", pattern=r"^#[0-9a-fA-F]{6}$", description="the house look's colour, #rrggbb")
    flash_limit: bool = Field(True, description="limit how often any fixture flashes (photosensitive audiences)")
    max_flashes_per_s: float = Field(3.0, gt=0.0, le=3.0, description="most flashes a second (3 at most: the "
                                     "broadcast guidance)")


class LinkConfig(_Strict):
    """``[link]``: Ableton Link. The session's tempo follows a feature (the group's heart rate),
    smoothed and kept within bounds, while the show leads the session; the session's beat grid
    comes back as the features ``link.phase``, ``link.tempo``, ``link.peers`` and the events
    ``link.beat``, ``link.downbeat``."""

    enabled: bool = Field(False, description="join the Ableton Link session on the networks of this machine")
    feature: str = Field("group.heart.bpm", description="the feature (beats per minute) the tempo follows: "
                         "a group feature, or one wearer's such as p1.heart.bpm")
    min_bpm: float = Field(60.0, ge=20.0, le=999.0, description="slowest tempo the show sets, beats per minute")
    max_bpm: float = Field(160.0, ge=20.0, le=999.0, description="fastest tempo the show sets, beats per minute")
    smooth_s: float = Field(8.0, ge=0.0, le=600.0, description="time constant of the tempo's smoothing, seconds")
    quantum: int = Field(4, ge=1, le=64, description="beats per bar (link.phase runs 0..1 over a bar)")
    lead: bool = Field(False, description="false: join quietly (never change the tempo of a session that had "
                       "one, or that another peer changed); true: the show sets the tempo always")

    @field_validator("feature")
    @classmethod
    def _known_feature(cls, v: str) -> str:
        head, _, rest = v.partition(".")
        if v in GROUP_FEATURES or (WEARER_RE.fullmatch(head) and head != "p*" and rest in WEARER_FEATURES):
            return v
        if head in ("p*", "any"):
            raise ValueError(f"the tempo follows one value: name one wearer ('p1.{rest}') or the group "
                             f"('group.heart.bpm'), not every wearer (got {v!r})")
        known = [*GROUP_FEATURES, *(f"p1.{k}" for k in WEARER_FEATURES)]
        close = difflib.get_close_matches(v, known, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else "; e.g. 'group.heart.bpm' or 'p1.heart.bpm'"
        raise ValueError(f"not a group feature nor one wearer's feature{hint} (got {v!r})")

    @field_validator("max_bpm")
    @classmethod
    def _above_min(cls, v: float, info: Any) -> float:
        low = info.data.get("min_bpm")
        if low is not None and v <= low:
            raise ValueError(f"must be above min_bpm ({low:g})")
        return v


def _check_pattern(pattern: str) -> str:
    if not pattern.strip() or " " in pattern:
        raise ValueError(f"an address pattern such as 'p*.heart.beat', got {pattern!r}")
    return pattern


def _check_range(v: tuple[float, float]) -> tuple[float, float]:
    if v[0] == v[1]:
        raise ValueError(f"needs two different ends, got {list(v)}")
    return v


MidiChannel = Annotated[int, Field(ge=1, le=16)]
MidiData = Annotated[int, Field(ge=0, le=127)]


class CareSensorsConfig(_Strict):
    """``[care.sensors]``: warnings that a wearer's sensor is likely to fail soon (for the operator only)."""

    enabled: bool = Field(True, description="watch each channel's trend and warn before it fails")
    # How far ahead, and from how much history. A minute is what a steward needs to reach a
    # wearer and press a sensor back on; 40 s of history at one reading a second gives the
    # robust (Theil-Sen) line 40 points, enough that one odd second does not move it, and is
    # short enough that a loosening sensor (which takes a minute or two) is seen early.
    horizon_s: float = Field(60.0, gt=0.0, le=600.0, description="warn when a channel is forecast to fail within "
                             "this many seconds")
    window_s: float = Field(40.0, ge=5.0, le=600.0, description="seconds of each channel's history the trend "
                            "is fitted to")
    min_span_s: float = Field(20.0, ge=2.0, le=600.0, description="the history must cover this many seconds "
                              "before a trend is trusted (after a start or a recovery)")
    sample_period_s: float = Field(1.0, gt=0.0, le=10.0, description="how often each channel's measures are "
                                   "read into its trend, seconds")
    # A steady move, not a wobble: Kendall's tau of the window towards failure. 0.5 means three
    # pairs of readings in four agree; a stable channel with noise sits near 0.
    min_agreement: float = Field(0.5, ge=0.0, le=1.0, description="how steadily (Kendall's tau, 0..1) a measure "
                                 "must move towards failure")
    # A steady move, not a step: a wearer who starts walking drops their pulse's quality at once
    # and it stays low while they walk; a loosening sensor declines all along. Each quarter of the
    # window must be beyond the one before by a tenth of the whole change.
    steady_share: float = Field(0.1, ge=0.0, le=0.33, description="each quarter of the window must be beyond the "
                                "one before by this share of the whole change (0: a step counts too)")
    # Hysteresis: the forecast must hold this long before it is told (a dip shorter than this
    # never is), and be gone this long before the notice ends.
    rise_s: float = Field(3.0, ge=0.0, le=120.0, description="seconds a forecast must hold before the warning "
                          "is raised")
    fall_s: float = Field(10.0, ge=0.0, le=600.0, description="seconds a forecast must be gone before the "
                          "warning ends")
    # Quality (0..1): a channel in a bad state has quality 0.2 at most; a usable pulse stays above
    # 0.5 (a noisy one is scaled by 0.4). A fall of 0.25 in the window is more than a healthy
    # channel's regularity wanders.
    quality_limit: float = Field(0.3, gt=0.0, lt=1.0, description="the quality (0..1) at which a channel is "
                                 "counted as failed")
    quality_min_fall: float = Field(0.25, gt=0.0, le=1.0, description="how far the quality must have fallen "
                                    "over the window")
    # Pulse size (contact of a heart sensor): a loosening PPG's pulse shrinks as its contact goes
    # (a loose ECG electrode's R wave too), steadily, while walking makes the wave bigger, not
    # smaller. A pulse forecast to shrink to a third of its size at the window's start within
    # the horizon, having lost a quarter already, is failing; vasoconstriction (cold, a startle)
    # shrinks it too, but in a step that passes, which steady_share leaves out.
    pulse_limit_share: float = Field(0.33, gt=0.0, lt=1.0, description="a heart channel fails when its pulse has "
                                     "shrunk to this share of its size at the window's start")
    pulse_min_fall: float = Field(0.25, gt=0.0, lt=1.0, description="share of its size the pulse must have lost "
                                  "over the window")
    # Skin conductance: the core calls an electrode off the skin below 0.05 uS; a resting level
    # is 1-20 uS and drifts by a few per cent a minute, while a loosening electrode halves it.
    eda_contact_limit_us: float = Field(0.05, gt=0.0, le=10.0, description="the skin-conductance level at which "
                                        "the electrodes are off the skin (the core's own limit)")
    eda_min_fall: float = Field(0.5, gt=0.0, lt=1.0, description="share of its level the skin conductance must "
                                "have lost over the window")
    # Links: the share of packets lost or corrupt. At half lost the pulse wave has holes a beat
    # detector cannot bridge; a rise of 0.15 is beyond the odd burst of a busy radio.
    loss_limit: float = Field(0.5, gt=0.0, le=1.0, description="the share of packets lost or corrupt at which a "
                              "link is counted as failed")
    loss_min_rise: float = Field(0.15, gt=0.0, le=1.0, description="how far the share lost must have risen "
                                 "over the window")
    # Batteries: EmotiBit's percentage falls by a few per cent an hour, then quickly at the end;
    # it switches off around a few per cent. Below 10 % the operator is told in any case.
    battery_empty_percent: float = Field(5.0, ge=0.0, le=100.0, description="the battery level (percent) at "
                                         "which the device switches off")
    battery_low_percent: float = Field(10.0, ge=0.0, le=100.0, description="at or below this battery level "
                                       "(percent) the operator is told, whatever the trend")
    battery_min_fall: float = Field(3.0, gt=0.0, le=100.0, description="how far (percent) the battery must have "
                                    "fallen over the window for its trend to count")

    @field_validator("min_span_s")
    @classmethod
    def _within_window(cls, v: float, info: Any) -> float:
        window = info.data.get("window_s")
        if window is not None and v > window:
            raise ValueError(f"must not exceed window_s ({window:g})")
        return v


class MidiNote(_Strict):
    """One entry of ``notes`` in a MIDI output: a note on each event that ``from`` selects, on the
    wearer's channel, its pitch fixed or from a feature, its velocity from the event's value."""

    source: str = Field(alias="from", description="event pattern, e.g. p*.heart.beat or p*.eda.scr")
    pitch: MidiData = Field(60, description="the note (60 = middle C) when pitch_from is not set")
    pitch_from: str | None = Field(None, description="a feature that chooses the pitch (p* = the event's wearer), "
                                   "e.g. p*.eda.arousal")
    pitch_in_range: tuple[float, float] = Field((0.0, 1.0), description="pitch_from's values mapped onto pitch_range")
    pitch_range: tuple[MidiData, MidiData] = Field((48, 72), description="lowest and highest note from pitch_from")
    scale: ScaleName = Field(
        "chromatic", description="pitch_from's notes snap to this scale, rooted on pitch_range's lowest note")
    velocity: tuple[MidiData, MidiData] = Field(
        (100, 100), description="a fixed velocity, or [low, high] reached across value_range (0 is sent as 1: a "
        "note-on of velocity 0 would be a note-off)")
    value_range: tuple[float, float] = Field((40.0, 180.0), description="the event's value (a beat: bpm) mapped "
                                             "onto the velocity's [low, high]")
    length_s: float = Field(0.1, gt=0.0, le=10.0, description="seconds until the note-off")

    _pattern = field_validator("source", "pitch_from")(lambda cls, v: v if v is None else _check_pattern(v))
    _ranges = field_validator("pitch_in_range", "value_range")(lambda cls, v: _check_range(v))

    @field_validator("velocity", mode="before")
    @classmethod
    def _one_velocity(cls, v: Any) -> Any:
        return (v, v) if isinstance(v, int) and not isinstance(v, bool) else v

    @field_validator("pitch_range")
    @classmethod
    def _pitches_ordered(cls, v: tuple[int, int]) -> tuple[int, int]:
        if v[0] > v[1]:
            raise ValueError(f"lowest note first, got {list(v)}")
        return v


class MidiControl(_Strict):
    """One entry of ``cc`` in a MIDI output: a control change that follows a feature, 0..127 across
    ``in_range``, sent when the value changes, at most ``rate_hz`` times a second."""

    source: str = Field(alias="from", description="feature pattern, e.g. p*.eda.arousal or group.sync")
    cc: int = Field(ge=0, le=119, description="controller number (0..119; 120..127 are channel-mode messages)")
    in_range: tuple[float, float] = Field((0.0, 1.0), description="the feature's values mapped onto 0..127")
    channel: MidiChannel | None = Field(None, description="channel 1..16 (default: the wearer's; else the "
                                        "output's channel)")
    rate_hz: float = Field(20.0, gt=0.0, le=1000.0, description="most messages per second per controller")

    _pattern = field_validator("source")(lambda cls, v: _check_pattern(v))
    _range = field_validator("in_range")(lambda cls, v: _check_range(v))


class MidiOutputConfig(_Strict):
    """``[[outputs]]`` with ``kind = "midi"``: notes on events, control changes from features and
    MIDI clock from the group's heart rate, to a MIDI port (by name) or a virtual port of our own."""

    kind: Literal["midi"]
    name: str | None = Field(None, description="a label for the operator; the virtual port's name")
    port: str | None = Field(None, description="the port to send to: its name, a part of it, or match:<glob>")
    virtual: bool = Field(False, description="make a port of our own for a program on this machine (a DAW) to "
                          "connect to, instead of choosing one")
    api: Literal["auto", "jack", "alsa"] = Field("auto", description="MIDI system: jack, alsa, or auto (JACK "
                                                 "when a JACK server runs, else ALSA)")
    channels: dict[str, MidiChannel] = Field(default_factory=dict, description="wearer slot -> channel 1..16 "
                                             "(default: p1 -> 1, p2 -> 2, ..., p17 -> 1 again)")
    channel: MidiChannel = Field(1, description="channel 1..16 of what belongs to no wearer (group features)")
    notes: list[MidiNote] = Field(default_factory=list)
    cc: list[MidiControl] = Field(default_factory=list)
    clock: bool = Field(False, description="send MIDI clock (24 per quarter note), start and stop, at the tempo "
                        "of clock_from")
    clock_from: str = Field("group.heart.bpm", description="the feature that sets the tempo, beats per minute")
    clock_bpm_range: tuple[float, float] = Field((50.0, 160.0), description="the tempo is held within these bounds")
    clock_smooth_s: float = Field(4.0, ge=0.0, le=120.0, description="time constant of the tempo's smoothing, s")

    @field_validator("channels")
    @classmethod
    def _channel_slots(cls, v: dict[str, int]) -> dict[str, int]:
        _check_slots(list(v))
        return v

    @field_validator("clock_bpm_range")
    @classmethod
    def _tempo_bounds(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not 10.0 <= v[0] < v[1] <= 400.0:
            raise ValueError(f"needs 10 <= low < high <= 400 beats per minute, got {list(v)}")
        return v

    @field_validator("port", "name")
    @classmethod
    def _not_blank(cls, v: str | None) -> str | None:
        if v is not None and not v.strip():
            raise ValueError("must not be empty")
        return v

    @model_validator(mode="after")
    def _one_port(self) -> "MidiOutputConfig":
        if self.virtual and self.port is not None:
            raise ValueError("give either port = \"...\" (a port that exists) or virtual = true (a port of our "
                             "own, named by name), not both")
        if not self.virtual and self.port is None:
            raise ValueError("port = \"...\" names the port to send to (ecosymphony devices lists them), "
                             "or virtual = true makes one of our own")
        if not (self.notes or self.cc or self.clock):
            raise ValueError("nothing to send: give notes = [...], cc = [...] and/or clock = true")
        return self


OutputConfig = Annotated[Union[OscOutputConfig, LslOutputConfig, MidiOutputConfig, SacnOutputConfig, ArtnetOutputConfig],
                         Field(discriminator="kind")]


class RacingHeartRule(_Strict):
    """``[care.welfare.racing_heart]``: a heart racing well above the wearer's own rest, sustained."""

    enabled: bool = True
    above_baseline_bpm: float = Field(40.0, gt=0.0, le=150.0, description="beats per minute above the wearer's own baseline")
    above_bpm: float = Field(150.0, ge=60.0, le=250.0, description="or above this rate whatever the baseline, bpm")
    for_s: float = Field(30.0, gt=0.0, le=600.0, description="held this long before the notice, seconds")


class ScrStormRule(_Strict):
    """``[care.welfare.scr_storm]``: skin-conductance responses far above the wearer's own rate, sustained."""

    enabled: bool = True
    factor: float = Field(3.0, ge=1.0, le=50.0, description="times the wearer's own rate of responses")
    min_per_min: float = Field(15.0, gt=0.0, le=120.0, description="and at least this many responses in the last minute")
    for_s: float = Field(30.0, gt=0.0, le=600.0, description="held this long before the notice, seconds")


class IrregularRhythmRule(_Strict):
    """``[care.welfare.irregular_rhythm]``: a share of ectopic or implausible beat intervals well above the
    wearer's own, over a minute."""

    enabled: bool = True
    above_baseline: float = Field(0.2, gt=0.0, le=1.0, description="share of irregular beats above the wearer's own share")
    min_share: float = Field(0.25, gt=0.0, le=1.0, description="and at least this share of irregular beats")
    window_s: float = Field(60.0, ge=5.0, le=600.0, description="over this much good heart signal, seconds")


class HeartLostRule(_Strict):
    """``[care.welfare.heart_lost]``: a heart rate that disappears while the skin sensor says it is on the skin."""

    enabled: bool = True
    for_s: float = Field(15.0, gt=0.0, le=600.0, description="the heart gone this long (the skin sensor on), seconds")


class CareWelfareConfig(_Strict):
    """``[care.welfare]``: per wearer, against their own baseline, conditions a steward should look at
    (for the operator only; not medical advice)."""

    enabled: bool = Field(True, description="watch every wearer; a rule that holds raises a notice")
    baseline_s: float = Field(120.0, ge=5.0, le=1800.0, description="each wearer's own baseline: their first "
                              "seconds of good signal (and again after a re-baseline)")
    withdraw: bool = Field(False, description="while a notice stands, take that wearer's voice and light out of the "
                           "piece (faded over withdraw_fade_s); they come back when it ends")
    withdraw_fade_s: float = Field(5.0, ge=0.0, le=60.0, description="the fade out and back in, seconds")
    racing_heart: RacingHeartRule = Field(default_factory=RacingHeartRule)
    scr_storm: ScrStormRule = Field(default_factory=ScrStormRule)
    irregular_rhythm: IrregularRhythmRule = Field(default_factory=IrregularRhythmRule)
    heart_lost: HeartLostRule = Field(default_factory=HeartLostRule)


class CareNotifyConfig(_Strict):
    """``[care.notify]``: each welfare notice as OSC to a steward's phone or desk (off unless a port is given)."""

    host: str = Field("127.0.0.1", description="the steward's device's IP address")
    port: int | None = Field(None, ge=1, le=65535, description="its UDP port; unset: no notification is sent")
    address: str = Field("/ecosymphony/care", pattern=r"^/[^\s#*,?\[\]{}]*$",
                         description="OSC address; a notice goes to ADDRESS/raised, its end to ADDRESS/cleared")

    _host = field_validator("host")(lambda cls, v: _check_ip(v))


class CareConfig(_Strict):
    """``[care]``: the welfare watch over the wearers and the sensor warnings (for the operator only,
    never shown to the audience; not medical advice)."""

    sensors: CareSensorsConfig = Field(default_factory=CareSensorsConfig)
    welfare: CareWelfareConfig = Field(default_factory=CareWelfareConfig)
    notify: CareNotifyConfig = Field(default_factory=CareNotifyConfig)


class Show(_Strict):
    """A whole show file."""

    show: ShowInfo = Field(default_factory=ShowInfo)
    sources: list[SourceConfig] = Field(default_factory=list)
    core: CoreConfig = Field(default_factory=CoreConfig)
    sound: SoundConfig = Field(default_factory=SoundConfig)
    visual: VisualConfig = Field(default_factory=VisualConfig)
    mappings: list[Mapping] = Field(default_factory=list)
    scenes: list[Scene] = Field(default_factory=list)
    osc_out: OscOut = Field(default_factory=OscOut)
    record: RecordConfig = Field(default_factory=RecordConfig)
    outputs: list[OutputConfig] = Field(default_factory=list)
    link: LinkConfig = Field(default_factory=LinkConfig)
    fixtures: list[FixtureConfig] = Field(default_factory=list)
    lights: LightsConfig = Field(default_factory=LightsConfig)
    lsl: LslNetConfig = Field(default_factory=LslNetConfig)
    care: CareConfig = Field(default_factory=CareConfig)
    path: Path | None = Field(None, exclude=True, description="file it was loaded from")

    @model_validator(mode="after")
    def _has_mappings(self) -> "Show":
        if not self.mappings:
            raise ValueError("a show needs at least one [[mappings]] entry")
        names = [m.name for m in self.mappings if m.name]
        if len(names) != len(set(names)):
            raise ValueError(f"mapping names must be unique: {sorted(n for n in names if names.count(n) > 1)}")
        scene_names = [sc.name for sc in self.scenes]
        if len(scene_names) != len(set(scene_names)):
            raise ValueError("scene names must be unique")
        for i, scene in enumerate(self.scenes):
            for name in scene.mappings:
                if name not in names:
                    close = difflib.get_close_matches(name, names, n=1)
                    hint = f"; did you mean '{close[0]}'?" if close else ""
                    raise ValueError(f"scenes[{i}].mappings: no mapping is named '{name}'{hint}")
        return self

    def resolve(self, relative: str) -> Path:
        """A path named in the show, relative to the show file's folder."""
        base = self.path.parent if self.path else Path.cwd()
        return (base / relative).resolve()

    def patch_path(self) -> Path:
        """The sound patch's file.

        A path (relative to the show file, or absolute) is taken as it is. A bare
        name (``eco_symphony`` or ``eco_symphony.py``) is looked for beside the show
        file first, then among the patches that come with the program, so that a
        show file copied to any folder still finds them.

        Raises
        ------
        ConfigError
            A bare name found in neither place (naming both, and the shipped patches).
        """
        name = self.sound.patch
        beside = self.resolve(name)
        bare = name not in ("", ".", "..") and "/" not in name and "\\" not in name and not Path(name).is_absolute()
        if not bare or beside.is_file():
            return beside
        names = [name] if name.endswith(".py") else [name, name + ".py"]
        for folder in (beside.parent, PATCHES_DIR):
            for candidate in names:
                if (folder / candidate).is_file():
                    return (folder / candidate).resolve()
        shipped = ", ".join(shipped_patches()) or "none"
        raise ConfigError(f"{beside}: no such patch file, and no patch of that name comes with the program "
                          f"(looked in {PATCHES_DIR}; shipped patches: {shipped})")


_SOURCE_TAGS = {"simulated", "serial", "osc", "lsl", "midi", "sacn", "artnet"}


def _without_tags(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """Drop the union tag pydantic puts after a list index (``sources[0].osc.port``)."""
    return tuple(p for i, p in enumerate(loc) if not (i and isinstance(loc[i - 1], int) and p in _SOURCE_TAGS))


def _key_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in _without_tags(loc):
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The schema model that owns the key at ``loc`` (for spelling suggestions)."""
    model: Any = Show
    tagged: dict[str, type[BaseModel]] = {"simulated": SimulatedSource, "serial": SerialSourceConfig,
                                          "osc": OscSourceConfig, "lsl": LslSourceConfig}
    if loc and loc[0] == "outputs":
        tagged = {"osc": OscOutputConfig, "lsl": LslOutputConfig, "midi": MidiOutputConfig, "sacn": SacnOutputConfig,
                  "artnet": ArtnetOutputConfig}
    for i, part in enumerate(loc[:-1]):
        if isinstance(part, int):
            continue
        if i and isinstance(loc[i - 1], int) and part in tagged:
            model = tagged[part]
            continue
        field = model.model_fields.get(part) if isinstance(model, type) and issubclass(model, BaseModel) else None
        if field is None:
            return None
        ann = field.annotation
        args = getattr(ann, "__args__", ())
        model = next((a for a in (ann, *args) if isinstance(a, type) and issubclass(a, BaseModel)), None)
    return model if isinstance(model, type) else None


def _describe(err: dict[str, Any]) -> str:
    loc = tuple(err["loc"])
    where = _key_path(loc)
    if err["type"] == "extra_forbidden":
        model = _model_at(loc)
        names = [f.alias or n for n, f in model.model_fields.items() if n != "path"] if model else []
        close = difflib.get_close_matches(str(loc[-1]), names, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else (f"; valid keys: {', '.join(names)}" if names else "")
        return f"{where}: unknown key{hint}"
    if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
        ctx = err.get("ctx", {})
        tags = [t.strip(" '") for t in str(ctx.get("expected_tags", "")).split(",") if t.strip(" '")]
        tag = ctx.get("tag")
        if tag is None:
            kinds = {"sources": "'simulated', 'serial', 'osc', 'lsl'", "outputs": "'osc', 'lsl', 'midi', 'sacn', 'artnet'"}.get(str(loc[0]) if loc else "", "")
            return f"{where}.kind: missing" + (f"; one of: {kinds}" if kinds else "")
        close = difflib.get_close_matches(str(tag), tags, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        return f"{where}.kind: unknown kind '{tag}'; one of: {', '.join(repr(t) for t in tags)}{hint}"
    msg = err["msg"].removeprefix("Value error, ")
    got = err.get("input")
    if err["type"] != "missing" and "got" not in msg and not isinstance(got, (dict, list)):
        msg += f" (got {got!r})"
    if err["type"] in ("literal_error", "enum") and isinstance(got, str):
        choices = re.findall(r"'([^']*)'", str(err.get("ctx", {}).get("expected", "")))
        close = difflib.get_close_matches(got, choices, n=1) or difflib.get_close_matches(got.lower(), choices, n=1)
        if close:
            msg += f"; did you mean '{close[0]}'?"
    return f"{where}: {msg}"


def _schema_error(origin: str, exc: ValidationError) -> ConfigError:
    problems = "\n".join(f"  - {_describe(e)}" for e in exc.errors())
    return ConfigError(f"{origin}: invalid show file:\n{problems}")


def parse_source(fields: dict[str, Any], origin: str = "<command line>") -> "SourceConfig":
    """Validate one source entry (as ``[[sources]]`` holds it, ``kind`` included).

    Raises
    ------
    ConfigError
        Naming ``origin`` and every key that is wrong.
    """
    try:
        return _SOURCE_ADAPTER.validate_python(fields)
    except ValidationError as exc:
        problems = "\n".join(f"  - {_describe(e)}" for e in exc.errors())
        raise ConfigError(f"{origin}: invalid source:\n{problems}") from None


def _toml(text: str, origin: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{origin}: not valid TOML: {exc}") from None


def parse_show(text: str, origin: str = "<show>", path: Path | None = None) -> Show:
    """Parse and validate show-file text; raise :class:`ConfigError` naming ``origin``."""
    data = _toml(text, origin)
    try:
        return Show.model_validate({**data, "path": path})
    except ValidationError as exc:
        raise _schema_error(origin, exc) from None


def _read(p: Path) -> str:
    try:
        return p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{p}: no such show file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read show file: {exc}") from None


def load_show(path: str | Path) -> Show:
    """Load and validate a show file.

    Raises
    ------
    ConfigError
        When the file is missing, not TOML, or breaks the schema.
    """
    p = Path(path)
    return parse_show(_read(p), str(p), p.resolve())


def _stand_in(section: str, index: int, old: Any) -> dict[str, Any]:
    """An entry that passes every check, put in place of a refused one so that the entries after
    it keep their index (``mappings[3]``) in the messages of the checks that follow the schema's."""
    if section == "mappings":
        name = old.get("name") if isinstance(old, dict) else None
        return {"from": "group.sync", "to": "visual.bloom", **({"name": name} if isinstance(name, str) else {})}
    if section == "scenes":
        return {"name": f"scenes[{index}]"}
    if section == "outputs":
        return {"kind": "lsl", "send": ["group.sync"]}
    return {"kind": "simulated"}


_LISTS = ("sources", "mappings", "scenes", "outputs")


def _mend(data: dict[str, Any], loc: tuple[Any, ...]) -> bool:
    """Take out of ``data`` what a schema error at ``loc`` points at, so that the rest validates:
    the key (a section's value falls back to its default), or a whole entry of a top-level list
    (replaced by a stand-in). False when there is nothing to take out."""
    if not loc:  # the whole show: mapping names and the scenes' references to them
        changed = False
        for entry in data.get("mappings", []) if isinstance(data.get("mappings"), list) else []:
            changed |= isinstance(entry, dict) and entry.pop("name", None) is not None
        for i, entry in enumerate(data.get("scenes", []) if isinstance(data.get("scenes"), list) else []):
            if isinstance(entry, dict) and (entry.get("mappings") or entry.get("name") != f"scenes[{i}]"):
                entry.pop("mappings", None)
                entry["name"] = f"scenes[{i}]"
                changed = True
        return changed
    nodes: list[Any] = [data]
    path: list[Any] = []
    for part in _without_tags(loc):
        node = nodes[-1]
        if not (isinstance(node, dict) and part in node
                or isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)):
            break
        path.append(part)
        nodes.append(node[part])
    while len(path) > 2 and isinstance(nodes[len(path) - 1], list):  # one item of a value: the whole value
        path.pop()
    if not path:
        return False
    container = nodes[len(path) - 1]
    if len(path) == 2 and path[0] in _LISTS:
        container[path[1]] = _stand_in(path[0], path[1], container[path[1]])
    else:
        del container[path[-1]]
    return True


def load_show_for_check(path: str | Path) -> tuple[Show | None, ConfigError | None]:
    """A show file, and what the schema refuses in it, for a check that reports every problem at once.

    When the schema refuses something, the show returned is the file without it (a refused
    key is left at its default, a refused list entry replaced by a stand-in), so that the
    patch and the addresses can still be checked; None when nothing checkable is left (the
    file is missing or not TOML, or has no mapping).
    """
    p = Path(path)
    try:
        data = _toml(_read(p), str(p))
    except ConfigError as exc:
        return None, exc
    try:
        return Show.model_validate({**data, "path": p.resolve()}), None
    except ValidationError as exc:
        error, errors = _schema_error(str(p), exc), exc.errors()
    for _ in range(8):  # each round takes out at least one thing; a few rounds settle any real file
        mended = [_mend(data, tuple(e["loc"])) for e in errors]
        if not any(mended):
            break
        try:
            return Show.model_validate({**data, "path": p.resolve()}), error
        except ValidationError as exc:
            errors = exc.errors()
    return None, error


HubConfig.model_rebuild()
