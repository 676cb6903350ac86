"""The operator's commands, typed: what a key in the window or the console, a scripted
render action or a recorded action asks of the show.

The pipeline carries them out in one place
(:meth:`installation.pipeline.pipeline.Pipeline.command`); the live runtime adds
:class:`Quit`. This module only names them and translates them to and from the
words the window and the console send (``"panic"``, ``"blackout:on"``,
``"scene:3"``) and the rows a recording keeps (``operator.panic``, ``1``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union


@dataclass(frozen=True, slots=True)
class SelectScene:
    """Fade to a scene, by name or by its operator key (``"2"``)."""

    name: str | None = None
    key: str | None = None


@dataclass(frozen=True, slots=True)
class Panic:
    """Mute the sound at once (True), bring it back (False), or toggle (None)."""

    on: bool | None = None


@dataclass(frozen=True, slots=True)
class Blackout:
    """Black the picture out (True), bring it back (False), or toggle (None)."""

    on: bool | None = None


@dataclass(frozen=True, slots=True)
class Mark:
    """Note this moment of the show (numbered, logged, written into a recording)."""

    label: str = ""


@dataclass(frozen=True, slots=True)
class Rebaseline:
    """Learn a wearer's baseline again from now (None: every wearer)."""

    wearer: str | None = None


@dataclass(frozen=True, slots=True)
class Consent:
    """A wearer (by slot) agreed to be recorded: from now on their samples and events are written
    (``[record] consent = "operator"`` or ``"device"``; with ``"none"`` everyone is recorded anyway)."""

    wearer: str


@dataclass(frozen=True, slots=True)
class Quit:
    """End the show (fading out)."""


Command = Union[SelectScene, Panic, Blackout, Mark, Rebaseline, Consent, Quit]

#: The recording's row kind of each command that is recorded (every one but Quit).
RECORD_KINDS: dict[type, str] = {
    SelectScene: "operator.scene",
    Panic: "operator.panic",
    Blackout: "operator.blackout",
    Rebaseline: "operator.rebaseline",
    Mark: "operator.mark",
    Consent: "operator.consent",
}
OPERATOR_KINDS: tuple[str, ...] = tuple(RECORD_KINDS.values())


def parse_action(action: str) -> Command | None:
    """The command a window or console action names, or None for an action that is not one.

    ``"panic"``, ``"blackout"`` (toggle), ``"blackout:on"``/``"blackout:off"``,
    ``"rebaseline"``, ``"mark"``, ``"quit"``, ``"scene:N"`` (the scene on key N),
    ``"consent:pN"`` (wearer pN agreed to be recorded).
    """
    if action == "panic":
        return Panic()
    if action == "blackout":
        return Blackout()
    if action in ("blackout:on", "blackout:off"):
        return Blackout(action == "blackout:on")
    if action == "rebaseline":
        return Rebaseline()
    if action == "mark":
        return Mark()
    if action == "quit":
        return Quit()
    if action.startswith("consent:") and action != "consent:":
        return Consent(action.removeprefix("consent:"))
    if action.startswith("scene:") and action != "scene:":
        return SelectScene(key=action.removeprefix("scene:"))
    return None


def record_row(command: Command, outcome: object) -> tuple[str, object]:
    """``(kind, value)`` of the recording's row for a command carried out with ``outcome``.

    ``outcome``: what :meth:`Pipeline.command` returned (panic: muted; blackout: black).
    A panic with no sound to mute keeps what was asked (``"toggle"``, or True/False).
    """
    kind = RECORD_KINDS[type(command)]
    if isinstance(command, SelectScene):
        return kind, command.name or f"key {command.key}"
    if isinstance(command, Panic):
        return kind, outcome if outcome is not None else ("toggle" if command.on is None else command.on)
    if isinstance(command, Blackout):
        return kind, outcome
    if isinstance(command, Rebaseline):
        return kind, command.wearer or "all"
    if isinstance(command, Consent):
        return kind, command.wearer
    assert isinstance(command, Mark)
    return kind, command.label


def from_record(kind: str, value: str) -> Command | None:
    """The command a recorded row stands for (``operator.panic``, ``"1"``), or None for another kind."""
    if kind == "operator.scene":
        return SelectScene(key=value.removeprefix("key ")) if value.startswith("key ") else SelectScene(name=value)
    if kind == "operator.panic":
        return Panic(None if value == "toggle" else value == "1")
    if kind == "operator.blackout":
        return Blackout(value == "1")
    if kind == "operator.rebaseline":
        return Rebaseline(None if value in ("all", "") else value)
    if kind == "operator.mark":
        return Mark(value)
    if kind == "operator.consent":
        return Consent(value)
    return None
