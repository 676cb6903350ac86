"""The console's lights line: frames sent per second by each lighting output."""

from __future__ import annotations

import pytest

from installation.runtime.console import lights_line


@pytest.mark.parametrize("labels, rates, house, line", [
    (["outputs[2] sacn 10.0.0.5"], [40.2], False, "lights: outputs[2] sacn 10.0.0.5 40/s"),
    (["outputs[0] wash", "outputs[1] node"], [1.0, 80.0], False, "lights: outputs[0] wash 1/s   outputs[1] node 80/s"),
    (["outputs[0] wash"], [1.0], True, "lights: outputs[0] wash 1/s   HOUSE LOOK (show stalled)"),
])
def test_lights_line(labels: list[str], rates: list[float], house: bool, line: str) -> None:
    assert lights_line(labels, rates, house) == line
