"""The signal core: causal, block-wise analysis of heart and skin-conductance signals."""

from installation.dsp.core import CoreSettings, SignalCore
from installation.dsp.events import Event

__all__ = ["CoreSettings", "Event", "SignalCore"]
