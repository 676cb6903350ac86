"""The mapper: compiles show-file mappings against the known feature, event and
parameter addresses, then turns core features and events into parameter updates.

Addresses are dotted. A wearer part may be ``p*`` (every wearer); a mapping whose
source has ``p*`` and whose target has ``p*`` maps each wearer onto their own
parameter (``p*.eda.arousal -> visual.p*.hue``); a group feature mapped to a ``p*``
target reaches every wearer (``group.sync -> visual.p*.glow``).
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from typing import Callable, NamedTuple, Sequence

from installation.addresses import WEARER_RE, ParameterKind, pattern_matches, resolve_pair, slot_number, split_wearer, wearer_pairs
from installation.config import ConfigError, Mapping, Scene
from installation.addresses import GROUP_FEATURES, LINK_EVENTS, LINK_FEATURES, PAIR_FEATURES, WEARER_EVENTS, WEARER_FEATURES
from installation.dsp.events import Event
from installation.mapping.curves import CURVES
from installation.mapping.transforms import SCALES, ChainState, one_euro, one_pole, quantize_hz, slew



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
    spec : Mapping
        The show file's entry (range, curve and the rest of the chain).
    """

    index: int
    source_wearer: str | None
    source_rest: str
    target: str
    is_event: bool
    spec: Mapping
    curve: Callable[[float], float] | None  # None: linear
    scale: tuple[int, ...] | None
    # Precomputed for speed (the chain runs for every wearer on every tick).
    in_lo: float = 0.0
    in_scale: float = 1.0
    out_lo: float = 0.0
    out_span: float = 1.0
    stateful: bool = False
    is_threshold: bool = False


    @property
    def in_range(self) -> tuple[float, float]:
        return self.spec.in_range

    def resolve_target(self, wearer: str) -> str:
        return self.target.replace("p*", wearer)

    def value(self, v: float) -> float:
        """The stateless part of the chain: range and clip, invert, curve, output range, quantise."""
        x = (v - self.in_lo) * self.in_scale
        x = 0.0 if x < 0.0 else 1.0 if x > 1.0 else x
        if self.curve is not None:
            x = self.curve(x)
        out = self.out_lo + x * self.out_span
        if self.scale is not None:
            q = self.spec.quantize
            assert q is not None
            out = quantize_hz(out, q.root_hz, self.scale)
        return out

    def step(self, v: float, state: ChainState, dt_s: float) -> float:
        """The whole chain for one new input, advancing ``state`` by ``dt_s`` seconds."""
        out = self.value(v)
        if not self.stateful:
            return out
        s = self.spec
        if s.deadband > 0.0 and not math.isnan(state.output) and abs(out - state.output) < s.deadband:
            out = state.output
        state.output = out
        if s.smooth is not None:
            out = state.smoothed = one_pole(state.smoothed, out, dt_s, s.smooth.rise_s, s.smooth.fall_s)
        if s.slew_per_s > 0.0:
            out = state.slewed = slew(state.slewed, out, dt_s, s.slew_per_s)
        if s.one_euro is not None:
            e = s.one_euro
            out = one_euro(state, out, dt_s, e.min_cutoff_hz, e.beta, e.d_cutoff_hz)
        return out

    def crossed(self, v: float, state: ChainState) -> bool:
        """Threshold mappings: True when the input rises through ``on`` while armed."""
        t = self.spec.threshold
        assert t is not None
        if state.armed and v >= t.on:
            state.armed = False
            return True
        if not state.armed and v <= t.off:
            state.armed = True
        return False


def _compiled(index: int, wearer: str | None, rest: str, m: Mapping, is_event: bool, scale: tuple[int, ...] | None) -> CompiledMapping:
    lo, hi = m.in_range
    base = CURVES[m.curve] if m.curve != "power" else (lambda x, p=m.power: x**p)
    curve: Callable[[float], float] | None = None if m.curve == "linear" else base
    if m.invert:
        curve = (lambda x, f=base: f(1.0 - x)) if curve is not None else (lambda x: 1.0 - x)
    stateful = bool(m.deadband or m.smooth or m.slew_per_s or m.one_euro)
    return CompiledMapping(index, wearer, rest, m.target, is_event, m, curve, scale, lo, 1.0 / (hi - lo),
                           m.out_range[0], m.out_range[1] - m.out_range[0], stateful, m.threshold is not None)


def _pair_problem(source: str, target: str) -> str | None:
    """What is wrong with a mapping from a pair feature (``group.sync.p*.p*`` or ``group.sync.p1.p2``), if anything."""
    slots = source.split(".")[-2:]
    wild = [s == "p*" for s in slots]
    if any(wild) and not all(wild):
        return f"from '{source}': name both wearers of a pair (group.sync.p1.p2) or neither (group.sync.p*.p*)"
    if all(wild):
        if target.count("p*") != 2:
            return (f"from '{source}' is every pair's feature: it must drive a pair parameter with two wearers, "
                    f"such as 'visual.thread.p*.p*', not '{target}'")
        return None
    a, b = (slot_number(s) for s in slots)
    if a >= b:
        return f"from '{source}': name the lower slot first (group.sync.p{min(a, b)}.p{max(a, b)})"
    if "p*" in target:
        return f"to '{target}' names every wearer (p*) but from '{source}' is one pair's"
    return None


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
    all_sources = [f"p*.{k}" for k in wearer_sources] + list(GROUP_FEATURES) + list(PAIR_FEATURES)
    all_sources += [*LINK_FEATURES, *LINK_EVENTS]
    problems: list[str] = []
    compiled: list[CompiledMapping] = []
    for i, m in enumerate(mappings):
        where = f"{origin}: mappings[{i}]"
        wearer, rest = split_wearer(m.source)
        if wearer is not None and rest in wearer_sources:
            is_event = wearer_sources[rest]
        elif wearer is None and m.source in GROUP_FEATURES:
            is_event = False
        elif wearer is None and (m.source in LINK_FEATURES or m.source in LINK_EVENTS):
            is_event = m.source in LINK_EVENTS  # the show's own events: link.beat reaches one or every wearer
        elif wearer is None and any(pattern_matches(p, m.source) for p in PAIR_FEATURES):
            problem = _pair_problem(m.source, m.target)
            if problem:
                problems.append(f"{where}: {problem}")
                continue
            is_event = False
        else:
            problems.append(f"{where}.from: unknown feature '{m.source}'{_nearest(m.source, all_sources)}")
            continue
        kind = next((k for pat, k in parameters.items() if pattern_matches(pat, m.target)), None)
        if m.target.startswith("osc.out."):
            if not m.target.removeprefix("osc.out.").startswith("/"):
                problems.append(f"{where}.to: an OSC output address starts with '/': 'osc.out./lights/1'")
                continue
            kind = "trigger" if is_event or m.threshold is not None else "continuous"  # OSC carries either
        if kind is None:
            problems.append(f"{where}.to: unknown parameter '{m.target}'{_nearest(m.target, list(parameters))}")
            continue
        target_wearer, _ = split_wearer(m.target.partition(".")[2])
        if target_wearer == "p*" and wearer not in ("p*", None):
            problems.append(f"{where}.to: '{m.target}' names every wearer (p*) but from '{m.source}' is one wearer's")
            continue
        if is_event and kind != "trigger":
            problems.append(f"{where}: event '{m.source}' can only drive a trigger, '{m.target}' is continuous")
            continue
        if m.threshold is not None and (is_event or kind != "trigger"):
            problems.append(f"{where}.threshold: turns a continuous feature into events, so 'from' must be a "
                            f"feature (not an event) and 'to' a trigger")
            continue
        if not is_event and kind == "trigger" and m.threshold is None:
            problems.append(f"{where}: '{m.target}' is a trigger; drive it from an event such as p*.heart.beat, "
                            "or give the mapping a threshold")
            continue
        if m.fallback == "group" and (wearer is None or f"group.{rest}" not in GROUP_FEATURES):
            problems.append(f"{where}.fallback: there is no group.{rest} to follow; use \"hold\" or \"rest\"")
            continue
        if is_event and (m.smooth or m.slew_per_s or m.one_euro or m.deadband):
            problems.append(f"{where}: events are never smoothed; remove smooth, slew_per_s, one_euro and deadband")
            continue
        scale = SCALES[m.quantize.scale] if m.quantize is not None else None
        compiled.append(_compiled(i, wearer, rest, m, is_event, scale))
    if problems:
        raise ConfigError("\n".join(problems))
    return compiled


#: A wearer whose best channel quality is below this is treated as absent by mappings.
BAD_QUALITY = 0.3


class _Target(NamedTuple):
    feature: str
    target: str
    state: ChainState
    quality: str | None  # the wearer's quality feature, for per-wearer sources
    group: str  # the group counterpart of the feature (fallback = "group")


class Mapper:
    """Applies compiled mappings: features -> parameter values (through each mapping's
    chain, with its state), feature thresholds and events -> triggers.

    Parameters
    ----------
    mappings : list of CompiledMapping
        From :func:`compile_mappings`.
    """

    def __init__(self, mappings: list[CompiledMapping], scenes: "SceneDirector | None" = None) -> None:
        self.mappings = mappings
        self.scenes = scenes
        self.fired: list[tuple[str, float]] = []  # threshold crossings of the last apply_features
        self._quality_keys: dict[tuple[str, ...], list[str]] = {}
        self.continuous = [m for m in mappings if not m.is_event and not m.is_threshold]
        self.thresholds = [m for m in mappings if m.is_threshold]
        self.events = [m for m in mappings if m.is_event]
        self._states: dict[tuple[int, str], ChainState] = {}
        self._pairs: dict[tuple[str, ...], list[tuple[CompiledMapping, list[_Target]]]] = {}
        self._last_s = math.nan
        self._wearers: list[str] = []  # of the last apply_features, for show-wide events to p* targets

    def _resolved(self, wearers: tuple[str, ...]) -> list[tuple[CompiledMapping, list[_Target]]]:
        """Per mapping, what to read and where to write for these wearers (cached)."""
        resolved = self._pairs.get(wearers)
        if resolved is None:
            resolved = []
            for m in self.continuous + self.thresholds:
                group = f"group.{m.source_rest}"
                if m.source_wearer is None and "p*" in m.source_rest:  # every pair onto its own parameter
                    chosen = [(resolve_pair(m.source_rest, a, b), resolve_pair(m.target, a, b), None)
                              for a, b in wearer_pairs([w for w in wearers if WEARER_RE.fullmatch(w)])]
                elif m.source_wearer is None and "p*" in m.target:
                    chosen = [(m.source_rest, m.resolve_target(w), None) for w in wearers]  # a group feature to everyone
                elif m.source_wearer is None:
                    chosen = [(m.source_rest, m.target, None)]
                elif m.source_wearer == "p*":
                    chosen = [(f"{w}.{m.source_rest}", m.resolve_target(w), w) for w in wearers]
                else:
                    w = m.source_wearer
                    chosen = [(f"{w}.{m.source_rest}", m.resolve_target(w), w)]
                targets = []
                for feature, target, wearer in chosen:
                    state = self._states.setdefault((m.index, target), ChainState())
                    quality = f"{wearer}.quality" if wearer is not None else None
                    targets.append(_Target(feature, target, state, quality, group))
                resolved.append((m, targets))
            self._pairs = {wearers: resolved}  # one wearer set at a time
        return resolved

    def apply_features(
        self, features: dict[str, float], now_s: float = math.nan, wearers: list[str] | None = None
    ) -> dict[str, float]:
        """Parameter values for the current features; unknown (NaN) features hold their parameter.

        ``now_s`` (seconds) times the smoothing steps and the scenes' crossfades and rules;
        ``wearers`` saves a scan of the features. Threshold crossings are collected in
        :attr:`fired` (parameter address, value).
        """
        if wearers is None:
            wearers = sorted({k.split(".", 1)[0] for k in features if WEARER_RE.fullmatch(k.split(".", 1)[0])})
        dt_s = 0.0 if math.isnan(self._last_s) or math.isnan(now_s) else max(0.0, now_s - self._last_s)
        self._last_s = now_s
        self._wearers = wearers
        if self.scenes is None:
            return self._apply_chains(features, dt_s, wearers, None)
        return self.scenes.apply(self, features, now_s, dt_s, wearers)

    def _apply_chains(
        self, features: dict[str, float], dt_s: float, wearers: list[str], only: frozenset[int] | None,
        fired: list[tuple[str, float]] | None = None,
    ) -> dict[str, float]:
        """The mappings in ``only`` (all when None); threshold crossings go to ``fired``."""
        if fired is None:
            fired = self.fired = []
        out: dict[str, float] = {}
        get = features.get
        nan = math.nan
        key = tuple(wearers)
        qualities = self._quality_keys.get(key)
        if qualities is None:
            qualities = self._quality_keys = {key: [f"{w}.quality" for w in wearers]}  # type: ignore[assignment]
            qualities = self._quality_keys[key]
        absent = {q for q in qualities if get(q, 1.0) < BAD_QUALITY}
        for m, items in self._resolved(key):
            if only is not None and m.index not in only:
                continue
            value, threshold, stateful = m.value, m.is_threshold, m.stateful
            simple = not threshold and not stateful and m.scale is None
            keep_last = m.spec.fallback == "rest"  # a glide to rest starts from the last value sent
            lo, scale, curve, out_lo, span = m.in_lo, m.in_scale, m.curve, m.out_lo, m.out_span
            for feature, target, state, quality, group in items:
                v = get(feature, nan)
                if v != v or quality in absent:
                    # Not known, or the wearer is gone or their signal is bad: the mapping's fallback.
                    fallback = m.spec.fallback
                    if fallback == "hold" or threshold:
                        continue
                    if fallback == "rest":
                        s = m.spec
                        out[target] = state.last = one_pole(state.last, s.rest, dt_s, s.fallback_glide_s, s.fallback_glide_s)
                        continue
                    v = get(group, nan)
                    if v != v:
                        continue
                if simple:  # the common case, inlined: range and clip, curve, output range
                    x = (v - lo) * scale
                    x = 0.0 if x < 0.0 else 1.0 if x > 1.0 else x
                    result = out_lo + (curve(x) if curve is not None else x) * span
                elif threshold:
                    if m.crossed(v, state):
                        fired.append((target, value(v)))
                    continue
                elif stateful:
                    result = m.step(v, state, dt_s)
                else:
                    result = value(v)
                out[target] = result
                if keep_last:
                    state.last = result
        return out

    def apply_event(self, event: Event) -> list[tuple[str, float]]:
        """Triggers fired by one event (in the current scene), as (parameter address, value)."""
        wearer, rest = split_wearer(event.address)
        fired: list[tuple[str, float]] = []
        only = self.scenes.playing() if self.scenes is not None else None
        for m in self.events:
            if m.source_rest != rest or (only is not None and m.index not in only):
                continue
            if wearer is None:  # a show-wide event (link.beat): its target, or every wearer's
                if m.source_wearer is None:
                    v = event.value if not math.isnan(event.value) else m.in_range[0]
                    targets = [m.resolve_target(w) for w in self._wearers] if "p*" in m.target else [m.target]
                    fired += [(target, m.value(v)) for target in targets]
                continue
            if m.source_wearer in ("p*", wearer):
                v = event.value if not math.isnan(event.value) else m.in_range[0]
                fired.append((m.resolve_target(wearer), m.value(v)))
        return fired


class SceneDirector:
    """Scenes: named sets of mappings and fixed parameter values, one playing at a time,
    with timed crossfades; chosen by the operator (keys) or by rules on features.

    Mappings named in no scene play in every scene.

    Parameters
    ----------
    scenes : list of Scene
        From the show file (the first one plays at the start).
    mappings : list of CompiledMapping
        The show's compiled mappings.
    """

    def __init__(self, scenes: list[Scene], mappings: list[CompiledMapping]) -> None:
        self.scenes = {sc.name: sc for sc in scenes}
        named = {m.spec.name: m.index for m in mappings if m.spec.name}
        in_scenes = {n for sc in scenes for n in sc.mappings}
        always = frozenset(m.index for m in mappings if m.spec.name not in in_scenes)
        self._members = {sc.name: always | frozenset(named[n] for n in sc.mappings) for sc in scenes}
        self.current = scenes[0].name
        self.previous: str | None = None
        self._fade_from_s = -math.inf
        self._rule_since: dict[str, float] = {}
        self.changes: list[str] = []  # scene names selected, for the session to report

    def playing(self) -> frozenset[int]:
        """Mapping indexes of the current scene (events fire only from these)."""
        return self._members[self.current]

    def select(self, name: str, now_s: float) -> bool:
        """Start fading to scene ``name``; False if unknown or already playing."""
        if name not in self.scenes or name == self.current:
            return False
        self.previous, self.current = self.current, name
        self._fade_from_s = now_s
        self.changes.append(name)
        return True

    def by_key(self, key: str) -> str | None:
        return next((sc.name for sc in self.scenes.values() if sc.key == key), None)

    def _rules(self, features: dict[str, float], now_s: float) -> None:
        for sc in self.scenes.values():
            rule = sc.when
            if rule is None:
                continue
            v = features.get(rule.feature, math.nan)
            holds = v == v and ((rule.above is not None and v > rule.above) or (rule.below is not None and v < rule.below))
            if not holds:
                self._rule_since.pop(sc.name, None)
                continue
            since = self._rule_since.setdefault(sc.name, now_s)
            if now_s - since >= rule.for_s:
                self.select(sc.name, now_s)

    def apply(self, mapper: "Mapper", features: dict[str, float], now_s: float, dt_s: float, wearers: list[str]) -> dict[str, float]:
        """The current scene's parameters, blended with the previous scene's while fading."""
        if now_s == now_s:
            self._rules(features, now_s)
        fired: list[tuple[str, float]] = []
        new = mapper._apply_chains(features, dt_s, wearers, self.playing(), fired)
        new.update(self.scenes[self.current].set)
        crossfade_s = self.scenes[self.current].crossfade_s
        fading = self.previous is not None and now_s - self._fade_from_s < crossfade_s
        if fading:
            assert self.previous is not None
            old = mapper._apply_chains(features, 0.0, wearers, self._members[self.previous] - self.playing(), [])
            old.update(self.scenes[self.previous].set)
            a = (now_s - self._fade_from_s) / crossfade_s
            blended = {t: v + a * (new[t] - v) if t in new else v for t, v in old.items()}
            blended.update({t: v for t, v in new.items() if t not in old})
            new = blended
        mapper.fired = fired
        return new
