"""MIDI out's sending thread: one per MIDI output, so that the show never waits for a port.

The show hands it notes, control changes and the clock's tempo (:meth:`MidiLink.note`,
:meth:`MidiLink.send`, :meth:`MidiLink.tempo`); none of them ever waits. A note or a
control change goes out at once from the caller's thread when the port is free (sending
is a non-blocking hand-over to JACK's or ALSA's buffer), else it is queued for the thread:
waking another Python thread would cost the note 1-3 ms more (measured by
``python -m installation.bench.midi``). The thread sends what was queued, sends each
note's note-off when due, ticks MIDI clock (24 per
quarter note, start when the tempo is first known, stop at the end), and looks every
``CHECK_S`` whether the port is still there. A port that is not there, or goes (a synth
unplugged, a DAW closed, the JACK server stopped), is logged once and opened again every
``RETRY_S``; what comes meanwhile is dropped (counted), never raised into the show.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from dataclasses import dataclass
from typing import Callable

import mido

from installation.outputs.midi_map import CLOCK_PPQN, HeldNotes, NoteOn
from installation.outputs.midi_ports import MidiPort, MidiUnavailable

log = logging.getLogger(__name__)

#: Seconds between attempts to open a port that is not there.
RETRY_S = 1.0
#: Seconds between looks whether an open port is still there.
CHECK_S = 1.0

_CLOCK = mido.Message("clock").bytes()
_START = mido.Message("start").bytes()
_STOP = mido.Message("stop").bytes()


@dataclass(frozen=True, slots=True)
class MidiState:
    """What the operator sees of a MIDI output.

    Attributes
    ----------
    open : bool
        The port is open.
    target : str
        The port sent to (or our virtual port), "" when not open.
    problem : str
        Why it is not open ("" when it is).
    notes : int
        Note-ons sent so far.
    messages : int
        Messages sent so far (notes, note-offs, controls, clock).
    dropped : int
        Messages dropped while the port was not open.
    tempo_bpm : float
        The clock's tempo, NaN when it does not run.
    """

    open: bool
    target: str
    problem: str
    notes: int
    messages: int
    dropped: int
    tempo_bpm: float


class MidiLink:
    """The sending thread of one MIDI output.

    Parameters
    ----------
    port : MidiPort
        The port (opened by the thread, retried there).
    label : str
        How the log names it (``outputs[2] midi ...``).
    clock : callable, optional
        Monotonic time in seconds (note-off and clock timing).
    """

    def __init__(self, port: MidiPort, label: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.port = port
        self.label = label
        self.clock = clock
        self.notes = 0
        self.messages = 0
        self.dropped = 0
        self._queue: queue.SimpleQueue[tuple[str, object]] = queue.SimpleQueue()
        self._lock = threading.Lock()  # held by whoever is at the port, the held notes, the counters
        self._held = HeldNotes()
        self._problem = "opening"
        self._tempo_bpm = math.nan
        self._next_tick_s = math.inf
        self._ticking = False
        self._logged_down = False
        self._ever_open = False
        self._thread = threading.Thread(target=self._run, name=f"midi {label}", daemon=True)
        self._thread.start()

    # -- called by the show (any thread): never waits ----------------------------------------
    def note(self, note: NoteOn) -> None:
        """Play a note now (its note-off follows ``note.length_s`` later)."""
        self._now_or_queued("note", note)

    def send(self, message: mido.Message) -> None:
        """Send a message now (a control change)."""
        self._now_or_queued("raw", message.bytes())

    def _now_or_queued(self, kind: str, item: object) -> None:
        if self._lock.acquire(blocking=False):
            try:
                self._handle(kind, item, self.clock())
            finally:
                self._lock.release()
            if kind == "note":
                self._queue.put(("wake", None))  # its note-off is to be timed
        else:  # the thread is at the port (opening it, a note-off, a tick): it sends this next
            self._queue.put((kind, item))

    def tempo(self, bpm: float | None) -> None:
        """The clock's tempo in beats per minute (None: not known yet; the clock waits)."""
        if bpm is not None:
            self._queue.put(("tempo", bpm))

    def state(self) -> MidiState:
        """A snapshot for the console and preflight."""
        return MidiState(self.port.is_open and not self._problem, self.port.target, self._problem, self.notes,
                         self.messages, self.dropped, self._tempo_bpm)

    def close(self, timeout_s: float = 2.0) -> None:
        """Release every sounding note, stop the clock, close the port, end the thread."""
        self._queue.put(("stop", None))
        self._thread.join(timeout_s)

    # -- the thread --------------------------------------------------------------------------
    def _out(self, data: list[int] | bytes) -> bool:
        if self._problem:
            self.dropped += 1
            return False
        try:
            self.port.send(data)
        except Exception as exc:  # rtmidi refuses: the port went; look again at once
            self.dropped += 1
            self._down(str(exc) or type(exc).__name__)
            return False
        self.messages += 1
        return True

    def _down(self, why: str) -> None:
        self._problem = why
        for _ in self._held.release_all():
            pass  # the notes cannot be ended on a port that is gone; the receiver's own reset must
        self._ticking = False
        self.port.close()
        if not self._logged_down:
            self._logged_down = True
            if self._ever_open:
                log.warning("%s: lost (%s); trying again every %g s, the show goes on", self.label, why, RETRY_S)
            else:
                log.warning("%s: not there (%s); trying every %g s, the show goes on", self.label, why, RETRY_S)

    def _try_open(self) -> None:
        try:
            self.port.open()
        except MidiUnavailable as exc:
            self._down(str(exc))
            return
        except Exception as exc:  # anything else from the MIDI libraries: the same, never raised
            self._down(f"{type(exc).__name__}: {exc}")
            return
        self._problem = ""
        if self._ever_open:
            log.warning("%s: open again (%s)", self.label, self.port.target)
        elif self._logged_down:
            log.warning("%s: open now (%s on %s)", self.label, self.port.target, self.port.api_used)
        else:
            log.info("%s: open (%s on %s)", self.label, self.port.target, self.port.api_used)
        self._logged_down = False
        self._ever_open = True
        if self._tempo_bpm == self._tempo_bpm:
            self._start_clock(self.clock())

    def _start_clock(self, now_s: float) -> None:
        if not self._ticking and self._out(_START):
            self._ticking = True
            self._next_tick_s = now_s

    def _handle(self, kind: str, item: object, now_s: float) -> bool:
        if kind == "note":
            assert isinstance(item, NoteOn)
            if self._problem:
                self.dropped += 1
                return True
            for message in self._held.strike(item, now_s):
                if not self._out(message.bytes()):
                    return True
            self.notes += 1
        elif kind == "raw":
            self._out(item)  # type: ignore[arg-type]
        elif kind == "tempo":
            self._tempo_bpm = float(item)  # type: ignore[arg-type]
            self._start_clock(now_s)
        elif kind == "stop":
            return False
        return True

    def _run(self) -> None:
        retry_s = check_s = self.clock()
        try:
            while True:
                with self._lock:
                    now_s = self.clock()
                    if self._problem and now_s >= retry_s:
                        retry_s = now_s + RETRY_S
                        self._try_open()
                        check_s = now_s + CHECK_S
                    elif not self._problem and now_s >= check_s:
                        check_s = now_s + CHECK_S
                        gone = self.port.problem()
                        if gone:
                            self._down(gone)
                            retry_s = now_s + RETRY_S
                    for message in self._held.due(now_s):
                        self._out(message.bytes())
                    if self._ticking and self._tempo_bpm == self._tempo_bpm:
                        period_s = 60.0 / (self._tempo_bpm * CLOCK_PPQN)
                        while self._next_tick_s <= now_s:
                            self._out(_CLOCK)
                            self._next_tick_s += period_s
                            if now_s - self._next_tick_s > 0.25:  # held up (a stall): no burst of catch-up ticks
                                self._next_tick_s = now_s + period_s
                    wake_s = min(self._held.next_due_s(), self._next_tick_s if self._ticking else math.inf,
                                 retry_s if self._problem else check_s)
                try:
                    kind, item = self._queue.get(timeout=min(0.5, max(0.0, wake_s - self.clock())))
                except queue.Empty:
                    continue
                going = True
                with self._lock:
                    while going:  # this, and what else waits, without waking up again for each
                        going = self._handle(kind, item, self.clock())
                        try:
                            kind, item = self._queue.get_nowait()
                        except queue.Empty:
                            break
                if not going:
                    break
        except Exception:  # a bug here must not take the show down: say it, stop sending
            log.exception("%s: the MIDI thread failed; MIDI out stops, the show goes on", self.label)
        with self._lock:
            self._finish()

    def _finish(self) -> None:
        if not self._problem:
            for message in self._held.release_all():
                self._out(message.bytes())
            if self._ticking:
                self._out(_STOP)
        self._ticking = False
        self.port.close()
        self._problem = "closed"
