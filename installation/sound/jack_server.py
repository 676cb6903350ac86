"""The JACK server: is one running, what it runs at, and JACK's dummy driver.

The ``jack`` sound backend plays through a JACK server that is already running
(started by the venue's audio set-up). The latency benchmark and the tests need
real-time audio cycles on machines with no sound card: :class:`DummyJackServer`
starts ``jackd -d dummy`` for them when no server is running, waits until it
accepts clients, and stops it afterwards (by its PID; a server it did not start
is left alone).

JACK is reached through JACK-Client (module ``jack``), which loads the system's
libjack: Debian's ``jackd2`` package brings both the server and the library.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from types import ModuleType
from typing import IO, Any

log = logging.getLogger(__name__)

INSTALL_HINT = "install JACK: apt-get install jackd2"

_jack: ModuleType | None = None


class JackError(RuntimeError):
    """No JACK server could be reached or started."""


class JackNotInstalled(JackError):
    """JACK (the ``jackd`` server or its library) is not installed."""


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """What a running JACK server computes audio at.

    Attributes
    ----------
    sample_rate_hz : int
        Sampling rate in hertz.
    buffer_frames : int
        Frames per process cycle.
    """

    sample_rate_hz: int
    buffer_frames: int

    @property
    def period_ms(self) -> float:
        """Duration of one process cycle in milliseconds."""
        return 1000.0 * self.buffer_frames / self.sample_rate_hz


def import_jack() -> ModuleType:
    """JACK-Client's ``jack`` module, with libjack's console messages sent to our log.

    Raises
    ------
    JackNotInstalled
        When JACK-Client or the libjack it loads is missing.
    """
    global _jack
    if _jack is not None:
        return _jack
    try:
        import jack
    except ImportError as exc:
        raise JackNotInstalled(f"the Python package JACK-Client is missing ({exc}); pip install JACK-Client") from None
    except OSError as exc:  # JACK-Client is there, libjack is not
        raise JackNotInstalled(f"libjack cannot be loaded ({exc}); {INSTALL_HINT}") from None
    # libjack prints every failed connection attempt ("Cannot connect to server
    # socket ..."); asking whether a server runs must not fill the terminal.
    jack.set_error_function(lambda message: log.debug("libjack: %s", message))
    jack.set_info_function(lambda message: log.debug("libjack: %s", message))
    _jack = jack
    return jack


def jackd_path() -> str | None:
    """Path of the ``jackd`` program, None when it is not installed."""
    return shutil.which("jackd")


def open_client(name: str) -> Any:
    """A JACK client of the running server (never starts one).

    Raises
    ------
    JackError
        When no server is running.
    """
    jack = import_jack()
    try:
        return jack.Client(name, no_start_server=True)
    except jack.JackOpenError as exc:
        raise JackError(f"no JACK server is running ({exc})") from None


def server_settings() -> ServerSettings | None:
    """Sampling rate and buffer size of the running JACK server; None when none runs."""
    try:
        client = open_client("ecosymphony-query")
    except JackError:
        return None
    try:
        return ServerSettings(int(client.samplerate), int(client.blocksize))
    finally:
        client.close()


def server_running() -> bool:
    """True when a JACK server accepts clients."""
    return server_settings() is not None


class DummyJackServer:
    """A JACK server for machines without a sound card: ``jackd -d dummy``.

    Context manager. If a JACK server is already running it is used as it is (its
    own rate and buffer size) and left running; otherwise ``jackd`` is started
    with the dummy driver at the asked rate and buffer size, and stopped (by its
    PID) when done.

    Parameters
    ----------
    sample_rate_hz : int
        Sampling rate of a server this starts, in hertz.
    buffer_frames : int
        Frames per cycle of a server this starts.
    ready_timeout_s : float
        Longest wait for a started server to accept clients, in seconds.
    """

    def __init__(self, sample_rate_hz: int = 48000, buffer_frames: int = 64, ready_timeout_s: float = 10.0) -> None:
        self.sample_rate_hz = sample_rate_hz
        self.buffer_frames = buffer_frames
        self.ready_timeout_s = ready_timeout_s
        self.settings: ServerSettings | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._output: IO[bytes] | None = None

    @property
    def started(self) -> bool:
        """True when this object started the server (and will stop it)."""
        return self._process is not None

    @property
    def pid(self) -> int | None:
        """PID of the server this started, None when it uses one already running."""
        return self._process.pid if self._process is not None else None

    def start(self) -> ServerSettings:
        """Use the running server, or start the dummy driver and wait until it is ready.

        Raises
        ------
        JackNotInstalled
            When no server runs and ``jackd`` (or libjack) is not installed.
        JackError
            When the started server exits or is not ready in time.
        """
        if self.settings is not None:
            return self.settings
        import_jack()
        running = server_settings()
        if running is not None:
            self.settings = running
            return running
        program = jackd_path()
        if program is None:
            raise JackNotInstalled(f"no JACK server is running and jackd is not installed; {INSTALL_HINT}")
        self._output = tempfile.TemporaryFile()
        command = [program, "-d", "dummy", "-r", str(self.sample_rate_hz), "-p", str(self.buffer_frames)]
        log.info("starting %s", " ".join(command))
        self._process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=self._output, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.ready_timeout_s
        while time.monotonic() < deadline:
            status = self._process.poll()
            if status is not None:
                output = self._tail()
                self._forget()
                raise JackError(f"jackd exited (status {status}) before accepting clients; it said: {output or '(nothing)'}")
            settings = server_settings()
            if settings is not None:
                self.settings = settings
                return settings
            time.sleep(0.05)
        output = self._tail()
        self.stop()
        raise JackError(f"jackd was not ready within {self.ready_timeout_s:g} s; it said: {output or '(nothing)'}")

    def _tail(self, max_chars: int = 600) -> str:
        if self._output is None:
            return ""
        self._output.seek(0)
        text = self._output.read().decode("utf-8", "replace").strip()
        return text[-max_chars:]

    def _forget(self) -> None:
        self._process = None
        if self._output is not None:
            self._output.close()
            self._output = None

    def stop(self) -> None:
        """Stop the server this started (terminate, then kill after 3 s); leave any other alone."""
        process = self._process
        self.settings = None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=3.0)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=3.0)
        self._forget()

    def __enter__(self) -> ServerSettings:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
