"""STAND-IN for the flash limiter (``installation.lights.flash.FlashLimiter``), which is built apart.

:class:`IdentityFlashLimiter` has the limiter's interface and limits nothing: it hands every
fixture's brightness back unchanged. The rig (:mod:`installation.lights.rig`) imports it in one
marked place; when ``installation.lights.flash`` lands, that import is replaced and this module
deleted.
"""

from __future__ import annotations

import numpy as np


class IdentityFlashLimiter:
    """The flash limiter's interface, limiting nothing (a stand-in).

    Parameters
    ----------
    channels : int
        Fixtures whose brightness it is given each frame.
    max_flashes_per_s : float
        Most flashes a second (ignored by the stand-in).
    """

    def __init__(self, channels: int, max_flashes_per_s: float = 3.0) -> None:
        self.channels = channels
        self.max_flashes_per_s = max_flashes_per_s

    def limit(self, brightness: np.ndarray, now_s: float) -> np.ndarray:
        """Per-fixture brightness 0..1 at ``now_s`` (seconds) -> the brightness to show: unchanged."""
        return brightness
