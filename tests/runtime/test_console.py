"""The operator console: its keys (a table), its panes, and a real rehearsal driven through a pty."""

from __future__ import annotations

import fcntl
import logging
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pyte
import pytest

from installation.runtime.console import EventsHandler, KeyHandler, console_action, console_wanted, wearers_to_show
from installation.operator_commands import Mark
from installation.status import WearerStatus

from tests.helpers import DEFAULT_SHOW, REPO, headless_env

ANSI = re.compile(rb"\x1b(\[[0-9;?]*[ -/]*[@-~]|[()][0-9A-B]|[=>78])")


@pytest.mark.parametrize(
    ("key", "action"),
    [
        ("p", "panic"), ("P", "panic"), ("k", "blackout"), ("b", "rebaseline"), ("m", "mark"),
        ("?", "help"), ("h", "help"), ("0", "scene:0"), ("3", "scene:3"), ("9", "scene:9"),
        ("q", "quit"), ("c", "consent-ask"), ("C", "consent-ask"), ("x", None), (" ", None), ("\x1b", None), ("\n", None),
    ],
)
def test_key_table(key: str, action: str | None) -> None:
    assert console_action(key) == action


@pytest.mark.parametrize(
    ("presses", "actions"),
    [
        ([("q", 0.0)], ["quit-ask"]),
        ([("q", 0.0), ("q", 1.0)], ["quit-ask", "quit"]),
        ([("q", 0.0), ("Q", 2.9)], ["quit-ask", "quit"]),
        ([("q", 0.0), ("q", 3.5)], ["quit-ask", "quit-ask"]),  # too late: asks again
        ([("q", 0.0), ("p", 0.5), ("q", 1.0)], ["quit-ask", "panic", "quit-ask"]),  # another key cancels
        ([("q", 0.0), ("x", 0.5), ("q", 1.0)], ["quit-ask", None, "quit"]),  # a key that does nothing does not
        ([("m", 0.0), ("m", 0.1)], ["mark", "mark"]),
    ],
)
def test_quitting_needs_a_second_q(presses: list[tuple[str, float]], actions: list[str | None]) -> None:
    keys = KeyHandler(confirm_s=3.0)
    assert [keys.handle(k, t) for k, t in presses] == actions


@pytest.mark.parametrize(
    ("presses", "actions"),
    [
        ([("c", 0.0), ("2", 1.0), ("\n", 2.0)], ["consent-ask", "consent-typing:2", "consent:p2"]),
        ([("c", 0.0), ("1", 1.0), ("2", 1.5), ("\r", 2.0)], ["consent-ask", "consent-typing:1", "consent-typing:12", "consent:p12"]),
        ([("c", 0.0), ("\n", 1.0), ("3", 1.5)], ["consent-ask", "consent-cancel", "scene:3"]),  # no number: nothing
        ([("c", 0.0), ("2", 1.0), ("\x1b", 2.0), ("\n", 2.5)], ["consent-ask", "consent-typing:2", "consent-cancel", None]),
        ([("c", 0.0), ("0", 1.0), ("\n", 2.0)], ["consent-ask", "consent-typing:0", "consent-cancel"]),  # there is no p0
        ([("c", 0.0), ("2", 11.0), ("\n", 12.0)], ["consent-ask", "scene:2", None]),  # too late: 2 is a scene again
        ([("c", 0.0), ("2", 9.0), ("\n", 18.0)], ["consent-ask", "consent-typing:2", "consent:p2"]),  # each digit gives time
        ([("q", 0.0), ("c", 0.5), ("q", 1.0)], ["quit-ask", "consent-ask", "consent-cancel"]),  # c cancels a quit
    ],
)
def test_consent_is_c_the_wearers_number_and_enter(presses: list[tuple[str, float]], actions: list[str | None]) -> None:
    keys = KeyHandler()
    assert [keys.handle(k, t) for k, t in presses] == actions


@pytest.mark.parametrize(
    ("flag", "stdin_tty", "stdout_tty", "wanted"),
    [(None, True, True, True), (None, True, False, False), (None, False, True, False),
     (True, False, False, True), (False, True, True, False)],
)
def test_console_default_is_on_in_a_terminal(flag: bool | None, stdin_tty: bool, stdout_tty: bool, wanted: bool) -> None:
    assert console_wanted(flag, lambda: stdin_tty, lambda: stdout_tty) is wanted


@pytest.mark.parametrize(
    ("states", "rows", "shown", "left_out"),
    [
        (["ok", "ok", "ok"], 5, ["p1", "p2", "p3"], 0),
        (["ok", "flat", "ok", "dropout"], 2, ["p2", "p4"], 2),  # the ones with a problem first ...
        (["ok", "flat", "ok", "ok"], 2, ["p1", "p2"], 2),  # ... then the others, in slot order
    ],
)
def test_wearers_with_problems_are_shown_first(states: list[str], rows: int, shown: list[str], left_out: int) -> None:
    wearers = [WearerStatus(f"p{i + 1}", 70.0, 1.0, 0.9 if st == "ok" else 0.0, st) for i, st in enumerate(states)]
    got, n = wearers_to_show(wearers, rows)
    assert [w.wearer for w in got] == shown and n == left_out


def test_events_keep_the_last_warnings_with_their_clock_time() -> None:
    handler = EventsHandler(kept=3)
    logger = logging.getLogger("installation.test_console")
    logger.addHandler(handler)
    try:
        logger.info("not kept: below warning")
        for i in range(5):
            logger.warning("warning %d", i)
        logger.error("broken")
    finally:
        logger.removeHandler(handler)
    lines = handler.snapshot()
    assert [ln.message for ln in lines] == ["warning 3", "warning 4", "broken"]
    assert lines[-1].level == "ERROR" and re.fullmatch(r"\d\d:\d\d:\d\d", lines[-1].clock)


# ---- a real rehearsal in a pseudo-terminal ------------------------------------------------
class Screen:
    """The master side of a pty: everything the program wrote, escape codes removed."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.raw = b""

    def pump(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.fd], [], [], 0.05)
            if ready:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:  # the child closed its side
                    return
                if not chunk:
                    return
                self.raw += chunk

    @property
    def text(self) -> str:
        return ANSI.sub(b"", self.raw).decode("utf-8", errors="replace")

    def wait_for(self, pattern: str, timeout_s: float, since: int = 0) -> re.Match[str]:
        deadline = time.monotonic() + timeout_s
        while True:
            found = re.search(pattern, self.text[since:])
            if found is not None:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"{pattern!r} not on the screen within {timeout_s} s; last output:\n{self.text[-3000:]}")
            self.pump(0.2)


def test_rehearsal_console_in_a_pty(tmp_path: Path) -> None:
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    before = termios.tcgetattr(slave)
    env = headless_env()
    env["TERM"] = "xterm-256color"
    proc = subprocess.Popen(
        [sys.executable, "-m", "installation", "rehearse", "--console", "--duration", "60", "--participants", "4",
         "--audio", "file", "--visuals", "none", "--runs-dir", str(tmp_path)],
        cwd=REPO, env=env, stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    screen = Screen(master)  # the slave stays open here too, to read its modes afterwards
    try:
        screen.wait_for(r"wearer\s+state\s+HR bpm", 60.0)
        # both wearers' rows, with a heart rate once the core has learnt their rhythm
        for wearer in ("p1", "p2", "p3", "p4"):  # state, HR, EDA level, SCRs, quality, last seen
            screen.wait_for(wearer + r"\s+(ok|noisy)\s+\d{2,3}\s+\d+\.\d\d\s+\d+\s+[01]\.\d\d\s+\d+\.\d s ago", 40.0)
        screen.wait_for(r"loop latency \d+\.\d\d ms\s+audio xruns \d+\s+CPU \d+%", 5.0)
        terminal = pyte.Screen(80, 24)  # the screen as an 80x24 terminal shows it: everything fits
        pyte.ByteStream(terminal).feed(screen.raw)
        rows = terminal.display
        assert rows[0].startswith("Eco-Symphony") and any(r.startswith("p4 ") for r in rows)
        assert any("q q quit" in r for r in rows) and any(r.startswith("events") for r in rows)
        mark = len(screen.text)
        os.write(master, b"p")
        screen.wait_for(r"PANIC: sound muted", 10.0, since=mark)
        mark = len(screen.text)
        os.write(master, b"m")
        screen.wait_for(r"\d\d:\d\d:\d\d mark 1 at \d+\.\d s", 10.0, since=mark)
        mark = len(screen.text)
        os.write(master, b"q")
        screen.wait_for(r"press q again", 10.0, since=mark)
        assert proc.poll() is None  # one q does not stop the show
        os.write(master, b"q")
        deadline = time.monotonic() + 30.0
        while proc.poll() is None and time.monotonic() < deadline:
            screen.pump(0.2)
        screen.pump(0.5)
        assert proc.returncode == 0, screen.text[-3000:]
        after = termios.tcgetattr(slave)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        os.close(master)
        os.close(slave)
    # the summary follows once the console gave the terminal back, in its normal modes again
    assert "4 participants" in screen.text.split("stopping the show")[-1]
    lflag = after[3]
    assert lflag & termios.ICANON and lflag & termios.ECHO
    assert after[3] == before[3]


# ---- the console's actions reach the show ------------------------------------------------
def _mean_brightness(png: Path) -> float:
    import numpy as np
    import pygame

    return float(np.asarray(pygame.surfarray.array3d(pygame.image.load(str(png)))).mean())


def test_blackout_and_marks_from_the_console_reach_the_show(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from installation.config import load_show
    from installation.runtime.console import OperatorConsole
    from installation.runtime.launch import prepare_show
    from installation.sensors.simulated import SimulatedAudience
    from installation.runtime.session import Session
    from installation.visuals.process import Renderer, RendererSettings

    prepared = prepare_show(load_show(DEFAULT_SHOW))
    frames = tmp_path / "frames"
    renderer = Renderer(RendererSettings(["p1", "p2"], (160, 90), headless=True, frames_dir=frames, frame_every_s=0.1))
    session = Session(prepared.show, prepared.mapper, [SimulatedAudience(2, seed=3)], ["p1", "p2"], None, renderer)
    operator = OperatorConsole(session, keys=False)  # not started: its actions only
    with caplog.at_level(logging.WARNING, logger="installation.runtime.session"):
        with session:
            assert renderer.wait_started() is not None
            session.run(1.0)
            lit = sorted(frames.glob("frame_*.png"))
            assert operator.press("k") == "blackout" and session.blackout
            session.run(0.5)  # the window turns black within a frame or two
            first_black = len(sorted(frames.glob("frame_*.png")))
            session.run(0.7)
            assert operator.press("m") == "mark" and operator.press("m") == "mark"
            assert session.command(Mark("doors open")) == 3
            assert operator.press("k") == "blackout" and not session.blackout
            session.run(0.3)
    black = sorted(frames.glob("frame_*.png"))[first_black:first_black + 4]
    assert lit and _mean_brightness(lit[-1]) > 1.0
    assert len(black) >= 3 and all(_mean_brightness(f) == 0.0 for f in black)
    assert "visuals: blackout on" in caplog.text and "visuals: blackout off" in caplog.text
    assert re.search(r"mark 1 at \d+\.\d s", caplog.text) and "mark 2 at" in caplog.text
    assert re.search(r"mark 3 at \d+\.\d s: doors open", caplog.text)


# ---- the Link line ------------------------------------------------------------------------------
def _link(timeline: object = None, error: str | None = None, lead: bool = False) -> object:
    from installation.config import LinkConfig
    from installation.link.clock import LinkClock

    clock = LinkClock(LinkConfig(enabled=True, lead=lead))  # not started: no network
    clock.timeline, clock.error = timeline, error  # type: ignore[assignment]
    return clock


def _timeline(peers: int, tempo: float, role: str) -> object:
    from installation.link.beats import Timeline

    return Timeline(0.0, 0.0, tempo, peers, 4.0, role)


@pytest.mark.parametrize(
    ("make", "line"),
    [
        (lambda: None, None),
        (lambda: _link(), "Link: starting"),
        (lambda: _link(_timeline(0, 120.0, "listening")), "Link: 0 peers   120.0 bpm   joining"),
        (lambda: _link(_timeline(2, 96.04, "following")), "Link: 2 peers   96.0 bpm   following"),
        (lambda: _link(_timeline(1, 72.5, "leading")), "Link: 1 peer   72.5 bpm   leading"),
        (lambda: _link(_timeline(3, 72.5, "leading"), lead=True), "Link: 3 peers   72.5 bpm   leading  (lead = true)"),
        (lambda: _link(error="aalink missing"), "Link: not running (aalink missing); trying again"),
    ],
)
def test_the_link_line(make, line: str | None) -> None:  # type: ignore[no-untyped-def]
    from installation.runtime.console import link_line

    assert link_line(make()) == line


def test_the_console_shows_the_link_line_and_still_fits_80x24() -> None:
    from types import SimpleNamespace

    from rich.console import Console

    from installation.runtime.console import OperatorConsole
    from installation.status import OperatorStatus, WearerStatus

    session = SimpleNamespace(show=SimpleNamespace(scenes=[]), blackout=False,
                              link=_link(_timeline(2, 100.0, "following")))
    screen = Console(width=80, height=24, record=True, force_terminal=False)
    console = OperatorConsole(session, "t", console=screen, keys=False)  # type: ignore[arg-type]
    console._status = OperatorStatus(wearers=[WearerStatus(f"p{i}", 70.0, 2.0, 0.9, "ok", 5.0, 0.1) for i in range(1, 9)])
    screen.print(console._render())
    lines = screen.export_text().splitlines()
    assert "Link: 2 peers   100.0 bpm   following" in lines[2]
    assert len(lines) <= 24 and any(line.startswith("p8") for line in lines)


@pytest.mark.parametrize("notices", [1, 3])
def test_the_console_shows_standing_notices_above_the_wearers_and_still_fits_80x24(notices: int) -> None:
    from types import SimpleNamespace

    from rich.console import Console

    from installation.runtime.console import OperatorConsole
    from installation.status import Notice, OperatorStatus, WearerStatus

    session = SimpleNamespace(show=SimpleNamespace(scenes=[]), blackout=False)
    screen = Console(width=80, height=24, record=True, force_terminal=False)
    console = OperatorConsole(session, "t", console=screen, keys=False)  # type: ignore[arg-type]
    standing = [Notice(1.7e9 + i, f"p{i + 1}", "care.racing_heart", f"p{i + 1}: heart racing") for i in range(notices)]
    console._status = OperatorStatus(wearers=[WearerStatus(f"p{i}", 70.0, 2.0, 0.9, "ok", 5.0, 0.1) for i in range(1, 9)],
                                     notices=standing)
    screen.print(console._render())
    lines = screen.export_text().splitlines()
    shown = [i for i, line in enumerate(lines) if line.startswith("! ") and "heart racing" in line]
    assert len(shown) == notices, lines
    first_wearer = next(i for i, line in enumerate(lines) if line.startswith("p1 "))
    assert max(shown) < first_wearer and len(lines) <= 24
