"""The mapper: compiles show-file mappings against the known feature, event and
parameter addresses, then turns core features and events into parameter updates.

Addresses are dotted. A wearer part may be ``p*`` (every wearer); a mapping whose
source has ``p*`` and whose target has ``p*`` maps each wearer onto their own
parameter (``p*.eda.arousal -> visual.p*.hue``).
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from typing import Callable, Sequence

from installation.addresses import WEARER_RE, ParameterKind, pattern_matches, split_wearer
from installation.config import ConfigError, Mapping
from installation.dsp.core import GROUP_FEATURES, WEARER_EVENTS, WEARER_FEATURES
from installation.dsp.events import Event
from installation.mapping.curves import CURVES, map_value



@dataclass(frozen=True, slots=True)
class CompiledMapping:
    """A validated mapping, ready to apply.

    Attributes
    ----------
    index : int
        Position in the show file's ``mappings`` list.
    source_wearer : str or None
        ``"p3"``, ``"p*"``, or None for a group feature.
    source_rest : str
        The address after the wearer part (``"heart.beat"``) or the whole group address.
    target : str
        Parameter address with ``p*`` left in when per-wearer.
    is_event : bool
        True when the source is an event (triggers, no smoothing).
    """

    index: int
    source_wearer: str | None
    source_rest: str
    target: str
    is_event: bool
    in_range: tuple[float, float]
    out_range: tuple[float, float]
    curve: Callable[[float], float]

    def resolve_target(self, wearer: str) -> str:
        return self.target.replace("p*", wearer)

    def value(self, v: float) -> float:
        return map_value(v, self.in_range, self.out_range, self.curve)


def _nearest(name: str, options: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(options), n=1, cutoff=0.5)
    return f"; did you mean '{close[0]}'?" if close else ""


def compile_mappings(
    mappings: Sequence[Mapping],
    parameters: dict[str, ParameterKind],
    origin: str = "<show>",
) -> list[CompiledMapping]:
    """Validate mappings against known addresses and compile them.

    Parameters
    ----------
    mappings : sequence of Mapping
        As loaded from the show file.
    parameters : dict
        Parameter address patterns (``"sound.p*.pulse"``) -> kind, from the sinks.
    origin : str
        Show-file name for error messages.

    Raises
    ------
    ConfigError
        Naming the file, the key path and the nearest valid address.
    """
    wearer_sources = {**{k: False for k in WEARER_FEATURES}, **{k: True for k in WEARER_EVENTS}}
    all_sources = [f"p*.{k}" for k in wearer_sources] + list(GROUP_FEATURES)
    problems: list[str] = []
    compiled: list[CompiledMapping] = []
    for i, m in enumerate(mappings):
        where = f"{origin}: mappings[{i}]"
        wearer, rest = split_wearer(m.source)
        if wearer is not None and rest in wearer_sources:
            is_event = wearer_sources[rest]
        elif wearer is None and m.source in GROUP_FEATURES:
            is_event = False
        else:
            problems.append(f"{where}.from: unknown feature '{m.source}'{_nearest(m.source, all_sources)}")
            continue
        kind = next((k for pat, k in parameters.items() if pattern_matches(pat, m.target)), None)
        if kind is None:
            problems.append(f"{where}.to: unknown parameter '{m.target}'{_nearest(m.target, list(parameters))}")
            continue
        target_wearer, _ = split_wearer(m.target.partition(".")[2])
        if target_wearer == "p*" and wearer != "p*":
            problems.append(f"{where}.to: '{m.target}' names every wearer (p*) but from '{m.source}' does not")
            continue
        if is_event and kind != "trigger":
            problems.append(f"{where}: event '{m.source}' can only drive a trigger, '{m.target}' is continuous")
            continue
        if not is_event and kind == "trigger":
            problems.append(f"{where}: '{m.target}' is a trigger; drive it from an event such as p*.heart.beat")
            continue
        compiled.append(
            CompiledMapping(i, wearer, rest, m.target, is_event, m.in_range, m.out_range, CURVES[m.curve])
        )
    if problems:
        raise ConfigError("\n".join(problems))
    return compiled


class Mapper:
    """Applies compiled mappings: features -> parameter values, events -> triggers.

    Parameters
    ----------
    mappings : list of CompiledMapping
        From :func:`compile_mappings`.
    """

    def __init__(self, mappings: list[CompiledMapping]) -> None:
        self.continuous = [m for m in mappings if not m.is_event]
        self.events = [m for m in mappings if m.is_event]

    def apply_features(self, features: dict[str, float]) -> dict[str, float]:
        """Parameter values for the current features; unknown (NaN) features are left out."""
        out: dict[str, float] = {}
        for m in self.continuous:
            if m.source_wearer is None:
                v = features.get(m.source_rest, math.nan)
                if not math.isnan(v):
                    out[m.target] = m.value(v)
                continue
            if m.source_wearer != "p*":
                v = features.get(f"{m.source_wearer}.{m.source_rest}", math.nan)
                if not math.isnan(v):
                    out[m.resolve_target(m.source_wearer)] = m.value(v)
                continue
            suffix = "." + m.source_rest
            for address, v in features.items():
                if address.endswith(suffix) and not math.isnan(v):
                    wearer = address[: -len(suffix)]
                    if WEARER_RE.fullmatch(wearer):
                        out[m.resolve_target(wearer)] = m.value(v)
        return out

    def apply_event(self, event: Event) -> list[tuple[str, float]]:
        """Triggers fired by one event, as (parameter address, value)."""
        wearer, rest = split_wearer(event.address)
        fired: list[tuple[str, float]] = []
        for m in self.events:
            if m.source_rest != rest or wearer is None:
                continue
            if m.source_wearer in ("p*", wearer):
                v = event.value if not math.isnan(event.value) else m.in_range[0]
                fired.append((m.resolve_target(wearer), m.value(v)))
        return fired
