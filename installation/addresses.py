"""Dotted addresses shared by features, events and parameters.

Features and events: ``p1.heart.bpm``, ``p2.heart.beat``, ``group.eda.arousal``.
Parameters: ``sound.drone.brightness``, ``sound.p1.pulse``, ``visual.p3.hue``.
A wearer part ``p*`` stands for every wearer.
"""

from __future__ import annotations

import re
from typing import Literal, get_args

ParameterKind = Literal["continuous", "trigger"]
WEARER_RE = re.compile(r"p(\d+|\*)")
#: What a block of samples (or a reading) holds: a waveform (``ppg``, ``ecg``, ``eda``), a
#: device's own figures (``bpm``; ``ibi``, a beat it found, in seconds) or acceleration (``acc``,
#: its magnitude, or one axis: ``acc_x``, ``acc_y``, ``acc_z``), a consent button (``consent``: 1 when the
#: wearer agrees to be recorded; ``[record] consent = "device"``; the signal core ignores it), or the
#: device's battery level (``battery``, percent).
SignalKind = Literal["ppg", "ecg", "eda", "bpm", "ibi", "acc", "acc_x", "acc_y", "acc_z", "consent", "battery"]
SIGNAL_KINDS: tuple[SignalKind, ...] = get_args(SignalKind)

#: Features every wearer publishes, with their units.
WEARER_FEATURES: dict[str, str] = {
    "heart.bpm": "heart rate, beats per minute",
    "heart.bpm_change": "heart rate minus the wearer's baseline rate, beats per minute",
    "heart.ibi": "last normal inter-beat interval, seconds",
    "heart.rmssd": "RMSSD of normal intervals over the last minute, milliseconds",
    "heart.sdnn": "SDNN of normal intervals over the last minute, milliseconds",
    "heart.next_in": "seconds until the predicted next beat (negative: overdue)",
    "heart.quality": "heart signal quality, 0..1",
    "heart.irregular": "share of the last 8 beats whose interval was implausible or out of the rhythm "
                       "(ectopic, missed, doubled), 0..1 (NaN before any beat)",
    "heart.pulse_size": "the typical height of a pulse (or an R wave) lately, in the waveform's units; it shrinks "
                        "as a sensor loosens (NaN without a waveform)",
    "eda.scl": "skin-conductance level, microsiemens (sensor units if uncalibrated)",
    "eda.phasic": "phasic skin conductance (responses above the tonic level), same units",
    "eda.arousal": "arousal relative to the wearer's baseline, 0..1 (0.5 = baseline)",
    "eda.scr_rate": "skin-conductance responses in the last minute",
    "eda.quality": "skin-conductance signal quality, 0..1",
    "quality": "the wearer's best channel quality, 0..1 (0 when nothing arrives)",
    "device.battery": "the wearer's device's battery level, percent (only from devices that send one)",
    "motion.level": "how much the wearer moves, from their accelerometer, 0..1 (0 at rest; only with an accelerometer)",
}
#: Events every wearer emits.
WEARER_EVENTS: dict[str, str] = {
    "heart.beat": "a heartbeat (value: heart rate in beats per minute)",
    "heart.predicted": "the next heartbeat as predicted at each beat (value: heart rate); sound triggers "
                       "mapped from it are scheduled to land on the predicted time",
    "eda.scr": "a skin-conductance response (value: amplitude)",
    "wearer.arrive": "a wearer's sensors start sending (or come back)",
    "wearer.leave": "a wearer's sensors stopped sending",
}
#: Group features, with their units.
GROUP_FEATURES: dict[str, str] = {
    "group.heart.bpm": "mean heart rate of wearers with a good heart signal, beats per minute",
    "group.heart.count": "wearers contributing to group.heart.bpm",
    "group.eda.arousal": "mean arousal of wearers with a good skin-conductance signal, 0..1",
    "group.eda.count": "wearers contributing to group.eda.arousal",
    "group.sync": "heart-rhythm synchrony: coherence of the wearers' beat phases over 10 s, 0..1",
    "group.sync.count": "wearers contributing to group.sync",
    "group.count": "wearers currently sending",
}
#: Features of every two wearers (lower slot first: ``group.sync.p1.p2``), with their units.
PAIR_FEATURES: dict[str, str] = {
    "group.sync.p*.p*": "heart-rhythm synchrony of two wearers: phase locking of their beat phases over 10 s, 0..1 "
                        "(0 when either heart is not heard)",
}


#: Features of the Ableton Link session (with ``[link] enabled``), with their units.
LINK_FEATURES: dict[str, str] = {
    "link.phase": "where the Link session is in its bar: 0..1 over the quantum (0 on the downbeat)",
    "link.tempo": "the Link session's tempo, beats per minute",
    "link.peers": "other peers in the Link session (musicians' apps)",
}
#: Events of the Ableton Link session (with ``[link] enabled``).
LINK_EVENTS: dict[str, str] = {
    "link.beat": "a beat of the Link session (value: its place in the bar, 0 on the downbeat .. quantum - 1)",
    "link.downbeat": "the first beat of a bar of the Link session (value: the bar's number)",
}



def split_wearer(address: str) -> tuple[str | None, str]:
    """Split ``"p1.heart.bpm"`` into ``("p1", "heart.bpm")``; non-wearer addresses give ``(None, address)``.

    ``any`` is a synonym of ``p*`` (``any.heart.beat``: anyone's beat).
    """
    head, _, rest = address.partition(".")
    if head == "any":
        return "p*", rest
    if WEARER_RE.fullmatch(head):
        return head, rest
    return None, address


def pattern_matches(pattern: str, address: str) -> bool:
    """True when ``address`` fits ``pattern``, where ``p*`` in the pattern matches any wearer."""
    return re.fullmatch(re.escape(pattern).replace(r"p\*", r"p(\d+|\*)"), address) is not None


def wearer_slot(index: int) -> str:
    """Slot id of the ``index``-th wearer (0-based): ``p1``, ``p2``, ..."""
    return f"p{index + 1}"


def slot_number(wearer: str) -> int:
    """The number of a wearer slot: ``"p12"`` -> 12."""
    m = WEARER_RE.fullmatch(wearer)
    if m is None or m.group(1) == "*":
        raise ValueError(f"not a wearer slot: {wearer!r} (expected p1, p2, ...)")
    return int(m.group(1))


def wearer_pairs(wearers: list[str]) -> list[tuple[str, str]]:
    """Every two wearers once, lower slot first, in slot order: ``[("p1", "p2"), ("p1", "p3"), ...]``.

    Pair addresses (``group.sync.p1.p2``, ``visual.thread.p1.p2``) name the lower slot first.
    """
    ordered = sorted(dict.fromkeys(wearers), key=slot_number)
    return [(a, b) for i, a in enumerate(ordered) for b in ordered[i + 1 :]]


def resolve_pair(pattern: str, a: str, b: str) -> str:
    """Fill the two ``p*`` of a pair pattern: ``("group.sync.p*.p*", "p1", "p2")`` -> ``"group.sync.p1.p2"``."""
    return pattern.replace("p*", a, 1).replace("p*", b, 1)
