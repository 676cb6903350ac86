"""Which addresses an output sends: ``send`` patterns, checked against what a show can produce.

A pattern is a dotted address in which ``*`` matches anything (dots included):
``p*.heart.bpm`` (every wearer's heart rate), ``group.sync``, ``sound.drone.*``,
``p3.eda.*``. What a show can produce: the core's features and events (for every
wearer slot) and the parameters of its patch and scene.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Iterable, Literal, Sequence

from installation.addresses import WEARER_RE, resolve_pair, wearer_pairs
from installation.config import LslOutputConfig, MidiOutputConfig, OscOutputConfig, OutputConfig
from installation.addresses import GROUP_FEATURES, LINK_EVENTS, LINK_FEATURES, PAIR_FEATURES, WEARER_EVENTS, WEARER_FEATURES
from installation.outputs.encoders import CARRIED

AddressKind = Literal["feature", "event", "parameter", "trigger"]


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """The regular expression of a ``send`` pattern: ``*`` matches any run of characters."""
    return re.compile("".join(".*" if part == "*" else re.escape(part) for part in re.split(r"(\*)", pattern)))


class Selection:
    """The addresses a list of patterns selects; each address is matched once, then remembered.

    Parameters
    ----------
    patterns : iterable of str
        ``send`` patterns.
    """

    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns = list(patterns)
        self._regexes = [pattern_regex(p) for p in self.patterns]
        self._known: dict[str, bool] = {}

    def __call__(self, address: str) -> bool:
        """True when ``address`` fits one of the patterns."""
        hit = self._known.get(address)
        if hit is None:
            if len(self._known) > 100_000:  # addresses come from the show, but never let a cache grow unbounded
                self._known.clear()
            hit = self._known[address] = any(r.fullmatch(address) for r in self._regexes)
        return hit


def catalogue(parameters: dict[str, str] | None = None) -> dict[str, AddressKind]:
    """Every address template a show can produce (``p*`` for a wearer) -> its kind.

    ``parameters``: parameter address patterns of the patch and scene -> ``"continuous"`` or ``"trigger"``.
    """
    out: dict[str, AddressKind] = {f"p*.{k}": "feature" for k in WEARER_FEATURES}
    out |= {f"p*.{k}": "event" for k in WEARER_EVENTS}
    out |= {k: "feature" for k in GROUP_FEATURES}
    out |= {k: "feature" for k in PAIR_FEATURES}
    out |= {k: "feature" for k in LINK_FEATURES} | {k: "event" for k in LINK_EVENTS}
    out |= {k: ("trigger" if v == "trigger" else "parameter") for k, v in (parameters or {}).items()}
    return out


def concrete(template: str, wearers: list[str]) -> list[str]:
    """The addresses a template stands for with these wearers (the template itself without ``p*``)."""
    wild = template.count("p*")
    if wild == 0:
        return [template]
    if wild == 2:
        return [resolve_pair(template, a, b) for a, b in wearer_pairs(wearers)]
    return [template.replace("p*", w) for w in wearers]


def _sample_slots(pattern: str) -> list[str]:
    named = {m.group(0) for m in re.finditer(r"p[1-9][0-9]*", pattern) if WEARER_RE.fullmatch(m.group(0))}
    return sorted(named | {"p1", "p2"}, key=lambda w: int(w[1:]))


def matches(pattern: str, templates: dict[str, AddressKind]) -> list[str]:
    """The templates whose addresses the pattern selects (for some wearer slots)."""
    regex = pattern_regex(pattern)
    slots = _sample_slots(pattern)
    return [t for t in templates if regex.fullmatch(t) or any(regex.fullmatch(a) for a in concrete(t, slots))]


@dataclass(frozen=True, slots=True)
class OutputSpec:
    """What :func:`check_send` needs to know about an output entry."""

    kind: str  # "osc" or "lsl"
    format: str  # "plain", "emotibit", "openbci" (OSC), "" (LSL)
    send: tuple[str, ...]


def check_send(spec: OutputSpec, where: str, templates: dict[str, AddressKind]) -> list[str]:
    """Problems with an output's ``send`` patterns; ``where``: ``"show.toml: outputs[1]"``."""
    problems = []
    carried = CARRIED.get(spec.format)
    for j, pattern in enumerate(spec.send):
        at = f"{where}.send[{j}]"
        hit = matches(pattern, templates)
        if not hit:
            close = difflib.get_close_matches(pattern, list(templates), n=1, cutoff=0.5)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            problems.append(f"{at}: '{pattern}' matches nothing the show produces{hint}")
            continue
        if carried is not None and not any(t.startswith("p*.") and t[3:] in carried for t in hit):
            offer = ", ".join(f"p*.{k} ({v})" for k, v in carried.items())
            problems.append(f"{at}: the {spec.format} format has no address for '{pattern}'; it carries {offer}")
        elif spec.kind == "lsl" and all(templates[t] in ("event", "trigger") for t in hit):
            problems.append(f"{at}: '{pattern}' is an event; an LSL output carries features and parameters "
                            "at a steady rate")
    return problems


def check_outputs(outputs: Sequence[OutputConfig], parameters: dict[str, str], origin: str = "<show>") -> list[str]:
    """Problems with a show's ``[[outputs]]`` patterns (``show.toml: outputs[1].send[0]: ...``).

    ``parameters``: parameter address patterns of the patch and scene -> kind.
    """
    templates = catalogue(parameters)
    problems: list[str] = []
    for i, cfg in enumerate(outputs):
        if isinstance(cfg, MidiOutputConfig):
            problems += check_midi(cfg, f"{origin}: outputs[{i}]", templates)
            continue
        if not isinstance(cfg, (OscOutputConfig, LslOutputConfig)):
            continue  # a lighting output sends the fixtures, not patterns
        fmt = cfg.format if isinstance(cfg, OscOutputConfig) else ""
        problems += check_send(OutputSpec(cfg.kind, fmt, tuple(cfg.send)), f"{origin}: outputs[{i}]", templates)
    return problems


def check_midi(cfg: MidiOutputConfig, where: str, templates: dict[str, AddressKind]) -> list[str]:
    """Problems with a MIDI output's addresses: notes come from events, controls and the clock from features."""
    wanted: list[tuple[str, str, tuple[AddressKind, ...]]] = []
    for j, note in enumerate(cfg.notes):
        wanted.append((f"notes[{j}].from", note.source, ("event", "trigger")))
        if note.pitch_from is not None:
            wanted.append((f"notes[{j}].pitch_from", note.pitch_from, ("feature", "parameter")))
    wanted += [(f"cc[{j}].from", c.source, ("feature", "parameter")) for j, c in enumerate(cfg.cc)]
    if cfg.clock:
        wanted.append(("clock_from", cfg.clock_from, ("feature",)))
    problems = []
    for key, pattern, kinds in wanted:
        hit = matches(pattern, templates)
        if not hit:
            close = difflib.get_close_matches(pattern, [t for t, k in templates.items() if k in kinds], n=1, cutoff=0.5)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            problems.append(f"{where}.{key}: '{pattern}' matches nothing the show produces{hint}")
        elif not any(templates[t] in kinds for t in hit):
            what = "an event" if kinds[0] == "event" else "a feature"
            problems.append(f"{where}.{key}: '{pattern}' is not {what} ({', '.join(hit[:3])}: {templates[hit[0]]})")
    return problems
