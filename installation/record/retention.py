"""Deleting recordings older than ``[record] keep_days``, when a show starts.

Only what is recognisably ours goes, in the recordings' folder (``[record] dir``, or
``--record DIR``) and nowhere below it:

* a folder named as the recorder names them (``run-YYYYmmdd-HHMMSS``, ``rehearse-...``,
  with ``-2``, ``-3``, ... when taken) holding a ``meta.json`` of an eco-symphony
  recording: its files of ours (:data:`FOLDER_FILES`, and their ``.tmp`` left by a
  crash) are deleted, then the folder if nothing else is left in it (a file someone put
  there is kept, and said so);
* an ``.xdf`` file named the same way whose header says it is an eco-symphony recording,
  and the files made beside it (:data:`BESIDE_NAMES`: its log and its report).

A recording's age is counted from the date and time in its name (when it began, local
time), so that rewriting it (``ecosymphony forget``) does not make it young again;
renaming a recording (or moving it elsewhere) is how to keep one. A recording being
written (a show recording into it now) is never deleted.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from installation.record.writer import FORMAT, being_written

#: Names the recorder gives (mode, date, time, a number when taken; ``.xdf`` for a file).
RECORDING_NAME = re.compile(r"(run|rehearse)-(\d{8})-(\d{6})(?:-\d+)?(\.xdf)?")
#: The files of a recording folder (the recorder's, ``forget``'s log, ``report``'s picture).
FOLDER_FILES = ("samples.csv", "events.csv", "meta.json", "show.toml", "log.txt", "report.png")
#: Files made beside an ``.xdf`` recording (``NAME-log.txt``, ``NAME-report.png``).
BESIDE_NAMES = ("log.txt", "report.png")
DAY_S = 86400.0


@dataclass(frozen=True, slots=True)
class Expired:
    """A recording past its time: where it is and how many days old it is."""

    path: Path
    age_days: float


def started_s(name: str) -> float | None:
    """When a recording began (seconds since the epoch) from its name, None for a name not ours."""
    m = RECORDING_NAME.fullmatch(name)
    if m is None:
        return None
    try:
        return time.mktime(time.strptime(m.group(2) + m.group(3), "%Y%m%d%H%M%S"))
    except (ValueError, OverflowError):
        return None


def is_our_recording(path: Path) -> bool:
    """True for a recording folder or ``.xdf`` file the recorder made (named so, and saying so inside)."""
    if RECORDING_NAME.fullmatch(path.name) is None:
        return False
    try:
        if path.is_dir() and not path.is_symlink():
            meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
            return isinstance(meta, dict) and meta.get("format") == FORMAT
        if path.is_file() and not path.is_symlink() and path.suffix == ".xdf":
            with open(path, "rb") as f:
                head = f.read(65536)
            return head.startswith(b"XDF:") and b"<eco_symphony>" in head and FORMAT.encode() in head
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return False


def expired_recordings(root: Path, keep_days: int, now_s: float | None = None) -> list[Expired]:
    """The recordings in ``root`` that began more than ``keep_days`` days ago (none when ``keep_days`` is 0)."""
    if keep_days <= 0 or not root.is_dir():
        return []
    now_s = time.time() if now_s is None else now_s
    out = []
    for path in sorted(root.iterdir()):
        began = started_s(path.name)
        if began is None:
            continue
        age_days = (now_s - began) / DAY_S
        if age_days > keep_days and is_our_recording(path):
            out.append(Expired(path, age_days))
    return out


def delete_recording(path: Path) -> list[str]:
    """Delete one recording of ours (a folder or an ``.xdf`` file and what is beside it); returns
    what was left and why (files that are not ours).

    Raises
    ------
    OSError
        A file could not be deleted, or the recording is being written.
    """
    left: list[str] = []
    if path.is_dir():
        if being_written(path / "samples.csv"):
            raise BlockingIOError(f"{path}: being written right now (a show is recording into it)")
        for name in FOLDER_FILES:
            for victim in (path / name, path / f"{name}.tmp"):
                if victim.is_file() or victim.is_symlink():
                    victim.unlink()
        others = sorted(p.name for p in path.iterdir())
        if others:
            left.append(f"{path}: kept, as it holds files that are not the recording's: {', '.join(others)}")
        else:
            path.rmdir()
        _sync_folder(path.parent)
        return left
    if being_written(path):
        raise BlockingIOError(f"{path}: being written right now (a show is recording into it)")
    path.unlink()
    for victim in [path.with_name(f"{path.name}.tmp")] + [path.with_name(f"{path.stem}-{n}") for n in BESIDE_NAMES]:
        if victim.is_file():
            victim.unlink()
    _sync_folder(path.parent)
    return left


def delete_expired(root: Path, keep_days: int, notify: Callable[[str], None], now_s: float | None = None) -> list[Path]:
    """Delete every recording in ``root`` older than ``keep_days`` days, one line each to ``notify``; returns
    what was deleted. A recording that cannot be deleted is said so and left."""
    deleted: list[Path] = []
    try:
        expired = expired_recordings(root, keep_days, now_s)
    except OSError as exc:  # a folder that cannot be read: the show starts anyway
        notify(f"Old recordings in {root} could not be looked for: {exc.strerror or exc}")
        return deleted
    for item in expired:
        try:
            left = delete_recording(item.path)
        except OSError as exc:
            notify(f"Recording {item.path} is {item.age_days:.0f} days old but was not deleted: {exc}")
            continue
        deleted.append(item.path)
        notify(f"Deleted recording {item.path}: {item.age_days:.0f} days old, past [record] keep_days = {keep_days}.")
        for line in left:
            notify(line)
    return deleted


def _sync_folder(folder: Path) -> None:
    """Make a folder's changed entries durable (a deletion survives a power cut)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
