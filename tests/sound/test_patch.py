"""Loading patch files from the show's folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from installation.sound.patch import Patch, PatchError, load_patch

from tests.helpers import REPO


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("x = 1\n", "exactly one Patch subclass (found none)"),
        ("import nonexistent_module_xyz\n", "failed to import: ModuleNotFoundError"),
        ("def broken(:\n", "failed to import: SyntaxError"),
        (
            "from installation.sound.patch import Patch\nclass A(Patch): pass\nclass B(Patch): pass\n",
            "found A, B",
        ),
    ],
)
def test_bad_patch_files_name_the_file(tmp_path: Path, source: str, expected: str) -> None:
    path = tmp_path / "mine.py"
    path.write_text(source)
    with pytest.raises(PatchError) as err:
        load_patch(path)
    assert str(path) in str(err.value) and expected in str(err.value)


def test_missing_patch_file(tmp_path: Path) -> None:
    with pytest.raises(PatchError, match="no such patch file"):
        load_patch(tmp_path / "gone.py")


def test_shipped_patch_declares_its_parameters() -> None:
    cls = load_patch(REPO / "patches" / "eco_symphony.py")
    assert issubclass(cls, Patch)
    assert cls.PARAMETERS["p*.pulse"] == "trigger"
    assert cls.PARAMETERS["drone.brightness"] == "continuous"
