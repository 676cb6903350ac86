"""Dotted addresses shared by features, events and parameters.

Features and events: ``p1.heart.bpm``, ``p2.heart.beat``, ``group.eda.arousal``.
Parameters: ``sound.drone.brightness``, ``sound.p1.pulse``, ``visual.p3.hue``.
A wearer part ``p*`` stands for every wearer.
"""

from __future__ import annotations

import re
from typing import Literal

ParameterKind = Literal["continuous", "trigger"]
WEARER_RE = re.compile(r"p(\d+|\*)")


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
