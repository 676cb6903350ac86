"""Fixtures -> DMX channels (pure): which channels of which universe each fixture takes, and what each one is.

A fixture's layout names its channels in order: ``dimmer`` (one), ``rgb`` (three),
``rgbw`` (four), ``rgb+dimmer`` (four: red, green, blue, dimmer), ``strip`` (``pixels``
times red, green, blue), or the show's own list (``channels = ["red", "green", "blue", "strobe"]``).
"""

from __future__ import annotations

from dataclasses import dataclass

from installation.config import FixtureConfig

#: The channels of each named layout (a strip repeats ``rgb`` once per pixel).
LAYOUTS: dict[str, tuple[str, ...]] = {
    "dimmer": ("dimmer",),
    "rgb": ("red", "green", "blue"),
    "rgbw": ("red", "green", "blue", "white"),
    "rgb+dimmer": ("red", "green", "blue", "dimmer"),
}
#: DMX channels in one universe.
UNIVERSE_SIZE = 512


@dataclass(frozen=True, slots=True)
class Patch:
    """One fixture's place in its universe.

    Attributes
    ----------
    name : str
        The fixture's name (``light.<name>.*``).
    universe : int
        Its universe, as its output's protocol numbers them.
    start : int
        Index of its first channel in the universe's 512 bytes (its DMX address minus 1).
    channels : tuple of str
        What each channel is, in order.
    pixels : int
        Pixels of a strip; 1 for any other fixture.
    """

    name: str
    universe: int
    start: int
    channels: tuple[str, ...]
    pixels: int = 1

    @property
    def end(self) -> int:
        """Index one past its last channel (may exceed 512 for a fixture that does not fit)."""
        return self.start + len(self.channels)

    @property
    def last_address(self) -> int:
        """Its last DMX address (1-based)."""
        return self.end


def fixture_channels(cfg: FixtureConfig) -> tuple[str, ...]:
    """The channel names of one fixture, in DMX order."""
    if cfg.channels is not None:
        return tuple(cfg.channels)
    if cfg.layout == "strip":
        return ("red", "green", "blue") * int(cfg.pixels or 0)
    assert cfg.layout is not None
    return LAYOUTS[cfg.layout]


def patch_fixture(cfg: FixtureConfig) -> Patch:
    """A fixture's place: universe, first channel index, channel names, pixels."""
    return Patch(cfg.name, cfg.universe, cfg.address - 1, fixture_channels(cfg),
                 int(cfg.pixels) if cfg.layout == "strip" and cfg.pixels else 1)
