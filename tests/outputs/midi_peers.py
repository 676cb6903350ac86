"""An independent MIDI receiver for the MIDI output tests: JACK's own ``jack_midi_dump``
(Debian jackd2), on a JACK server with the dummy driver."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from typing import IO, Iterator

import pytest

from installation.sound.jack_server import DummyJackServer, ServerSettings, open_client

INSTALL = "install the Debian package jackd2 (apt-get install jackd2)"


def require_jack_tools() -> str:
    """The path of ``jack_midi_dump``; skips (naming the package) when JACK is not installed."""
    if shutil.which("jackd") is None:
        pytest.skip(f"needs JACK's server jackd: {INSTALL}")
    path = shutil.which("jack_midi_dump")
    if path is None:
        pytest.skip(f"needs JACK's MIDI monitor jack_midi_dump: {INSTALL}")
    return path


def jack_for_tests() -> Iterator[ServerSettings]:
    """A JACK server (the dummy driver, 48 kHz, started when none runs; stopped by its PID).

    256 frames a cycle: a receiver's cycle that comes late (an xrun, which a virtual
    machine's dummy driver has even when idle) loses the MIDI in it, and longer cycles
    come late far less often. Latency is the benchmark's business, not the tests'.
    """
    require_jack_tools()
    server = DummyJackServer(48000, 256)
    try:
        yield server.start()
    finally:
        server.stop()


@dataclass(frozen=True, slots=True)
class Received:
    """One MIDI message as ``jack_midi_dump -a`` printed it: frames since it started, and the bytes."""

    frame: int
    data: bytes

    @property
    def status(self) -> int:
        return self.data[0] & 0xF0 if self.data[0] < 0xF0 else self.data[0]

    @property
    def channel(self) -> int:
        return self.data[0] & 0x0F


class MidiDump:
    """``jack_midi_dump -a NAME``, a JACK client not of our making, whose input port ``NAME:input``
    receives what the tests send; stopped by its PID, its printout read afterwards."""

    def __init__(self, name: str, ready_timeout_s: float = 5.0) -> None:
        self.name = name
        self.port = f"{name}:input"
        self._out: IO[bytes] = tempfile.TemporaryFile()
        self.process = subprocess.Popen([require_jack_tools(), "-a", name], stdin=subprocess.DEVNULL,
                                        stdout=self._out, stderr=subprocess.STDOUT)
        client = open_client("midi-test-look")
        try:
            deadline = time.monotonic() + ready_timeout_s
            while not client.get_ports(self.port):
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.stop()
                    raise RuntimeError(f"jack_midi_dump's port {self.port} did not appear: {self.text()}")
                time.sleep(0.02)
        finally:
            client.close()

    def stop(self) -> list[Received]:
        """End it (SIGTERM, by PID) and return every message it printed."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=3.0)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=3.0)
        return self.messages()

    def text(self) -> str:
        self._out.seek(0)
        return self._out.read().decode("utf-8", "replace")

    def messages(self) -> list[Received]:
        out = []
        for line in self.text().splitlines():
            head, sep, rest = line.partition(":")
            if not sep or not head.strip().isdigit():
                continue
            data = []
            for word in rest.split():
                if len(word) != 2:
                    break
                try:
                    data.append(int(word, 16))
                except ValueError:
                    break
            if data:
                out.append(Received(int(head), bytes(data)))
        return out
