"""The operator's commands: the words the window and the console send, and a recording's rows."""

from __future__ import annotations

import pytest

from installation.operator_commands import (
    OPERATOR_KINDS,
    Blackout,
    Consent,
    Mark,
    Panic,
    Quit,
    Rebaseline,
    SelectScene,
    from_record,
    parse_action,
    record_row,
)


@pytest.mark.parametrize(("action", "command"), [
    ("panic", Panic()),
    ("blackout", Blackout()),
    ("blackout:on", Blackout(True)),
    ("blackout:off", Blackout(False)),
    ("rebaseline", Rebaseline()),
    ("mark", Mark()),
    ("quit", Quit()),
    ("scene:3", SelectScene(key="3")),
    ("consent:p2", Consent("p2")),
    ("consent:", None),
    ("scene:", None),
    ("overlay", None),  # the window keeps that one to itself
    ("help", None),
    ("", None),
])
def test_actions_become_commands(action: str, command: object) -> None:
    assert parse_action(action) == command


@pytest.mark.parametrize(("command", "outcome", "row"), [
    (SelectScene(name="storm"), None, ("operator.scene", "storm")),
    (SelectScene(key="2"), None, ("operator.scene", "key 2")),
    (Panic(), True, ("operator.panic", True)),
    (Panic(True), None, ("operator.panic", True)),  # no sound: what was asked
    (Panic(), None, ("operator.panic", "toggle")),
    (Blackout(), False, ("operator.blackout", False)),
    (Rebaseline(), None, ("operator.rebaseline", "all")),
    (Rebaseline("p3"), None, ("operator.rebaseline", "p3")),
    (Mark("doors open"), 2, ("operator.mark", "doors open")),
    (Consent("p4"), True, ("operator.consent", "p4")),
])
def test_commands_are_recorded_as_rows(command: object, outcome: object, row: tuple[str, object]) -> None:
    assert record_row(command, outcome) == row  # type: ignore[arg-type]


@pytest.mark.parametrize(("kind", "value", "command"), [
    ("operator.scene", "storm", SelectScene(name="storm")),
    ("operator.scene", "key 2", SelectScene(key="2")),
    ("operator.panic", "1", Panic(True)),
    ("operator.panic", "0", Panic(False)),
    ("operator.panic", "toggle", Panic(None)),
    ("operator.blackout", "1", Blackout(True)),
    ("operator.rebaseline", "all", Rebaseline(None)),
    ("operator.rebaseline", "p2", Rebaseline("p2")),
    ("operator.mark", "", Mark("")),
    ("operator.consent", "p3", Consent("p3")),
    ("consent.device", "p3", None),  # a device's grant: the recording's, not the operator's
    ("scene", "storm", None),  # a scene the show chose itself is not re-applied
    ("heart.beat", "72", None),
])
def test_recorded_rows_become_commands(kind: str, value: str, command: object) -> None:
    assert from_record(kind, value) == command


def test_every_recorded_kind_is_read_back() -> None:
    assert all(from_record(kind, "1") is not None for kind in OPERATOR_KINDS)
