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
from typing import TYPE_CHECKING, Any, ClassVar, Mapping

from installation.addresses import ParameterKind

if TYPE_CHECKING:
    from installation.sound.inputs import PatchInputs


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
    prefix -> ``"continuous"`` or ``"trigger"``; ``p*`` stands for each wearer) and
    build their pyo graph in :meth:`build`, returning its stereo output.

    A patch gets no Python call while it plays: in :meth:`build` it takes a pyo
    stream for each parameter from its inputs (``inputs.value("p1.tone", 0.3)``)
    and the copies of each trigger (``inputs.trigger("p1.pulse")``: a firing
    stream and a strength each, ``TRIGGER_VOICES`` copies taking turns, or as many as
    :meth:`trigger_voices_for` says), and wires
    them into its graph. Values arrive already mapped by the show file, stepping
    at buffer boundaries; patches smooth them (``pyo.Port``) so that no jump clicks.
    Triggers must not be smoothed. In the live show pyo reads the streams from
    OSC on loopback (no Python between socket and sample); in the offline render
    and the tests they are set from Python; the patch cannot tell.
    """

    PARAMETERS: ClassVar[dict[str, ParameterKind]] = {}
    #: Copies of every trigger that take turns, so that a new firing never cuts a ringing one short.
    TRIGGER_VOICES: ClassVar[int] = 1

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

    @classmethod
    def trigger_voices_for(cls, wearers: list[str], settings: Mapping[str, float | str]) -> int:
        """Copies of every trigger the patch reads for these wearers and settings (default:
        ``TRIGGER_VOICES``); a patch whose voices depend on the audience's size overrides it."""
        return cls.TRIGGER_VOICES

    def build(self, inputs: PatchInputs) -> Any:
        """Create the pyo objects (server already booted), reading parameters from ``inputs``;
        return the stereo output."""
        raise NotImplementedError

    def release(self) -> None:
        """Drop every pyo object the patch holds (the engine calls this before its server goes,
        and before a rebuild).

        pyo objects freed later, by the garbage collector in whatever thread, while
        another server computes audio, can crash the process.
        """
        for name in [n for n in vars(self) if n not in ("wearers", "settings")]:
            delattr(self, name)


def patch_location(path: Path, exc: BaseException) -> str:
    """Where in the patch file ``exc`` came from: ``file:line`` (the deepest line of that file), or the file."""
    import traceback

    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if Path(frame.filename).resolve() == path.resolve():
            line = frame.lineno
    if isinstance(exc, SyntaxError) and exc.filename and Path(exc.filename).resolve() == path.resolve():
        line = exc.lineno
    return f"{path}:{line}" if line is not None else str(path)


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
        raise PatchError(f"{patch_location(path, exc)}: failed to import: {type(exc).__name__}: {exc}") from exc
    found = [
        obj
        for obj in vars(module).values()
        if inspect.isclass(obj) and issubclass(obj, Patch) and obj is not Patch and obj.__module__ == module.__name__
    ]
    if len(found) != 1:
        names = ", ".join(c.__name__ for c in found) or "none"
        raise PatchError(f"{path}: must define exactly one Patch subclass (found {names})")
    return found[0]
