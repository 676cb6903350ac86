"""An independent sACN and Art-Net receiver for the tests: OLA's daemon (Debian package ``ola``) in a
network namespace the test makes, reached over a veth pair, and ``ola_recorder`` to keep what it heard.

``olad`` refuses to run as root: it runs as ``nobody``, with its own configuration folder. In its
namespace it has its own loopback, so its RPC port cannot clash with anything on the machine.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

#: OLA universe -> what it listens to: sACN universes 1 and 2, Art-Net port-addresses 0 and 1
#: (OLA gives an Art-Net port the port-address of its OLA universe modulo 16).
SACN_PORTS = {1: 1, 2: 2}  # OLA universe: sACN universe
ARTNET_PORTS = {16: 0, 17: 1}  # OLA universe: Art-Net port-address


def require_ola() -> None:
    """Skip (naming the packages) when OLA, iproute2 or the rights to make a network namespace are missing."""
    for tool, package in (("olad", "ola"), ("ola_recorder", "ola"), ("ola_patch", "ola"), ("ip", "iproute2"),
                          ("setpriv", "util-linux")):
        if shutil.which(tool) is None:
            pytest.skip(f"needs {tool}: install the Debian package {package} (apt-get install {package})")
    if os.geteuid() != 0:
        pytest.skip("needs root to make a network namespace for OLA's receiver")


def _run(*args: str) -> None:
    subprocess.run(list(args), check=True, capture_output=True, timeout=20)


@dataclass
class Ola:
    """One OLA daemon in its own namespace; the test sends to ``address`` from the host side."""

    ns: str
    host_if: str
    address: str
    host_address: str
    folder: Path
    daemon: subprocess.Popen[bytes] | None = None
    recorders: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def inside(self, *args: str) -> list[str]:
        """A command run inside the namespace as ``nobody`` (setpriv execs it: the process is the command's own)."""
        return ["ip", "netns", "exec", self.ns, "setpriv", "--reuid", "nobody", "--regid", "nogroup", "--clear-groups", *args]

    def start(self) -> None:
        _run("ip", "netns", "add", self.ns)
        peer = self.host_if[:-1] + "b"
        _run("ip", "link", "add", self.host_if, "type", "veth", "peer", "name", peer)
        _run("ip", "link", "set", peer, "netns", self.ns)
        _run("ip", "addr", "add", f"{self.host_address}/24", "dev", self.host_if)
        _run("ip", "link", "set", self.host_if, "up")
        _run("ip", "netns", "exec", self.ns, "ip", "addr", "add", f"{self.address}/24", "dev", peer)
        _run("ip", "netns", "exec", self.ns, "ip", "link", "set", peer, "up")
        _run("ip", "netns", "exec", self.ns, "ip", "link", "set", "lo", "up")
        (self.folder / "ola-e131.conf").write_text(f"enabled = true\nip = {self.address}\ninput_ports = 2\n"
                                                   "output_ports = 0\nignore_preview = true\n")
        (self.folder / "ola-artnet.conf").write_text(f"enabled = true\nip = {self.address}\nnet = 0\nsubnet = 0\n"
                                                     "output_ports = 0\n")
        for plugin in ("dummy", "espnet", "ftdidmx", "gpio", "karate", "kinet", "milinst", "opendmx", "openpixelcontrol",
                       "osc", "pathport", "renard", "sandnet", "shownet", "spi", "stageprofi", "uartdmx", "usbdmx",
                       "usbserial"):
            (self.folder / f"ola-{plugin}.conf").write_text("enabled = false\n")
        shutil.chown(self.folder, "nobody")
        for f in self.folder.iterdir():
            shutil.chown(f, "nobody")
        log = open(self.folder / "olad.log", "wb")
        self.daemon = subprocess.Popen(self.inside("olad", "--config-dir", str(self.folder), "--no-http", "-l", "2"),
                                       stdout=log, stderr=subprocess.STDOUT)
        devices = ""
        for _ in range(100):  # bounded: 10 s
            time.sleep(0.1)
            done = subprocess.run(self.inside("ola_dev_info"), capture_output=True, text=True, timeout=10)
            devices = done.stdout
            if "E1.31" in devices and "ArtNet" in devices:
                break
        else:
            raise RuntimeError(f"olad did not start: {devices}\n{(self.folder / 'olad.log').read_text()[-2000:]}")
        ids = {("E1.31" if "E1.31" in line else "ArtNet"): line.split(":")[0].split()[-1]
               for line in devices.splitlines() if line.startswith("Device")}
        for port, universe in enumerate(SACN_PORTS):
            _run(*self.inside("ola_patch", "--device", ids["E1.31"], "--port", str(port), "--universe", str(universe), "--input"))
        for port, universe in enumerate(ARTNET_PORTS):
            _run(*self.inside("ola_patch", "--device", ids["ArtNet"], "--port", str(port), "--universe", str(universe), "--input"))

    def port_descriptions(self) -> str:
        """``ola_dev_info``'s lines (what each port listens to and its OLA universe)."""
        return subprocess.run(self.inside("ola_dev_info"), capture_output=True, text=True, timeout=10).stdout

    def record(self, name: str) -> Path:
        """Start recording every OLA universe above into a file (returned), until :meth:`wait_recorders`."""
        path = self.folder / name
        universes = ",".join(str(u) for u in (*SACN_PORTS, *ARTNET_PORTS))
        self.recorders.append(subprocess.Popen(self.inside("ola_recorder", "--record", str(path), "--universes", universes,
                                                           ),
                                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        time.sleep(0.5)  # it registers for the universes
        return path

    def wait_recorders(self, timeout_s: float = 10.0) -> None:
        """Stop the recorders (as Ctrl-C does: they write out what they heard)."""
        for rec in self.recorders:
            rec.send_signal(signal.SIGINT)
            rec.wait(timeout=timeout_s)
        self.recorders.clear()

    def stop(self) -> None:
        for rec in self.recorders:
            rec.kill()
            rec.wait(timeout=5)
        if self.daemon is not None:
            self.daemon.send_signal(signal.SIGTERM)
            try:
                self.daemon.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.daemon.kill()
                self.daemon.wait(timeout=5)
        subprocess.run(["ip", "link", "del", self.host_if], capture_output=True, timeout=10)
        subprocess.run(["ip", "netns", "del", self.ns], capture_output=True, timeout=10)
        shutil.rmtree(self.folder, ignore_errors=True)


def start_ola() -> Ola:
    """An OLA daemon in a fresh namespace (see :class:`Ola`); the caller stops it."""
    require_ola()
    n = os.getpid() % 240 + 10
    folder = Path(tempfile.mkdtemp(prefix="ola-"))
    os.chmod(folder, 0o777)
    ola = Ola(f"eco-ola-{os.getpid()}", f"eol{os.getpid() % 100000}a", f"10.231.{n}.2", f"10.231.{n}.1", folder)
    try:
        ola.start()
    except Exception:
        ola.stop()
        raise
    return ola


@dataclass(frozen=True, slots=True)
class Heard:
    """One frame OLA delivered: its OLA universe, its time (seconds from the first), its channels."""

    universe: int
    time_s: float
    values: tuple[int, ...]


def read_recording(path: Path) -> list[Heard]:
    """The frames of an ``ola_recorder`` file: lines ``<universe> <v1,v2,...>``, each followed by the
    milliseconds to the next."""
    heard: list[Heard] = []
    t_ms = 0.0
    lines = path.read_text().splitlines()[1:] if path.exists() else []
    for line in lines:
        parts = line.split()
        if len(parts) == 2:
            heard.append(Heard(int(parts[0]), t_ms / 1000.0, tuple(int(v) for v in parts[1].split(","))))
        elif len(parts) == 1 and parts[0].isdigit():
            t_ms += int(parts[0])
    return heard
