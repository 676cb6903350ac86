"""How a hub names and describes its streams (pure): one stream per wearer and signal.

Name ``{hub}/{wearer}/{signal}`` (``hall-a/p3/ppg``), source id
``ecosymphony:{hub}:{wearer}:{signal}`` (so that a receiver knows a restarted hub's
stream for the same one), LSL content type (``PPG``, ``ECG``, ``EDA``, ``HR``, ``IBI``,
``ACC``; ``BEAT`` for the beats a hub's own core found), and in the description the
XDF meta-data convention's ``channels/channel/label,unit,type`` plus ``wearer`` and ``hub``.
Resolving sees only a stream's name, type and source id, not its description: the
conductor therefore reads hub and wearer from the source id.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Prefix of every hub stream's source id.
SOURCE_ID_PREFIX = "ecosymphony:"

#: A hub stream: its LSL type, its channels' labels, unit and what each carries (a SampleBlock signal).
@dataclass(frozen=True, slots=True)
class StreamKind:
    """What one kind of hub stream carries."""

    lsl_type: str
    labels: tuple[str, ...]
    unit: str
    signals: tuple[str, ...]
    regular: bool = True


#: Hub stream kinds by the name used in stream names.
KINDS: dict[str, StreamKind] = {
    "ppg": StreamKind("PPG", ("PPG",), "adc", ("ppg",)),
    "ecg": StreamKind("ECG", ("ECG",), "mV", ("ecg",)),
    "eda": StreamKind("EDA", ("EDA",), "uS", ("eda",)),
    "hr": StreamKind("HR", ("HR",), "bpm", ("bpm",), regular=False),
    "ibi": StreamKind("IBI", ("IBI",), "s", ("ibi",), regular=False),
    "acc": StreamKind("ACC", ("ACC_X", "ACC_Y", "ACC_Z"), "g", ("acc_x", "acc_y", "acc_z")),
    "accm": StreamKind("ACC", ("ACC",), "g", ("acc",)),
    "beat": StreamKind("BEAT", ("IBI",), "s", ("ibi",), regular=False),
}
#: A SampleBlock signal -> the hub stream kind that carries it.
KIND_OF_SIGNAL: dict[str, str] = {"ppg": "ppg", "ecg": "ecg", "eda": "eda", "bpm": "hr", "ibi": "ibi",
                                  "acc_x": "acc", "acc_y": "acc", "acc_z": "acc", "acc": "accm"}


def stream_name(hub: str, wearer: str, kind: str) -> str:
    """``hall-a/p3/ppg``."""
    return f"{hub}/{wearer}/{kind}"


def source_id(hub: str, wearer: str, kind: str) -> str:
    """``ecosymphony:hall-a:p3:ppg``."""
    return f"{SOURCE_ID_PREFIX}{hub}:{wearer}:{kind}"


def parse_source_id(text: str) -> tuple[str, str, str] | None:
    """``(hub, wearer, kind)`` of a hub stream's source id; None for any other stream."""
    if not text.startswith(SOURCE_ID_PREFIX):
        return None
    parts = text[len(SOURCE_ID_PREFIX):].split(":")
    if len(parts) != 3 or parts[2] not in KINDS or not all(parts):
        return None
    return parts[0], parts[1], parts[2]
