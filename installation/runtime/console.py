"""The operator console: the show's health and the operator's keys in a terminal.

It runs beside the show window (or instead of it, over SSH): a full-screen
``rich`` display refreshed four times a second with each wearer's state, heart
rate, skin conductance, quality and how long ago their last sample came; the
loop latency, late audio buffers and the show process's CPU; with ``[link]``, the Ableton
Link session's peers, tempo and whether the show leads or follows it; with ``[visual]
serve``, the render nodes connected (address, tile, snapshots behind); and the last
warnings and errors of the show's log, each with its clock time. While it is on,
those log lines go to its events pane instead of scrolling over it.

Keys are read from the terminal in cbreak mode (one key at a time, no echo;
Ctrl-C still stops the show), and the terminal is put back as it was when the
console stops, also on a crash. Without a terminal on standard input no key is
read. Plain ANSI, no mouse: it works over SSH, at 80x24 and larger.

=========  =========================================================
key        action
=========  =========================================================
0-9        the scene on that key (``key`` in the show file)
p          panic: mute the sound at once (again: back)
k          blackout: the picture goes black at once (again: back)
b          re-learn every wearer's baseline
m          mark this moment (logged with a running number)
c N Enter  wearer pN agreed to be recorded (``[record] consent``); Esc or another key: cancel
q          quit: asks for a second q within 3 s (one stray key never stops a show)
?          this help (again: the events)
=========  =========================================================

:func:`console_action` and :class:`KeyHandler` are the pure key handling.
"""

from __future__ import annotations

import atexit
import collections
import logging
import math
import os
import select
import sys
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from rich import box
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from installation.dsp.quality import BAD_STATES
from installation.link.clock import LinkClock
from installation.outputs.midi import MidiState
from installation.operator_commands import Blackout, Consent, Panic, Quit, SelectScene, parse_action
from installation.status import OperatorStatus, RenderNodeStatus, WearerStatus

if TYPE_CHECKING:
    from installation.runtime.session import Session

REFRESH_HZ = 4.0
#: Seconds within which a second q confirms quitting.
QUIT_CONFIRM_S = 3.0
#: Seconds the operator has to type a wearer's number after c.
ENTRY_S = 10.0
#: Warnings and errors kept for the events pane.
EVENTS_KEPT = 10
#: A render node this many snapshots behind (or more) is shown in yellow.
NODE_BEHIND_WARN = 10

#: Key -> action. Upper case does the same as lower case.
KEY_ACTIONS: dict[str, str] = {
    "p": "panic",
    "k": "blackout",
    "b": "rebaseline",
    "m": "mark",
    "c": "consent-ask",
    "q": "quit",
    "?": "help",
    "h": "help",
    **{str(n): f"scene:{n}" for n in range(10)},
}

HELP_LINES: tuple[tuple[str, str], ...] = (
    ("0-9", "the scene on that key"),
    ("p", "panic: mute the sound at once (again: back)"),
    ("k", "blackout: the picture goes black (again: back)"),
    ("b", "re-learn every wearer's baseline"),
    ("m", "mark this moment (numbered, in the log)"),
    ("c N Enter", "wearer pN agreed to be recorded"),
    ("q q", "quit (a second q within 3 s)"),
    ("?", "this help (again: the events)"),
    ("Ctrl-C", "stop the show (fading out)"),
)


def console_action(key: str) -> str | None:
    """The action of a key typed in the console (``"panic"``, ``"scene:3"``, ...), or None."""
    return KEY_ACTIONS.get(key.lower() if len(key) == 1 else key)


@dataclass(slots=True)
class KeyHandler:
    """Keys -> actions, with quitting confirmed by a second q within ``confirm_s`` seconds,
    and a wearer's consent typed as c, the slot's number, Enter (within ``entry_s`` seconds).

    :meth:`handle` returns the action to carry out: ``"quit-ask"`` for a first q,
    ``"quit"`` for a confirming one; ``"consent-ask"`` for c, ``"consent-typing:N"`` for
    each digit after it, ``"consent:pN"`` for the Enter that ends it and
    ``"consent-cancel"`` for any other key (which does nothing else); otherwise
    :func:`console_action`'s.
    """

    confirm_s: float = QUIT_CONFIRM_S
    entry_s: float = ENTRY_S
    _quit_asked_s: float = -math.inf
    _entry: str | None = None
    _entry_s: float = -math.inf

    def handle(self, key: str, now_s: float) -> str | None:
        """The action of ``key`` pressed at ``now_s`` (monotonic seconds)."""
        if self._entry is not None and now_s - self._entry_s <= self.entry_s:
            if key.isdigit() and len(self._entry) < 3:
                self._entry, self._entry_s = self._entry + key, now_s
                return f"consent-typing:{self._entry}"
            entry, self._entry = self._entry, None
            if key in ("\r", "\n") and entry.lstrip("0"):
                return f"consent:p{int(entry)}"
            return "consent-cancel"
        self._entry = None
        action = console_action(key)
        if action == "consent-ask":
            self._entry, self._entry_s = "", now_s
            self._quit_asked_s = -math.inf
            return action
        if action == "quit":
            if now_s - self._quit_asked_s <= self.confirm_s:
                self._quit_asked_s = -math.inf
                return "quit"
            self._quit_asked_s = now_s
            return "quit-ask"
        if action is not None:
            self._quit_asked_s = -math.inf  # any other key cancels a pending quit
        return action


@dataclass(frozen=True, slots=True)
class LogLine:
    """One line of the events pane: clock time (HH:MM:SS), level name and message."""

    clock: str
    level: str
    message: str


class EventsHandler(logging.Handler):
    """Keeps the last ``kept`` log records (warnings and errors by default) for the events pane."""

    def __init__(self, kept: int = EVENTS_KEPT, level: int = logging.WARNING) -> None:
        super().__init__(level)
        self.lines: collections.deque[LogLine] = collections.deque(maxlen=kept)
        self._lines_lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not break the show
            message = str(record.msg)
        self.add(message, record.levelname, record.created)

    def add(self, message: str, level: str = "INFO", created_s: float | None = None) -> None:
        """Add a line of our own (``created_s``: Unix time, default now)."""
        clock = time.strftime("%H:%M:%S", time.localtime(time.time() if created_s is None else created_s))
        with self._lines_lock:
            for part in message.splitlines() or [""]:
                self.lines.append(LogLine(clock, level, part))

    def snapshot(self) -> list[LogLine]:
        with self._lines_lock:
            return list(self.lines)


def _num(value: float, fmt: str) -> str:
    return fmt.format(value) if math.isfinite(value) else "-"


def wearer_is_good(w: WearerStatus) -> bool:
    """True when a wearer's signals can drive the show (quality at least 0.3, no fault)."""
    return w.quality >= 0.3 and w.state not in {s.replace("_", " ") for s in BAD_STATES} and w.state != "no data"


def wearers_to_show(wearers: list[WearerStatus], rows: int) -> tuple[list[WearerStatus], int]:
    """At most ``rows`` wearers, those with a problem first when not all fit; and how many were left out."""
    if len(wearers) <= rows:
        return wearers, 0
    rows = max(0, rows)
    order = sorted(range(len(wearers)), key=lambda i: (wearer_is_good(wearers[i]), i))
    chosen = sorted(order[:rows])
    return [wearers[i] for i in chosen], len(wearers) - rows


def status_lines(status: OperatorStatus, cpu_percent: float, blackout: bool) -> tuple[str, str]:
    """The two header lines: show state; loop figures."""
    state = []
    if status.panicked:
        state.append("PANIC: sound muted")
    if blackout:
        state.append("BLACKOUT")
    scene = f"scene {status.scene}" if status.scene else ""
    first = "   ".join(x for x in (scene, *state) if x)
    sources = ", ".join(f"{s.name} {'ok' if s.ok else 'PROBLEM'}" for s in status.sources)
    second = (f"loop latency {_num(status.loop_latency_ms, '{:.2f}')} ms   audio xruns {status.audio_xruns}   "
              f"CPU {_num(cpu_percent, '{:.0f}')}%   {sources}")
    return first, second


def link_line(link: LinkClock | None) -> str | None:
    """The Link line: the session's peers, tempo and whether the show leads it (None: no ``[link]``)."""
    if link is None:
        return None
    if link.error is not None:
        return f"Link: not running ({link.error}); trying again"
    timeline = link.timeline
    if timeline is None:
        return "Link: starting"
    role = {"listening": "joining", "leading": "leading", "following": "following"}.get(timeline.role, timeline.role)
    return (f"Link: {timeline.peers} peer{'s' if timeline.peers != 1 else ''}   {timeline.tempo_bpm:.1f} bpm   "
            f"{role}{'  (lead = true)' if link.settings.lead and role == 'leading' else ''}")


def lights_line(labels: list[str], rates_hz: list[float], house_up: bool = False) -> str:
    """The lights' line: frames sent per second by each lighting output (each universe's frame counts)."""
    outputs = "   ".join(f"{label} {rate:.0f}/s" for label, rate in zip(labels, rates_hz))
    return f"lights: {outputs}" + ("   HOUSE LOOK (show stalled)" if house_up else "")


def midi_line(outputs: list[tuple[str, MidiState, float]]) -> str:
    """One line for the MIDI outputs: each one's port open or retrying (and why), notes a second, clock tempo.

    ``outputs``: (label, state, note-ons per second over the last refreshes).
    """
    parts = []
    for label, state, notes_per_s in outputs:
        if state.open:
            tempo = f", clock {state.tempo_bpm:.0f} bpm" if math.isfinite(state.tempo_bpm) else ""
            parts.append(f"{label}: open {state.target}, {notes_per_s:.1f} notes/s{tempo}")
        else:
            parts.append(f"{label}: RETRYING ({state.problem}), {state.dropped} dropped")
    return "   ".join(parts)


def nodes_line(where: list[str], nodes: list[RenderNodeStatus]) -> str:
    """The render nodes' line: each connected node's address, tile and snapshots behind (``where``: what is served)."""
    if not nodes:
        return f"render nodes: none connected (serving on {', '.join(where)})"
    parts = [f"{n.address}" + (f" tile {n.tile}" if n.tile else "") + (f" {n.behind} behind" if n.behind >= 0 else "")
             for n in nodes]
    return f"render nodes ({len(nodes)}): " + "   ".join(parts)


class OperatorConsole:
    """The terminal console of a running session.

    Parameters
    ----------
    session : Session
        The running show: its status is read and its panic, blackout, re-baseline,
        scene and mark actions are called.
    title : str
        The show's title, in the header.
    console : rich.console.Console, optional
        Where to draw (default: standard output).
    keys : bool, optional
        Read keys from standard input (default: when it is a terminal).
    refresh_hz : float
        Redraws per second (2-4 is plenty for a person).
    """

    def __init__(self, session: "Session", title: str = "", console: Console | None = None, keys: bool | None = None,
                 refresh_hz: float = REFRESH_HZ) -> None:
        self.session = session
        self.title = title
        self.console = console or Console(highlight=False)
        self.refresh_period_s = 1.0 / refresh_hz
        self.keys = KeyHandler()
        self.events = EventsHandler()
        self.read_keys = sys.stdin.isatty() if keys is None else keys
        self.show_help = False
        self.quit_requested = False
        self._notice = ""
        self._notice_until_s = -math.inf
        self._status = OperatorStatus()
        self._cpu_percent = math.nan
        self._cpu_last = (time.monotonic(), time.process_time())
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._live: Live | None = None
        self._term_fd: int | None = None
        self._term_saved: list[Any] | None = None
        self._logger = logging.getLogger("installation")
        self._propagate = True
        self._started_s = time.monotonic()
        self.scene_keys = {sc.key: sc.name for sc in session.show.scenes if sc.key is not None}
        self._midi: list[tuple[str, MidiState, float]] = []
        self._midi_notes: dict[str, tuple[float, int, float]] = {}  # label -> (when, note-ons then, per s)

    # ---- lifecycle ---------------------------------------------------------------
    def start(self) -> None:
        """Take the terminal (cbreak mode, the full-screen display) and start refreshing."""
        self._logger.addHandler(self.events)
        self._propagate = self._logger.propagate
        self._logger.propagate = False  # the show's log lines go to the events pane, not over the display
        if self.read_keys:
            self._enter_cbreak()
        self._live = Live(self._render(), console=self.console, screen=True, auto_refresh=False,
                          redirect_stdout=True, redirect_stderr=True)
        try:
            self._live.start()
        except Exception:
            self.stop()
            raise
        self._thread = threading.Thread(target=self._loop, name="console", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Give the terminal back as it was; the show's log goes to the terminal again."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)
        self._thread = None
        if self._live is not None:
            try:
                self._live.stop()
            except Exception:  # the terminal may be gone (SSH dropped): still restore what we can
                pass
            self._live = None
        self._restore_terminal()
        self._logger.removeHandler(self.events)
        self._logger.propagate = self._propagate

    def __enter__(self) -> "OperatorConsole":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _enter_cbreak(self) -> None:
        import termios
        import tty

        fd = sys.stdin.fileno()
        try:
            self._term_saved = termios.tcgetattr(fd)
            tty.setcbreak(fd)
        except termios.error:  # not a terminal after all: no keys
            self._term_saved = None
            self.read_keys = False
            return
        self._term_fd = fd
        atexit.register(self._restore_terminal)  # even when the process dies of an exception

    def _restore_terminal(self) -> None:
        if self._term_fd is None or self._term_saved is None:
            return
        import termios

        try:
            termios.tcsetattr(self._term_fd, termios.TCSADRAIN, self._term_saved)
        except termios.error:
            pass
        self._term_fd = self._term_saved = None
        atexit.unregister(self._restore_terminal)

    # ---- the console thread -----------------------------------------------------------
    def _loop(self) -> None:
        next_draw_s = 0.0
        try:
            while not self._stop.is_set():
                now = time.monotonic()
                wait_s = max(0.0, min(next_draw_s - now, self.refresh_period_s))
                pressed = self._read_keys(wait_s)
                for key in pressed:
                    self.press(key)
                if pressed or time.monotonic() >= next_draw_s:
                    self.refresh()
                    next_draw_s = time.monotonic() + self.refresh_period_s
        except Exception as exc:  # the console must never take the show down with it
            self._restore_terminal()
            logging.getLogger(__name__).error("operator console stopped: %s", exc)

    def _read_keys(self, wait_s: float) -> str:
        fd = self._term_fd
        if fd is None:
            self._stop.wait(wait_s)
            return ""
        ready, _, _ = select.select([fd], [], [], wait_s)
        if not ready:
            return ""
        data = os.read(fd, 64)
        if not data:  # the terminal went away: keep showing, stop reading
            self.read_keys = False
            return ""
        return data.decode("utf-8", errors="ignore")

    def refresh(self) -> None:
        """Read the session's figures and redraw."""
        try:
            self._status = self.session.operator_status()
        except RuntimeError:  # a wearer arrived while the figures were read: keep the last ones
            pass
        now, cpu = time.monotonic(), time.process_time()
        self._refresh_midi(now)
        last_now, last_cpu = self._cpu_last
        if now - last_now >= 0.5:
            self._cpu_percent = 100.0 * (cpu - last_cpu) / (now - last_now)
            self._cpu_last = (now, cpu)
        if self._live is not None:
            self._live.update(self._render(), refresh=True)

    def _refresh_midi(self, now: float) -> None:
        """Each MIDI output's state, and its note-ons a second over about the last second."""
        outputs = getattr(getattr(self.session, "pipeline", None), "outputs", None)
        rows = []
        for label, state in outputs.midi_states() if outputs is not None else []:
            then, count, rate = self._midi_notes.get(label, (now, state.notes, 0.0))
            if now - then >= 1.0:
                then, count, rate = now, state.notes, (state.notes - count) / (now - then)
            self._midi_notes[label] = (then, count, rate)
            rows.append((label, state, rate))
        self._midi = rows

    # ---- actions ---------------------------------------------------------------------
    def note(self, message: str) -> None:
        """A line for the events pane (the launcher's notices while the console is on)."""
        self.events.add(message)

    def _flash(self, message: str, seconds: float = QUIT_CONFIRM_S) -> None:
        self._notice, self._notice_until_s = message, time.monotonic() + seconds

    def press(self, key: str) -> str | None:
        """Carry out a key's action; returns the action (None for a key that does nothing)."""
        action = self.keys.handle(key, time.monotonic())
        if action is None:
            return None
        s = self.session
        if action == "quit-ask":
            self._flash("press q again to stop the show")
            return action
        if action == "help":
            self.show_help = not self.show_help
            return action
        if action == "consent-ask":
            self._flash("consent: type the wearer's number, then Enter (another key cancels)", ENTRY_S)
            return action
        if action.startswith("consent-typing:"):
            self._flash(f"consent: p{action.partition(':')[2]} (Enter to confirm)", ENTRY_S)
            return action
        if action == "consent-cancel":
            self._flash("consent: cancelled")
            return action
        command = parse_action(action)
        if isinstance(command, Quit):
            self._flash("stopping the show...", 60.0)
            self.quit_requested = True
            return action
        if isinstance(command, Panic) and s.sound is None:
            self.note("panic: there is no sound to mute")
            return action
        if isinstance(command, Blackout) and s.renderer is None:
            self.note("blackout: there are no visuals (noted for a restart)")
        if isinstance(command, SelectScene):
            name = self.scene_keys.get(command.key or "")
            if name is None:
                self.note(f"no scene on key {command.key}")
                return action
            self.note(f"scene key {command.key}: {name}")
        if isinstance(command, Consent):
            self._flash(f"consent: {command.wearer}")
            if s.recorder is None:
                self.note(f"consent: {command.wearer} noted (nothing is being recorded)")
        if command is not None:
            s.command(command)  # the engine and the pipeline log what they did
        return action

    # ---- drawing -------------------------------------------------------------------
    def _render(self) -> Group:
        width, height = self.console.size
        status = self._status
        head, figures = status_lines(status, self._cpu_percent, bool(self.session.blackout))
        up_s = time.monotonic() - self._started_s
        clock = time.strftime("%H:%M:%S")
        title = Text(f"Eco-Symphony  {self.title}  {clock}  up {int(up_s // 3600):d}:{int(up_s % 3600 // 60):02d}:"
                     f"{int(up_s % 60):02d}   ", style="bold")
        title.append(head, style="bold red" if status.panicked or self.session.blackout else "bold green")
        parts: list[Any] = [title, Text(figures, overflow="ellipsis", no_wrap=True)]
        link = link_line(getattr(self.session, "link", None))
        if link is not None:
            parts.append(Text(link, overflow="ellipsis", no_wrap=True, style="red" if "not running" in link else ""))
        sinks = getattr(getattr(self.session, "pipeline", None), "sinks", {})
        rig = getattr(sinks.get("light"), "rig", None)
        if rig is not None:  # frames sent per second, per lighting output
            parts.append(Text(lights_line(rig.labels, rig.rates_hz, rig.house_up), overflow="ellipsis", no_wrap=True,
                              style="bold red" if rig.house_up else ""))
        if self._midi:
            parts.append(Text("midi " + midi_line(self._midi), overflow="ellipsis", no_wrap=True,
                              style="" if all(state.open for _, state, _ in self._midi) else "yellow"))
        for notice in status.notices:  # welfare and failing sensors: above the wearers, not lost among the events
            parts.append(Text(f"! {notice.line()}", style="bold yellow", overflow="ellipsis", no_wrap=True))
        servers = list(getattr(sinks.get("visual"), "publishers", []))
        if servers:
            nodes = [n for server in servers for n in server.node_status()]
            late = not nodes or any(n.behind >= NODE_BEHIND_WARN for n in nodes)
            parts.append(Text(nodes_line([f"{s.host}:{s.port}" for s in servers], nodes), overflow="ellipsis",
                              no_wrap=True, style="yellow" if late else ""))
        extra = (link is not None) + (rig is not None) + bool(self._midi) + bool(servers) + len(status.notices)
        events_rows = min(EVENTS_KEPT, max(3, height - 8 - extra - len(status.wearers)))
        wearer_rows = max(1, height - 7 - extra - events_rows)
        shown, left_out = wearers_to_show(status.wearers, wearer_rows)
        table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1), expand=False)
        for column, justify in (("wearer", "left"), ("state", "left"), ("HR bpm", "right"), ("EDA uS", "right"),
                                ("SCR/min", "right"), ("quality", "right"), ("last seen", "right")):
            table.add_column(column, justify=justify, no_wrap=True)  # type: ignore[arg-type]
        for w in shown:
            seen = _num(w.last_seen_s, "{:.1f} s ago") if w.last_seen_s < 60 or not math.isfinite(w.last_seen_s) \
                else f"{w.last_seen_s / 60:.0f} min ago"
            table.add_row(w.wearer, w.state, _num(w.bpm, "{:.0f}"), _num(w.scl, "{:.2f}"), _num(w.scr_rate, "{:.0f}"),
                          _num(w.quality, "{:.2f}"), "never" if not math.isfinite(w.last_seen_s) else seen,
                          style="green" if wearer_is_good(w) else "red")
        if left_out:
            table.add_row(f"+{left_out} more", "all fine", "", "", "", "", "", style="dim")
        if not status.wearers:
            table.add_row("-", "waiting for the show...", "", "", "", "", "")
        parts.append(table)
        if self.show_help:
            parts.append(Text("keys", style="bold"))
            for key, what in HELP_LINES:
                parts.append(Text(f"  {key:<7} {what}"))
        else:
            parts.append(Text("events", style="bold"))
            lines = self.events.snapshot()[-events_rows:]
            if not lines:
                parts.append(Text("  (no warnings)", style="dim"))
            for line in lines:
                style = "red" if line.level in ("ERROR", "CRITICAL") else "yellow" if line.level == "WARNING" else ""
                parts.append(Text(f"{line.clock} {line.message}", style=style, overflow="ellipsis", no_wrap=True))
        if time.monotonic() < self._notice_until_s:
            parts.append(Text(self._notice, style="bold reverse"))
        scenes = " ".join(f"{k}" for k in sorted(self.scene_keys))
        footer = (f"{scenes or '0-9'} scene  p panic  k blackout  b re-baseline  m mark  q q quit  ? help"
                  if self.read_keys else "no terminal on standard input: keys off (Ctrl-C stops)")
        parts.append(Text(footer[:max(1, width)], style="dim", no_wrap=True))
        return Group(*parts)


def console_wanted(flag: bool | None, stdin_tty: Callable[[], bool] | None = None,
                   stdout_tty: Callable[[], bool] | None = None) -> bool:
    """``--console`` / ``--no-console``, default: on when both standard input and output are terminals."""
    if flag is not None:
        return flag
    try:
        return (stdin_tty or sys.stdin.isatty)() and (stdout_tty or sys.stdout.isatty)()
    except (ValueError, OSError):  # closed streams
        return False


__all__ = ["KEY_ACTIONS", "KeyHandler", "EventsHandler", "OperatorConsole", "console_action", "console_wanted",
           "lights_line", "link_line", "midi_line", "nodes_line"]
