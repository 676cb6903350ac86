"""The show's health as plain records: what the operator console and the window's
overlay show, and the faults the show lived through.

Made by the live runtime (:meth:`installation.runtime.session.Session.operator_status`),
read by the console and sent to the visuals process (pickled in a snapshot); no
drawing and no threads here.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class WearerStatus:
    """One wearer's line: heart rate (bpm), SCRs in the last minute, quality 0..1, channel states,
    skin-conductance level (the sensor's unit, microsiemens when calibrated) and seconds since
    their last sample arrived (NaN: never)."""

    wearer: str
    bpm: float = math.nan
    scr_rate: float = math.nan
    quality: float = 0.0
    state: str = "learning"
    scl: float = math.nan
    last_seen_s: float = math.nan


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """One source's line: its name, whether it is healthy, and a few words of detail."""

    name: str
    ok: bool = True
    detail: str = ""


@dataclass(frozen=True, slots=True)
class RenderNodeStatus:
    """A render node connected to the conductor's scene server (``ecosymphony visuals --from``).

    Attributes
    ----------
    address : str
        The node's IP address.
    tile : str
        Which tile of the wall it draws (``2/3``), as it said in its pings; empty before its first.
    behind : int
        Snapshots the conductor had published that the node had not yet applied, at its last
        ping (-1: not known yet).
    connected_s : float
        Seconds it has been connected.
    """

    address: str
    tile: str = ""
    behind: int = -1
    connected_s: float = 0.0


@dataclass(frozen=True, slots=True)
class OperatorStatus:
    """What the operator sees.

    Attributes
    ----------
    wearers : list of WearerStatus
        Per wearer, in slot order.
    loop_latency_ms : float
        Median block arrival -> trigger fired in the core, over the last triggers, milliseconds.
    audio_xruns : int
        Audio buffers that came late (or JACK reported lost) so far.
    sources : list of SourceStatus
        Per source (OSC, serial, LSL, simulated).
    scene : str
        The scene playing, if the show has scenes.
    panicked : bool
        The sound is muted by the panic key.
    notices : list of Notice
        The notices standing now (welfare, sensors about to fail), oldest first.
    """

    wearers: list[WearerStatus] = field(default_factory=list)
    loop_latency_ms: float = math.nan
    audio_xruns: int = 0
    sources: list[SourceStatus] = field(default_factory=list)
    scene: str = ""
    panicked: bool = False
    notices: list["Notice"] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Fault:
    """Something that went wrong while the show went on.

    Attributes
    ----------
    wall_time_s : float
        When, in Unix seconds (for the log and the console).
    part : str
        What failed: ``"source <name>"``, ``"core"``, ``"sound"``, ``"visuals"``,
        ``"signal p1.heart"``, ``"recording"``, ``"thread reader-0"``.
    message : str
        What happened, and what the show did about it.
    """

    wall_time_s: float
    part: str
    message: str

    def line(self) -> str:
        """``HH:MM:SS.mmm part: message`` in local time."""
        stamp = time.strftime("%H:%M:%S", time.localtime(self.wall_time_s))
        return f"{stamp}.{int(self.wall_time_s * 1000) % 1000:03d} {self.part}: {self.message}"


@dataclass(frozen=True, slots=True)
class Notice:
    """Something about one wearer that the operator should look at: for the operator only,
    never drawn for the audience.

    Attributes
    ----------
    wall_time_s : float
        When it was raised, in Unix seconds.
    wearer : str
        The slot (``p3``).
    rule : str
        Dotted name of what raised it (``care.racing_heart``, ``sensor.heart_failing``).
    message : str
        What was seen, in words and figures
        (``p3: heart sensor failing, likely within a minute (quality 0.9 -> 0.5 over 40 s)``).
    """

    wall_time_s: float
    wearer: str
    rule: str
    message: str

    @property
    def key(self) -> tuple[str, str]:
        """``(wearer, rule)``: at most one notice stands per wearer and rule."""
        return (self.wearer, self.rule)

    def line(self) -> str:
        """``HH:MM:SS message`` in local time."""
        return f"{time.strftime('%H:%M:%S', time.localtime(self.wall_time_s))} {self.message}"
