"""ARCHITECTURE.md matches the code: every module it names exists, and it names every module."""

from __future__ import annotations

import re

import pytest

from tests.helpers import REPO

PACKAGE = REPO / "installation"
TEXT = (REPO / "ARCHITECTURE.md").read_text(encoding="utf-8")
#: `pkg/module.py` or `module.py` in backticks.
NAMED = sorted(set(re.findall(r"`((?:[a-z_]+/)*[a-z_]+\.py)`", TEXT)))
#: `pkg.module.Name` or `pkg.module` in backticks, for packages of ours.
DOTTED = sorted(set(re.findall(r"`((?:runtime|pipeline|record|sensors|sound|visuals|outputs|mapping|dsp|commands|bench)"
                               r"\.[a-z_]+(?:\.[A-Za-z_]+)*)`", TEXT)))


def _exists(name: str) -> bool:
    return (PACKAGE / name).is_file() or (REPO / name).is_file()


@pytest.mark.parametrize("name", NAMED)
def test_every_module_named_exists(name: str) -> None:
    assert _exists(name), f"ARCHITECTURE.md names {name}, which is not in the package"


@pytest.mark.parametrize("dotted", DOTTED)
def test_every_dotted_name_resolves(dotted: str) -> None:
    import importlib

    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):  # the longest prefix that is a module, then attributes
        try:
            obj = importlib.import_module("installation." + ".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attr in parts[cut:]:
            assert hasattr(obj, attr), f"ARCHITECTURE.md names {dotted}: {attr} is not there"
            obj = getattr(obj, attr)
        return
    pytest.fail(f"ARCHITECTURE.md names {dotted}, which is not a module of the package")


def test_every_module_of_the_package_is_named() -> None:
    modules = sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
                     if p.name != "__init__.py" and "__pycache__" not in p.parts)
    missing = [m for m in modules if m not in NAMED]
    assert not missing, f"ARCHITECTURE.md does not name: {', '.join(missing)}"
    assert len(NAMED) > 40  # the pattern found the table
