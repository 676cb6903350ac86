"""Shared test set-up.

* Video and audio drivers are SDL's dummies unless a test opens a real display.
* ``ECOSYMPHONY_FORBID_SKIPS=1`` (set by ``.ci/run``) turns every skip into a
  failure: on a user's machine a test may skip for a missing Debian package, in
  CI nothing may.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
os.environ.setdefault("PYO_GUI_WX", "0")

DATA = Path(__file__).parent / "data"


@pytest.fixture
def data_dir() -> Path:
    """Folder of the real recordings copied for the tests."""
    return DATA


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("ECOSYMPHONY_FORBID_SKIPS") == "1" and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped, and skips are forbidden here (ECOSYMPHONY_FORBID_SKIPS=1): {reason}"


@pytest.fixture
def jackd() -> str:
    """Path of JACK's server program; the test skips (naming the package) without it."""
    path = shutil.which("jackd")
    if path is None:
        pytest.skip("needs JACK's server jackd: install the Debian package jackd2 (apt-get install jackd2)")
    return path


@pytest.fixture(scope="session")
def recorded(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A short show recorded once with the real session threads (two simulated wearers and
    an operator who marks, chooses a scene, re-baselines one wearer, panics and blacks out),
    shared by the recording, replay and report tests."""
    from tests.record.shared import record_show

    return record_show(tmp_path_factory.mktemp("recordings"))
