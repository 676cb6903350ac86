"""Flash safety for the lights: every fixture's brightness goes through a :class:`FlashLimiter`.

The definition, the counter and the limiter live in :mod:`installation.dsp.flash`,
below both the screen and the lights in the package's layers, so that the visuals
process and the lighting outputs share one definition. A rig makes one limiter
with a channel per fixture, and each frame::

    wanted = fixture_brightness(colours, intensities)   # the brightest emitter of each
    allowed = limiter.limit(wanted, now_s)
    levels = colours * intensities[:, None] * limiter.scale[:, None]
"""

from installation.dsp.flash import (
    DARK_BELOW,
    FLASH_THRESHOLD,
    MAX_FLASHES_PER_S,
    FlashLimiter,
    check_max_flashes,
    count_flashes,
    fixture_brightness,
)

__all__ = ["DARK_BELOW", "FLASH_THRESHOLD", "MAX_FLASHES_PER_S", "FlashLimiter", "check_max_flashes",
           "count_flashes", "fixture_brightness"]
