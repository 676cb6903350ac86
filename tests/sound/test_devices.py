"""Audio device discovery without booting PortAudio in the test process."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from installation.sound.devices import AudioDevice, choose_output_device, linux_has_sound_card, output_devices


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ALSA card list is Linux only")
@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, False),
        ("--- no soundcards ---\n", False),
        ("", False),
        (" 0 [PCH            ]: HDA-Intel - HDA Intel PCH\n", True),
    ],
)
def test_linux_sound_card_detection(tmp_path: Path, content: str | None, expected: bool) -> None:
    cards = tmp_path / "cards"
    if content is not None:
        cards.write_text(content)
    assert linux_has_sound_card(cards) is expected


DEVICES = [AudioDevice(0, "HDA Intel PCH: ALC3246 Analog", False), AudioDevice(4, "USB Audio CODEC", True)]


@pytest.mark.parametrize(
    ("wanted", "index"),
    [(None, 4), (0, 0), ("usb", 4), ("alc3246", 0)],
)
def test_choose_output_device(wanted: int | str | None, index: int) -> None:
    chosen = choose_output_device(wanted, DEVICES)
    assert chosen is not None and chosen.index == index


def test_unknown_device_lists_the_available_ones() -> None:
    with pytest.raises(LookupError, match="available: 0: HDA Intel PCH: ALC3246 Analog, 4: USB Audio CODEC"):
        choose_output_device("focusrite", DEVICES)


def test_no_devices_means_none() -> None:
    assert choose_output_device(None, []) is None


def test_probe_never_crashes_this_process() -> None:
    devices = output_devices()
    assert isinstance(devices, list)
    if not linux_has_sound_card():
        assert devices == []
