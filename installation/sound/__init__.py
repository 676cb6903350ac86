"""Sound: pyo server lifecycle, audio backends, the safety chain and patch loading."""

from installation.sound.engine import SoundEngine, SoundError
from installation.sound.patch import Patch, load_patch

__all__ = ["Patch", "SoundEngine", "SoundError", "load_patch"]
