"""The operator's keys: what each does, no two clash, and what the window toggles itself."""

from __future__ import annotations

import pygame
import pytest

from installation.visuals.controls import KEY_ACTIONS, Controls, action_for_key


@pytest.mark.parametrize(
    ("key", "action"),
    [(pygame.K_ESCAPE, "quit"), (pygame.K_b, "rebaseline"), (pygame.K_p, "panic"), (pygame.K_k, "blackout"),
     (pygame.K_o, "overlay"), (pygame.K_TAB, "overlay"), (pygame.K_0, "scene:0"), (pygame.K_7, "scene:7"),
     (pygame.K_a, None), (pygame.K_SPACE, None)],
)
def test_keys(key: int, action: str | None) -> None:
    assert action_for_key(key) == action


def test_no_key_does_two_things_and_each_action_has_a_key() -> None:
    assert len(KEY_ACTIONS) == len(set(KEY_ACTIONS))
    assert {"quit", "rebaseline", "panic", "blackout", "overlay"} | {f"scene:{n}" for n in range(10)} == set(KEY_ACTIONS.values())


@pytest.mark.parametrize(
    ("presses", "overlay", "blackout", "requests"),
    [
        (["overlay"], True, False, []),
        (["overlay", "overlay"], False, False, []),
        (["blackout"], False, True, ["blackout:on"]),
        (["blackout", "blackout"], False, False, ["blackout:on", "blackout:off"]),
        (["panic", "scene:2", "rebaseline"], False, False, ["panic", "scene:2", "rebaseline"]),
    ],
)
def test_controls(presses: list[str], overlay: bool, blackout: bool, requests: list[str]) -> None:
    controls = Controls()
    sent = [r for r in (controls.handle(p) for p in presses) if r is not None]
    assert (controls.overlay, controls.blackout, sent) == (overlay, blackout, requests)
