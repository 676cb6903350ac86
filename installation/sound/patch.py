"""The contract between the engine and a sound patch, and loading patches from files.

A patch is a Python file (in ``patches/`` by default) that defines one subclass
of :class:`Patch`. The show file names it; the engine builds it after the pyo
server has booted and wraps its output in the safety chain.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
from pathlib import Path
from typing import Any, ClassVar, Mapping

from installation.addresses import ParameterKind


class PatchError(RuntimeError):
    """A patch file could not be loaded or built."""


class Patch:
    """Base class of sound patches.

    Parameters
    ----------
    wearers : list of str
        Wearer slots the patch gives a voice to (``["p1", "p2", ...]``).
    settings : mapping
        The show file's ``[sound.settings]`` table.

    Notes
    -----
    Subclasses declare ``PARAMETERS`` (address pattern without the ``sound.``
    prefix -> ``"continuous"`` or ``"trigger"``; ``p*`` stands for each wearer),
    build their pyo graph in :meth:`build` and return its stereo output.
    Continuous values arrive already mapped by the show file; patches smooth them
    (``SigTo``) so that no jump clicks. Triggers must not be smoothed.
    """

    PARAMETERS: ClassVar[dict[str, ParameterKind]] = {}

    def __init__(self, wearers: list[str], settings: Mapping[str, float | str]) -> None:
        self.wearers = list(wearers)
        self.settings = dict(settings)

    @classmethod
    def check_settings(cls, settings: Mapping[str, float | str]) -> None:
        """Validate the show file's ``[sound.settings]`` before anything starts.

        Raises
        ------
        PatchError
            Naming the setting (``sound.settings.scale``) and what is wrong with it.
        """

    def build(self) -> Any:
        """Create the pyo objects (server already booted); return the stereo output."""
        raise NotImplementedError

    def set(self, address: str, value: float) -> None:
        """Set a continuous parameter (``"drone.brightness"``, ``"p2.tone"``)."""
        raise NotImplementedError

    def trigger(self, address: str, value: float) -> None:
        """Fire a trigger parameter (``"p1.pulse"``) with a value in its mapped range."""
        raise NotImplementedError

    def trigger_later(self, address: str, value: float, delay_s: float) -> None:
        """Fire a trigger ``delay_s`` seconds from now, timed by the audio clock (to one buffer).

        Used for beats that are predicted (``p*.heart.predicted``), so that a sound lands
        on the heartbeat rather than after it. Patches may override it with a
        sample-accurate version (e.g. a ``pyo.SDelay`` in front of the voice).
        """
        import pyo  # the engine imports it first, with its GUI notice silenced

        pending = self.__dict__.setdefault("_later", [])
        pending[:] = [c for c in pending if c.isPlaying()]  # those that fired stop by themselves
        pending.append(pyo.CallAfter(lambda pair: self.trigger(*pair), time=max(delay_s, 1e-4), arg=(address, value)))

    def release(self) -> None:
        """Drop every pyo object the patch holds (the engine calls this before its server goes).

        pyo objects freed later, by the garbage collector in whatever thread, while
        another server computes audio, can crash the process.
        """
        for name in [n for n in vars(self) if n not in ("wearers", "settings")]:
            delattr(self, name)


def load_patch(path: Path) -> type[Patch]:
    """Import a patch file and return its :class:`Patch` subclass.

    Raises
    ------
    PatchError
        When the file is missing, fails to import, or defines no (or several) patches.
    """
    if not path.is_file():
        raise PatchError(f"{path}: no such patch file")
    spec = importlib.util.spec_from_file_location(f"ecosymphony_patch_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise PatchError(f"{path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    # Registered while it runs, as an import would: dataclasses and typing look a
    # class's module up by name. A newer load of the same file replaces it.
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the artist's file: report any failure with its name
        sys.modules.pop(spec.name, None)
        raise PatchError(f"{path}: failed to import: {type(exc).__name__}: {exc}") from exc
    found = [
        obj
        for obj in vars(module).values()
        if inspect.isclass(obj) and issubclass(obj, Patch) and obj is not Patch and obj.__module__ == module.__name__
    ]
    if len(found) != 1:
        names = ", ".join(c.__name__ for c in found) or "none"
        raise PatchError(f"{path}: must define exactly one Patch subclass (found {names})")
    return found[0]
