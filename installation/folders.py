"""Fresh, time-stamped folders for what a show writes (run folders, recordings)."""

from __future__ import annotations

import time
from pathlib import Path


def stamped_folder(root: Path, mode: str, suffix: str = "") -> Path:
    """A fresh, not yet created folder ``root/<mode>-YYYYmmdd-HHMMSS`` (``-2``, ``-3``, ... if taken);
    with ``suffix`` (such as ``.xdf``), a file name of that form."""
    stem = f"{mode}-{time.strftime('%Y%m%d-%H%M%S')}"
    candidate, n = root / f"{stem}{suffix}", 1
    while candidate.exists():
        n += 1
        candidate = root / f"{stem}-{n}{suffix}"
    return candidate
