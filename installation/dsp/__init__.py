"""The signal core: causal, block-wise analysis of heart and skin-conductance signals.

``SignalCore``, ``CoreSettings`` and ``Event`` are loaded on first use, so that a process
that needs one light module of the package (the visuals process: :mod:`installation.dsp.flash`)
does not load the compiled kernels, numba and scipy with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from installation.dsp.core import CoreSettings, SignalCore
    from installation.dsp.events import Event

__all__ = ["CoreSettings", "Event", "SignalCore"]


def __getattr__(name: str) -> Any:
    if name in ("CoreSettings", "SignalCore"):
        from installation.dsp import core

        return getattr(core, name)
    if name == "Event":
        from installation.dsp.events import Event

        return Event
    raise AttributeError(f"module 'installation.dsp' has no attribute {name!r}")
