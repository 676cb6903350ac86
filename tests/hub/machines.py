"""What the tests of hubs on machines of their own share: the children's environment, their
output read line by line on a thread, a hub started in a namespace (optionally with a clock
of its own), and ending a child by its own process id."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.netns import Host

REPO = Path(__file__).resolve().parents[2]


def child_env() -> dict[str, str]:
    """This checkout first on the children's PYTHONPATH, and a wide terminal."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["COLUMNS"] = "200"
    return env


class Lines:
    """A child's standard output, line by line, on a thread (so waits can be bounded)."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self._thread.start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, text: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if any(text in line for line in list(self.lines)):
                return
            time.sleep(0.05)
        raise AssertionError(f"no {text} in time")

    def first_published_s(self, timeout_s: float) -> float:
        """The wall-clock time (seconds since 1970) at which the hub published its first stream."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if line.startswith('{"published"'):
                    return float(json.loads(line)["wall_s"])
            time.sleep(0.05)
        raise AssertionError("the hub published no stream in time")


def start_hub(host: Host, config: Path, duration_s: float = 300.0,
              clock_ahead_s: float = 0.0) -> tuple[subprocess.Popen[str], Lines]:
    """``ecosymphony hub CONFIG --json`` in ``host``'s namespace.

    ``clock_ahead_s``: the hub runs in a time namespace of its own whose monotonic clock (the
    one LSL stamps with) is this far ahead of the other machines' (as another computer's would be).
    """
    args = ["-m", "installation", "hub", str(config), "--json", "--duration", repr(duration_s)]
    if clock_ahead_s:
        command = host.command("unshare", "--time", "--monotonic", str(int(clock_ahead_s)), "--fork",
                               "--kill-child=SIGTERM", sys.executable, *args)
    else:
        command = host.python(*args)
    proc = subprocess.Popen(command, cwd=REPO, env=child_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    return proc, Lines(proc)


def end(proc: subprocess.Popen[str], sig: int = signal.SIGTERM) -> None:
    """Stop a child this test started (``sig``, then SIGKILL after 10 s)."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=10.0)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5.0)


def end_all(procs: list[subprocess.Popen[str]], sig: int = signal.SIGTERM, timeout_s: float = 10.0) -> None:
    """Stop children this test started, all at once (``sig`` to each, then SIGKILL to those left after ``timeout_s``)."""
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(sig)
    deadline = time.monotonic() + timeout_s
    for proc in procs:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5.0)
