"""A short show recorded once with the real session threads, shared by the recording tests."""

from __future__ import annotations

import pytest

from tests.record.shared import Recorded, record_show


@pytest.fixture(scope="session")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    """Two simulated wearers for a few seconds through the real reader and core threads,
    with an operator who marks, chooses a scene, re-baselines one wearer, panics and blacks out."""
    return record_show(tmp_path_factory.mktemp("recordings"))
