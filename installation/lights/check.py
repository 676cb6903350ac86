"""What a show's fixtures offer and what is wrong with them (pure): the ``light.*`` parameters the
mappings may drive, and the problems ``ecosymphony check`` reports (overlapping channels, a channel
past 512, a universe no lighting output sends, a name used twice)."""

from __future__ import annotations

from typing import Sequence

from installation.addresses import ParameterKind
from installation.config import ArtnetOutputConfig, FixtureConfig, OutputConfig, SacnOutputConfig
from installation.lights.layout import UNIVERSE_SIZE, patch_fixture

#: Every fixture's parameters (``light.<name>.`` in front).
FIXTURE_PARAMETERS: dict[str, ParameterKind] = {
    "intensity": "continuous",
    "hue": "continuous",
    "saturation": "continuous",
    "pulse": "trigger",
}
#: A strip's parameters besides those.
STRIP_PARAMETERS: dict[str, ParameterKind] = {
    "wave": "trigger",
    "segment.p*": "continuous",
}


def light_parameters(fixtures: Sequence[FixtureConfig]) -> dict[str, ParameterKind]:
    """Parameter address patterns of the fixtures -> kind (``light.wash1.pulse`` -> ``trigger``)."""
    out: dict[str, ParameterKind] = {}
    for f in fixtures:
        own = FIXTURE_PARAMETERS | (STRIP_PARAMETERS if f.layout == "strip" else {})
        out |= {f"light.{f.name}.{k}": v for k, v in own.items()}
    return out


def sent_universes(outputs: Sequence[OutputConfig]) -> dict[int, list[int]]:
    """Universe -> the indices of the lighting outputs (``outputs[i]``) that send it."""
    sent: dict[int, list[int]] = {}
    for i, out in enumerate(outputs):
        if isinstance(out, (SacnOutputConfig, ArtnetOutputConfig)):
            for u in out.universes:
                sent.setdefault(u, []).append(i)
    return sent


def check_fixtures(fixtures: Sequence[FixtureConfig], outputs: Sequence[OutputConfig], origin: str = "<show>") -> list[str]:
    """Problems with the show's ``[[fixtures]]``, each naming its key (``show.toml: fixtures[2].address``)."""
    problems: list[str] = []
    names: dict[str, int] = {}
    sent = sent_universes(outputs)
    taken: dict[int, list[tuple[int, int, int]]] = {}  # universe -> (start, end, fixture index)
    for i, f in enumerate(fixtures):
        where = f"{origin}: fixtures[{i}]"
        if f.name in names:
            problems.append(f"{where}.name: '{f.name}' is already the name of fixtures[{names[f.name]}]")
        names.setdefault(f.name, i)
        p = patch_fixture(f)
        if p.end > UNIVERSE_SIZE:
            fits = UNIVERSE_SIZE - len(p.channels) + 1
            hint = f"; start it at {fits} at the latest" if fits >= 1 else "; it has more channels than a universe holds"
            problems.append(f"{where}.address: its {len(p.channels)} channels run from {f.address} to {p.last_address}, "
                            f"past {UNIVERSE_SIZE}{hint}")
        for start, end, j in taken.get(f.universe, []):
            if p.start < end and start < p.end:
                problems.append(f"{where}.address: channels {f.address}..{p.last_address} overlap fixtures[{j}] "
                                f"'{fixtures[j].name}' ({start + 1}..{end}) in universe {f.universe}")
        taken.setdefault(f.universe, []).append((p.start, min(p.end, UNIVERSE_SIZE), i))
        if f.universe not in sent:
            if not sent:
                problems.append(f"{where}.universe: no lighting output sends universe {f.universe}: add an "
                                f"[[outputs]] entry with kind = \"sacn\" (universes from 1) or \"artnet\" (from 0) "
                                f"and universes = [{f.universe}]")
            else:
                near = min(sent, key=lambda u: (abs(u - f.universe), u))
                problems.append(f"{where}.universe: no lighting output sends universe {f.universe}; did you mean "
                                f"{near}? (sACN numbers universes from 1, Art-Net from 0)")
    return problems

