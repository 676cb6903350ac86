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
        except MidiUnavailable:
            out.delete()
            raise
        except Exception as exc:  # rtmidi's errors, a JACK server that went away meanwhile
            out.delete()
            raise MidiUnavailable(f"{api}: {exc}") from None
        self._out, self.target, self.api_used = out, target, api

    def problem(self) -> str | None:
        """Why the open port no longer works (None: it does): the receiving port or the JACK server went.

        A port of another program is looked for in our client's list (a client of a JACK
        server that stopped lists nothing). Our virtual port on JACK is looked for by a
        client opened for the look: one that is already open keeps seeing the ports of a
        server that has gone.
        """
        if self._out is None:
            return "not open"
        try:
            if self.wanted is not None:
                return None if self.target in self._out.get_ports() else f"{self.target!r} is gone"
            if self.api_used == "jack":
                try:
                    look = jack_server.open_client(f"{self.name}-look")
                except jack_server.JackError:
                    return "the JACK server went away"
                try:
                    ours = [p for p in look.get_ports(is_midi=True, is_output=True) if p.shortname == self.name]
                finally:
                    look.close()
                return None if ours else "our virtual port is gone (the JACK server restarted?)"
        except Exception as exc:  # a dead client may raise instead of answering
            return str(exc) or type(exc).__name__
        return None

    def send(self, data: list[int] | bytes) -> None:
        """Send one message (raw bytes); rtmidi queues it for the system, never waiting for the receiver."""
        if self._out is None:
            raise MidiUnavailable("not open")
        self._out.send_message(data)

    def close(self) -> None:
        """Close our client; nothing raises."""
        out, self._out = self._out, None
        self.target = self.api_used = ""
        if out is None:
            return
        for closing in (out.close_port, out.delete):
            try:
                closing()
            except Exception as exc:  # a client of a server that went away
                log.debug("closing a MIDI client: %s", exc)
