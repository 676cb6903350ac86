"""MIDI ports through python-rtmidi: which MIDI system is there, which output ports it has,
finding one by name, and one open port that can tell when it has gone.

Two systems on Linux: JACK (a JACK server must run; ``jackd -d dummy`` will do) and
ALSA's sequencer (``/dev/snd/seq``; the ``snd-seq`` kernel module). ``api = "auto"``
takes JACK when a server runs, else ALSA. Both are looked for quietly first: the
libraries print to the terminal when asked for a system that is not there.

A port is named in the show file by its whole name, a part of it (any case), or
``match:<glob>`` -- as serial ports are found (``match:*Arduino*``). The port is looked
for again at every retry, so a synth plugged in after the show started is found.
"""

from __future__ import annotations

import fnmatch
import logging
import os
from dataclasses import dataclass
from typing import Any, Literal

from installation.sound import jack_server

log = logging.getLogger(__name__)

Api = Literal["jack", "alsa"]
ALSA_SEQ = "/dev/snd/seq"


#: Watchers of JACK servers that went away. libjack crashes the process when such a client
#: is closed once a server runs again (also when it is collected, or at exit), so they are
#: disowned (JACK-Client's handle set to NULL: closing is then nothing) and kept here, with
#: the callback libjack was given: one small client's memory each time the JACK server
#: stops under the show.
_ORPHANED_WATCHERS: list[Any] = []


def _disown(client: Any) -> None:
    """Keep a JACK-Client client of a server that went away from ever being closed."""
    jack = jack_server.import_jack()
    client._ptr = jack._ffi.NULL  # JACK-Client's close() and __del__ close only a non-NULL handle
    _ORPHANED_WATCHERS.append(client)


class MidiUnavailable(RuntimeError):
    """No MIDI system to send through, or the port is not there; the message says why."""


def _rtmidi() -> Any:
    try:
        import rtmidi
    except ImportError as exc:  # pragma: no cover - a dependency of the project
        raise MidiUnavailable(f"python-rtmidi is missing ({exc}); pip install python-rtmidi") from None
    return rtmidi


def api_problem(api: Api) -> str | None:
    """Why ``api`` cannot be used now (None: it can), found without making a noise."""
    rtmidi = _rtmidi()
    wanted = rtmidi.API_UNIX_JACK if api == "jack" else rtmidi.API_LINUX_ALSA
    if wanted not in rtmidi.get_compiled_api():
        return f"python-rtmidi was built without {api.upper()} support"
    if api == "alsa":
        if not os.path.exists(ALSA_SEQ):
            return f"no ALSA sequencer ({ALSA_SEQ} is missing: load the snd-seq kernel module, or use JACK)"
        return None
    try:
        running = jack_server.server_running()
    except jack_server.JackNotInstalled as exc:
        return str(exc)
    return None if running else "no JACK server is running (start one, e.g. jackd -d dummy, or use ALSA)"


def choose_api(api: Literal["auto", "jack", "alsa"]) -> Api:
    """The MIDI system to use: ``api`` itself, or for ``auto`` JACK when a server runs, else ALSA.

    Raises
    ------
    MidiUnavailable
        When it (or, for ``auto``, either) cannot be used now, saying why.
    """
    if api != "auto":
        problem = api_problem(api)
        if problem:
            raise MidiUnavailable(problem)
        return api
    problems = []
    for candidate in ("jack", "alsa"):
        problem = api_problem(candidate)  # type: ignore[arg-type]
        if problem is None:
            return candidate  # type: ignore[return-value]
        problems.append(f"{candidate}: {problem}")
    raise MidiUnavailable("no MIDI system: " + "; ".join(problems))


def match_port(wanted: str, names: list[str]) -> str | None:
    """The port ``wanted`` names: the same name, ``match:<glob>``, or a part of a name (any case)."""
    if wanted in names:
        return wanted
    if wanted.startswith("match:"):
        pattern = wanted[len("match:"):].lower()
        return next((n for n in names if fnmatch.fnmatchcase(n.lower(), pattern)), None)
    return next((n for n in names if wanted.lower() in n.lower()), None)


@dataclass(frozen=True, slots=True)
class PortList:
    """The MIDI output ports of one system, or why there are none to list.

    Attributes
    ----------
    api : str
        ``jack`` or ``alsa``.
    names : list of str
        The ports one can send to (other programs' inputs; for JACK ``client:port``).
    problem : str
        Why the system cannot be used ("" when it can).
    """

    api: Api
    names: list[str]
    problem: str = ""


def output_ports(api: Api) -> PortList:
    """The ports ``api`` can send to now (an empty list and a reason when it is not there)."""
    problem = api_problem(api)
    if problem:
        return PortList(api, [], problem)
    rtmidi = _rtmidi()
    try:
        out = rtmidi.MidiOut(rtmidi.API_UNIX_JACK if api == "jack" else rtmidi.API_LINUX_ALSA, "ecosymphony-list")
    except Exception as exc:  # rtmidi's SystemError: the system went away meanwhile
        return PortList(api, [], str(exc))
    try:
        return PortList(api, list(out.get_ports()))
    finally:
        out.delete()


class MidiPort:
    """One MIDI output: a port of another program chosen by name, or a virtual port of our own.

    Not thread-safe: one thread opens, sends, checks and closes it.

    Parameters
    ----------
    api : {"auto", "jack", "alsa"}
        The MIDI system (``auto``: JACK when a server runs, else ALSA).
    port : str, optional
        The port to send to (name, part of it, ``match:<glob>``); None for a virtual port.
    name : str
        Our client's name; a virtual port's name.

    Attributes
    ----------
    target : str
        The port connected to (or our virtual port's name) while open; "" when closed.
    api_used : str
        The system it is open on ("" when closed).
    """

    def __init__(self, api: Literal["auto", "jack", "alsa"], port: str | None, name: str = "ecosymphony") -> None:
        self.api = api
        self.wanted = port
        self.name = name
        self.target = ""
        self.api_used = ""
        self._out: Any = None
        self._watch: Any = None  # JACK: a client of JACK-Client's (not activated) that sees the server go
        self._server_gone = False

    @property
    def is_open(self) -> bool:
        return self._out is not None

    def open(self) -> None:
        """Open the port (closing what was open).

        Raises
        ------
        MidiUnavailable
            No MIDI system, or no port that ``port`` names (listing the ports there are).
        """
        self.close()
        api = choose_api(self.api)
        rtmidi = _rtmidi()
        try:
            out = rtmidi.MidiOut(rtmidi.API_UNIX_JACK if api == "jack" else rtmidi.API_LINUX_ALSA, self.name)
        except Exception as exc:
            raise MidiUnavailable(f"{api}: {exc}") from None
        try:
            if self.wanted is None:
                out.open_virtual_port(self.name)
                target = self.name
            else:
                names = list(out.get_ports())
                target = match_port(self.wanted, names) or ""
                if not target:
                    there = ", ".join(repr(n) for n in names) or "none"
                    raise MidiUnavailable(f"no {api} MIDI port matches {self.wanted!r} (ports: {there})")
                out.open_port(names.index(target), self.name)
            if api == "jack":
                self._watch = self._watcher()
        except MidiUnavailable:
            out.delete()
            raise
        except Exception as exc:  # rtmidi's errors, a JACK server that went away meanwhile
            out.delete()
            raise MidiUnavailable(f"{api}: {exc}") from None
        self._out, self.target, self.api_used = out, target, api

    def _watcher(self) -> Any:
        self._server_gone = False
        watch = jack_server.open_client(f"{self.name}-watch")

        def gone(status: Any, reason: str) -> None:
            self._server_gone = True

        watch.set_shutdown_callback(gone)
        return watch

    def problem(self) -> str | None:
        """Why the open port no longer works (None: it does): the receiving port or the JACK server went.

        A port of another program is looked for in our client's list. Under JACK a client of
        JACK-Client's watches too: the server tells it when it stops (and a client of a server
        that stopped lists no port), and it finds our virtual port among the server's. About
        0.1 ms a look.
        """
        if self._out is None:
            return "not open"
        try:
            if self._watch is not None:
                if self._server_gone:
                    return "the JACK server went away"
                ours = self._watch.get_ports(is_midi=True, is_output=True) if self.wanted is None else []
                if self.wanted is None and not any(p.shortname == self.name for p in ours):
                    return "our virtual port is gone (the JACK server stopped or restarted)"
            if self.wanted is not None and self.target not in self._out.get_ports():
                return f"{self.target!r} is gone"
        except Exception as exc:  # a dead client may raise instead of answering
            return str(exc) or type(exc).__name__
        return None

    def send(self, data: list[int] | bytes) -> None:
        """Send one message (raw bytes); rtmidi queues it for the system, never waiting for the receiver."""
        if self._out is None:
            raise MidiUnavailable("not open")
        self._out.send_message(data)

    def close(self) -> None:
        """Close our client (and the watcher, unless its server went away); nothing raises."""
        out, watch = self._out, self._watch
        self._out = self._watch = None
        self.target = self.api_used = ""
        if watch is not None and self._server_gone:
            _disown(watch)
            watch = None
        closing = [out.close_port, out.delete] if out is not None else []
        for step in closing + ([watch.close] if watch is not None else []):
            try:
                step()
            except Exception as exc:  # a client of a server that went away
                log.debug("closing a MIDI client: %s", exc)
