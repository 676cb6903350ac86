"""The operator's keys in the visuals window, and what they do.

Pure: :func:`action_for_key` names the action of a key; :class:`Controls` keeps
what the window itself toggles (the overlay, the blackout). Requests for the
show (re-baseline, panic, scenes) go to the show's process.

=========  =========================================================
key        action
=========  =========================================================
Esc        quit the show (fading out)
B          re-learn every wearer's baseline
P          panic: mute the sound at once (again: back)
K          blackout: the picture goes black at once (again: back)
O, Tab     the operator overlay: wearers' health, latency, fps, xruns
0-9        scenes (a scene's ``key`` in the show file)
=========  =========================================================
"""

from __future__ import annotations

from dataclasses import dataclass

import pygame

#: Key code -> action name.
KEY_ACTIONS: dict[int, str] = {
    pygame.K_ESCAPE: "quit",
    pygame.K_b: "rebaseline",
    pygame.K_p: "panic",
    pygame.K_k: "blackout",
    pygame.K_o: "overlay",
    pygame.K_TAB: "overlay",
    **{pygame.K_0 + n: f"scene:{n}" for n in range(10)},
}


def action_for_key(key: int) -> str | None:
    """The action of a key code (``"quit"``, ``"panic"``, ``"scene:3"``, ...), or None."""
    return KEY_ACTIONS.get(key)


@dataclass(slots=True)
class Controls:
    """What the window toggles by itself, at once, without asking the show."""

    overlay: bool = False
    blackout: bool = False

    def handle(self, action: str) -> str | None:
        """Carry out a window action; return the request for the show's process, if any.

        ``overlay`` stays in the window; ``blackout`` is done here and reported
        (``"blackout:on"``/``"blackout:off"``) so a restarted window stays black.
        """
        if action == "overlay":
            self.overlay = not self.overlay
            return None
        if action == "blackout":
            self.blackout = not self.blackout
            return f"blackout:{'on' if self.blackout else 'off'}"
        return action
