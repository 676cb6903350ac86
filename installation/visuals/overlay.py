"""The operator overlay: the show's health drawn over the scene.

Pure drawing: :func:`draw_overlay` paints an :class:`OperatorStatus` (made by
the show's process, see :mod:`installation.status`)
and the window's own frame rate onto a surface. Toggled with O or Tab.
"""

from __future__ import annotations

import math

import pygame

from installation.status import OperatorStatus

BAD = (255, 120, 100)
OK = (170, 235, 210)
DIM = (150, 170, 190)
NOTICE = (255, 210, 90)


def _num(value: float, fmt: str) -> str:
    return fmt.format(value) if math.isfinite(value) else "-"


def overlay_lines(status: OperatorStatus | None, fps: float, frame_latency_ms: float) -> list[tuple[str, tuple[int, int, int]]]:
    """The overlay's text, line by line, with a colour each (pure, testable)."""
    lines: list[tuple[str, tuple[int, int, int]]] = [
        (f"fps {_num(fps, '{:.0f}')}   event->frame {_num(frame_latency_ms, '{:.1f}')} ms", OK),
    ]
    if status is None:
        lines.append(("waiting for the show...", DIM))
        return lines
    lines.append((f"loop latency {_num(status.loop_latency_ms, '{:.2f}')} ms   audio xruns {status.audio_xruns}"
                  + ("   PANIC: sound muted" if status.panicked else "")
                  + (f"   scene {status.scene}" if status.scene else ""), BAD if status.panicked else OK))
    for notice in status.notices:  # welfare and failing sensors first: the operator must not miss them
        lines.append((f"! {notice.line()}", NOTICE))
    lines.append(("wearer   HR bpm   SCR/min   quality   state", DIM))
    for w in status.wearers:
        good = w.quality >= 0.3 and w.state in ("ok", "learning")
        lines.append((f"{w.wearer:<8} {_num(w.bpm, '{:6.1f}'):>6}   {_num(w.scr_rate, '{:5.0f}'):>7}   "
                      f"{_num(w.quality, '{:5.2f}'):>7}   {w.state}", OK if good else BAD))
    for s in status.sources:
        lines.append((f"{s.name}: {'ok' if s.ok else 'PROBLEM'} {s.detail}".rstrip(), OK if s.ok else BAD))
    return lines


def draw_overlay(surface: pygame.Surface, font: pygame.font.Font, status: OperatorStatus | None, fps: float,
                 frame_latency_ms: float) -> pygame.Rect:
    """Draw the overlay in the top-left corner of ``surface``; return the area it covers."""
    lines = overlay_lines(status, fps, frame_latency_ms)
    pad = max(4, font.get_linesize() // 3)
    rendered = [font.render(text, True, colour) for text, colour in lines]
    width = min(surface.get_width(), max(r.get_width() for r in rendered) + 2 * pad)
    height = min(surface.get_height(), sum(r.get_height() for r in rendered) + 2 * pad)
    box = pygame.Rect(0, 0, width, height)
    panel = pygame.Surface(box.size)
    panel.set_alpha(200)
    panel.fill((4, 10, 18))
    surface.blit(panel, box.topleft)
    y = pad
    for r in rendered:
        surface.blit(r, (pad, y))
        y += r.get_height()
    return box


def overlay_font(surface_height_px: int) -> pygame.font.Font:
    """pygame's own font at a size readable from a few metres on this surface."""
    if not pygame.font.get_init():
        pygame.font.init()
    return pygame.font.Font(None, max(14, surface_height_px // 34))
