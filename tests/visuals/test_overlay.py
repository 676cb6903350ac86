"""The operator overlay: its lines (pure) and its pixels."""

from __future__ import annotations

import math

import numpy as np
import pygame
import pytest

from installation.status import Notice, OperatorStatus, SourceStatus, WearerStatus
from installation.visuals.overlay import BAD, NOTICE, OK, draw_overlay, overlay_font, overlay_lines

STATUS = OperatorStatus(
    wearers=[WearerStatus("p1", 72.4, 3.0, 0.97, "ok"), WearerStatus("p2", math.nan, 0.0, 0.0, "no contact")],
    loop_latency_ms=0.42, audio_xruns=3,
    sources=[SourceStatus("osc:12345", True, "packets 1200, corrupt 0"), SourceStatus("serial /dev/ttyACM0", False, "lost 4")],
    scene="gather",
)


@pytest.fixture(autouse=True)
def display() -> None:
    pygame.display.init()
    pygame.font.init()
    yield
    pygame.font.quit()
    pygame.display.quit()


@pytest.mark.parametrize(
    ("status", "fps", "expected"),
    [
        (None, 59.7, [("fps 60", OK), ("waiting for the show", None)]),
        (STATUS, 60.0, [("event->frame 8.5 ms", OK), ("loop latency 0.42 ms   audio xruns 3", OK), ("scene gather", OK),
                        ("p1", OK), ("72.4", OK), ("p2", BAD), ("no contact", BAD), ("osc:12345: ok packets 1200", OK),
                        ("serial /dev/ttyACM0: PROBLEM lost 4", BAD)]),
        (OperatorStatus(panicked=True), math.nan, [("fps -", OK), ("PANIC: sound muted", BAD)]),
        (OperatorStatus(notices=[Notice(0.0, "p3", "care.racing_heart", "p3: heart racing, 150 bpm for 30 s")]), 60.0,
         [("! ", NOTICE), ("p3: heart racing, 150 bpm for 30 s", NOTICE)]),
    ],
)
def test_overlay_lines(status: OperatorStatus | None, fps: float, expected: list[tuple[str, tuple[int, int, int] | None]]) -> None:
    lines = overlay_lines(status, fps, 8.5)
    for fragment, colour in expected:
        line = next((ln for ln in lines if fragment in ln[0]), None)
        assert line is not None, (fragment, lines)
        assert colour is None or line[1] == colour, (fragment, line)


@pytest.mark.parametrize("size", [(640, 360), (1920, 1080)])
def test_overlay_draws_text_in_its_corner(size: tuple[int, int]) -> None:
    surface = pygame.Surface(size)
    surface.fill((10, 20, 40))
    before = pygame.surfarray.array3d(surface).astype(int)
    box = draw_overlay(surface, overlay_font(size[1]), STATUS, 60.0, 8.5)
    after = pygame.surfarray.array3d(surface).astype(int)
    changed = np.abs(after - before).max(axis=2) > 40
    assert box.width > 0.2 * size[0] and box.height > 0.15 * size[1]
    assert changed[box.left : box.right, box.top : box.bottom].sum() > 500  # text
    assert not changed[box.right + 1 :, :].any() and not changed[:, box.bottom + 1 :].any()  # nothing outside


def test_notices_come_before_the_wearers() -> None:
    notice = Notice(0.0, "p2", "sensor.heart_failing", "p2: heart sensor failing")
    lines = [text for text, _ in overlay_lines(OperatorStatus(wearers=STATUS.wearers, notices=[notice]), 60.0, 8.5)]
    assert lines.index(next(t for t in lines if "heart sensor failing" in t)) < lines.index(next(t for t in lines if t.startswith("p1")))
