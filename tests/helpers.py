"""Paths and the ``ecosymphony`` command, shared by the tests (``from tests.helpers import ...``).

Plain names rather than fixtures: tests use them at import time (module constants,
default arguments, parametrisations), where a fixture cannot reach.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

#: The repository's root folder.
REPO = Path(__file__).resolve().parent.parent
#: The default show.
DEFAULT_SHOW = REPO / "patches" / "default.toml"


def headless_env() -> dict[str, str]:
    """This process's environment without a display, so that a child never opens a window."""
    return {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}


def ecosymphony(*args: str, cwd: Path = REPO, timeout_s: float = 120.0) -> subprocess.CompletedProcess[str]:
    """Run ``ecosymphony ARGS`` as a user would, headless, and wait for it (output captured as text).

    ``COLUMNS`` is wide so that a table's row stays on one line, for the assertions.
    """
    env = headless_env()
    env["COLUMNS"] = "200"
    return subprocess.run([sys.executable, "-m", "installation", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout_s)
