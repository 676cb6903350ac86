"""Audio output discovery that never boots PortAudio in this process.

PortAudio (bundled with pyo) segfaults on boot when Linux has no ALSA device, so
Linux machines without a sound card are recognised from ``/proc/asound/cards``,
and the PortAudio device list is read in a child process that may crash alone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

_PROBE = r"""
import json, os, sys
os.environ.setdefault("PYO_GUI_WX", "0")
import pyo
names, indexes = pyo.pa_get_output_devices()
default = pyo.pa_get_default_output()
sys.stdout.write(json.dumps({"names": list(names), "indexes": list(indexes), "default": default}))
"""


@dataclass(frozen=True, slots=True)
class AudioDevice:
    """A PortAudio output device."""

    index: int
    name: str
    is_default: bool


def linux_has_sound_card(cards_file: Path = Path("/proc/asound/cards")) -> bool:
    """True when ALSA lists at least one sound card (always True off Linux)."""
    if not sys.platform.startswith("linux"):
        return True
    try:
        text = cards_file.read_text()
    except OSError:
        return False
    return bool(text.strip()) and "no soundcards" not in text


def output_devices(timeout_s: float = 15.0) -> list[AudioDevice]:
    """PortAudio output devices, probed in a child process; empty when there are none."""
    if not linux_has_sound_card():
        return []
    try:
        done = subprocess.run(
            [sys.executable, "-c", _PROBE],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            env={**os.environ, "PYO_GUI_WX": "0"},
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    if done.returncode != 0:
        return []
    try:
        data = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return []
    return [
        AudioDevice(int(i), str(n), int(i) == data.get("default"))
        for n, i in zip(data["names"], data["indexes"])
    ]


def choose_output_device(wanted: int | str | None, devices: list[AudioDevice]) -> AudioDevice | None:
    """Pick the device named by index or by part of its name, else the default one.

    Returns None when ``devices`` is empty. Raises ``LookupError`` naming the
    available devices when ``wanted`` matches none.
    """
    if not devices:
        return None
    if wanted is None:
        return next((d for d in devices if d.is_default), devices[0])
    for d in devices:
        if (isinstance(wanted, int) and d.index == wanted) or (
            isinstance(wanted, str) and wanted.lower() in d.name.lower()
        ):
            return d
    listing = ", ".join(f"{d.index}: {d.name}" for d in devices)
    raise LookupError(f"no audio output device matches {wanted!r}; available: {listing}")
