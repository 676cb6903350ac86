"""``ecosymphony init``: a starter show file in a folder of its own."""

from __future__ import annotations

from pathlib import Path

from installation.config import PATCHES_DIR

#: The show a starter folder gets: the default show, comments and all. Its patch is
#: named by its bare name, so it is found among the program's patches from any folder.
STARTER_SHOW = PATCHES_DIR / "default.toml"
STARTER_NAME = "show.toml"


class StarterError(RuntimeError):
    """The starter show could not be written (the message says why)."""


def write_starter(folder: Path) -> Path:
    """Write the default show as ``folder/show.toml`` (making the folder); return its path.

    Raises
    ------
    StarterError
        The file is there already (it is never overwritten), the folder cannot be
        made, or the file cannot be written.
    """
    target = folder / STARTER_NAME
    if target.exists():
        raise StarterError(f"{target} is there already; it is left as it is (remove it, or choose another folder)")
    try:
        text = STARTER_SHOW.read_text(encoding="utf-8")
    except OSError as exc:
        raise StarterError(f"the default show {STARTER_SHOW} cannot be read: {exc.strerror or exc}") from None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with target.open("x", encoding="utf-8") as out:  # "x": never over a file made meanwhile
            out.write(text)
    except FileExistsError:
        raise StarterError(f"{target} is there already; it is left as it is (remove it, or choose another folder)") from None
    except OSError as exc:
        raise StarterError(f"cannot write {target}: {exc.strerror or exc}") from None
    return target
