"""``ecosymphony bench soak``: a long simulated show, watched for leaks, xruns and faults.

The whole live program runs as at a venue: a simulated audience of ``wearers``
(the default show's, heart and skin conductance) -> reader thread -> core thread
-> mapper -> the sound process (on JACK, its dummy driver started here when no
server runs; or the real-time WAV fallback) and the visuals process (the dummy
video driver, drawing at the show's frame rate, a PNG now and then). The CPU of
each process is reported apart. Every
``sample_every_s`` the benchmark notes the resident memory of the program and of
its visuals process, the xruns JACK reported (or the WAV pacer's late buffers),
the blocks analysed, the beats found and the faults logged.

Memory growth is the slope of a straight line fitted to the program's resident
memory after the first fifth of the run (imports, caches and the audio graph
settle there), in megabytes per hour.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal

import numpy as np

from installation.bench import BenchError

SoakAudio = Literal["jack", "wav", "none"]

#: Seconds the idle JACK server's own xruns are counted before the show starts (at most).
IDLE_BASELINE_S = 30.0
#: Fraction of the run left out of the memory-growth fit (start-up settles there).
SETTLE_FRACTION = 0.2


@dataclass(frozen=True, slots=True)
class SoakSample:
    """One look at the running show (memory in megabytes, counts since the start)."""

    elapsed_s: float
    rss_mb: float
    visuals_rss_mb: float
    xruns: int
    blocks: int
    beats: int
    faults: int
    cpu_s: float


@dataclass(slots=True)
class SoakReport:
    """Figures of one soak run."""

    seconds: float
    wearers: int
    audio: str
    samples: list[SoakSample] = field(default_factory=list)
    true_beats: int = 0
    visuals_restarts: int = 0
    frames_written: int = 0
    latency_p50_ms: float = math.nan
    latency_p99_ms: float = math.nan
    faults: list[str] = field(default_factory=list)
    idle_xruns: int = 0
    idle_s: float = 0.0
    recording: str | None = None
    recorded_samples: int = 0
    recording_dropped: int = 0
    recording_failed: str | None = None
    #: CPU of the sound and the visuals processes over the run, percent of one core.
    sound_cpu_percent: float = math.nan
    visuals_cpu_percent: float = math.nan
    sound_restarts: int = 0

    @property
    def rss_start_mb(self) -> float:
        settled = self._settled()
        return settled[0].rss_mb if settled else math.nan

    @property
    def rss_end_mb(self) -> float:
        return self.samples[-1].rss_mb if self.samples else math.nan

    @property
    def rss_max_mb(self) -> float:
        return max((s.rss_mb for s in self.samples), default=math.nan)

    def _settled(self) -> list[SoakSample]:
        if not self.samples:
            return []
        start = self.samples[-1].elapsed_s * SETTLE_FRACTION
        return [s for s in self.samples if s.elapsed_s >= start]

    def growth_mb_per_h(self, visuals: bool = False) -> float:
        """Slope of resident memory after the settling time, megabytes per hour."""
        settled = self._settled()
        if len(settled) < 3:
            return math.nan
        t = np.array([s.elapsed_s for s in settled]) / 3600.0
        m = np.array([s.visuals_rss_mb if visuals else s.rss_mb for s in settled])
        if not np.all(np.isfinite(m)) or np.ptp(t) <= 0:
            return math.nan
        return float(np.polyfit(t, m, 1)[0])

    @property
    def xruns(self) -> int:
        return self.samples[-1].xruns if self.samples else 0

    @property
    def xruns_per_min(self) -> float:
        """xruns a minute during the show."""
        if not self.samples or self.samples[-1].elapsed_s <= 0:
            return math.nan
        return 60.0 * self.xruns / self.samples[-1].elapsed_s

    @property
    def idle_xruns_per_min(self) -> float:
        """xruns a minute of the same JACK server with no show running (the baseline, measured first)."""
        return 60.0 * self.idle_xruns / self.idle_s if self.idle_s > 0 else math.nan

    @property
    def beats(self) -> int:
        return self.samples[-1].beats if self.samples else 0

    @property
    def cpu_percent(self) -> float:
        """The program's own CPU time over the run, percent of one core (the visuals process apart)."""
        if not self.samples or self.samples[-1].elapsed_s <= 0:
            return math.nan
        return 100.0 * self.samples[-1].cpu_s / self.samples[-1].elapsed_s

    def to_dict(self) -> dict[str, Any]:
        def clean(v: Any) -> Any:
            return None if isinstance(v, float) and not math.isfinite(v) else v

        return {
            "seconds": self.seconds, "wearers": self.wearers, "audio": self.audio,
            "rss_start_mb": clean(self.rss_start_mb), "rss_end_mb": clean(self.rss_end_mb),
            "rss_max_mb": clean(self.rss_max_mb), "growth_mb_per_h": clean(self.growth_mb_per_h()),
            "visuals_growth_mb_per_h": clean(self.growth_mb_per_h(visuals=True)),
            "xruns": self.xruns, "xruns_per_min": clean(self.xruns_per_min),
            "idle_xruns_per_min": clean(self.idle_xruns_per_min), "idle_s": self.idle_s, "beats": self.beats, "true_beats": self.true_beats,
            "visuals_restarts": self.visuals_restarts, "frames_written": self.frames_written,
            "latency_p50_ms": clean(self.latency_p50_ms), "latency_p99_ms": clean(self.latency_p99_ms),
            "cpu_percent": clean(self.cpu_percent), "sound_cpu_percent": clean(self.sound_cpu_percent),
            "visuals_cpu_percent": clean(self.visuals_cpu_percent), "sound_restarts": self.sound_restarts,
            "faults": list(self.faults),
            "recording": self.recording, "recorded_samples": self.recorded_samples,
            "recording_dropped": self.recording_dropped, "recording_failed": self.recording_failed,
            "samples": [{k: clean(v) for k, v in asdict(s).items()} for s in self.samples],
        }


def rss_mb(pid: int | None) -> float:
    """Resident memory of a process in megabytes (``/proc``; NaN when it is gone or unknown)."""
    if pid is None:
        return math.nan
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except (OSError, ValueError):
        pass
    return math.nan


def cpu_s(pid: int | None) -> float:
    """CPU time (user and system) a process has used, seconds (``/proc``; NaN when gone or unknown)."""
    if pid is None:
        return math.nan
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return math.nan


class XrunCounter:
    """Counts the xruns a JACK server reports, through a client of its own."""

    def __init__(self) -> None:
        import jack

        self.count = 0
        self._client = jack.Client(f"ecosymphony-soak-{os.getpid()}", no_start_server=True)
        self._client.set_xrun_callback(self._xrun)
        self._client.activate()

    def _xrun(self, delay_us: float) -> None:
        self.count += 1

    def close(self) -> None:
        self._client.deactivate()
        self._client.close()


def run_soak(
    seconds: float,
    wearers: int = 16,
    audio: SoakAudio = "jack",
    sample_every_s: float = 10.0,
    show_path: Path | None = None,
    record_dir: Path | None = None,
    notify: Callable[[str], None] = print,
    visuals: bool = True,
) -> SoakReport:
    """Run a simulated show for ``seconds`` and watch it (see the module's docstring).

    Parameters
    ----------
    seconds : float
        Length of the show, seconds.
    wearers : int
        Simulated audience members.
    audio : {"jack", "wav", "none"}
        Sound on JACK (a dummy-driver server is started when none runs), the
        real-time WAV fallback, or none.
    sample_every_s : float
        Interval between looks, seconds.
    show_path : Path, optional
        The show to play (default: ``patches/default.toml``).
    record_dir : Path, optional
        Record the show into a new folder there as well (the recorder's load is then
        part of the soak, and the report says how many samples it wrote and dropped).
    notify : callable
        Receives progress lines.
    visuals : bool
        Draw the visuals in a process of their own here (False: none, as when render
        nodes elsewhere draw them; the figures are then the conductor's and its sound's).
    """
    from installation.config import default_show_path, load_show
    from installation.runtime.launch import LaunchOptions, build_session, make_recorder, make_sources, plan_outputs, prepare_show
    from installation.sound.jack_server import DummyJackServer

    show = load_show(show_path or default_show_path())
    scratch = Path(tempfile.mkdtemp(prefix="ecosymphony-soak-"))
    options = LaunchOptions(participants=wearers, seed=1, runs_dir=scratch, audio="none" if audio == "none" else "file",
                            visuals="frames" if visuals else "none", live_edit=False, record_dir=record_dir)
    report = SoakReport(seconds, wearers, audio)
    jack_server: DummyJackServer | None = None
    xruns: XrunCounter | None = None
    try:
        prepared = prepare_show(show)
        sources, slots = make_sources(show, options, rehearsal=True)
        plan = plan_outputs(show, options, "soak")
        if audio == "jack":
            jack_server = DummyJackServer(show.sound.sample_rate_hz, show.sound.buffer_frames)
            jack_server.__enter__()
            plan.audio_backend, plan.wav_path = "jack", None
            xruns = XrunCounter()
            # The baseline: the same server with no show running (a virtual machine's dummy driver
            # reports xruns with no clients at all).
            report.idle_s = min(IDLE_BASELINE_S, seconds / 6.0)
            notify(f"Baseline: xruns of the idle JACK server for {report.idle_s:g} s...")
            time.sleep(report.idle_s)
            report.idle_xruns, xruns.count = xruns.count, 0
        recorder = make_recorder(show, options, "soak") if record_dir is not None else None
        session = build_session(prepared, sources, slots, plan, recorder=recorder)
        drawn = f"visuals headless at {show.visual.fps} fps" if visuals else "no visuals"
        notify(f"Soak: {wearers} simulated wearers for {seconds:g} s, sound {audio}, {drawn}; "
               f"a look every {sample_every_s:g} s.")
        session.start()
        started = time.monotonic()
        cpu0 = time.process_time()
        try:
            if session.renderer is not None and session.renderer.wait_started() is None:
                raise BenchError("the visuals process did not start")
            sound_pid = getattr(session.sound, "pid", None)
            visuals_pid = session.renderer.pid if session.renderer is not None else None
            sound_cpu0, visuals_cpu0, children_from_s = cpu_s(sound_pid), cpu_s(visuals_pid), time.monotonic()
            while True:
                elapsed = time.monotonic() - started
                if elapsed >= seconds:
                    break
                session.run(min(sample_every_s, seconds - elapsed))
                elapsed = time.monotonic() - started
                sound = session.sound
                late = int(getattr(sound, "late_buffers", 0) or 0)
                sample = SoakSample(
                    elapsed_s=elapsed,
                    rss_mb=rss_mb(os.getpid()),
                    visuals_rss_mb=rss_mb(session.renderer.pid if session.renderer is not None else None),
                    xruns=xruns.count if xruns is not None else late,
                    blocks=session.stats.blocks,
                    beats=sum(len(b) for b in session.stats.beat_times_s.values()),
                    faults=session.fault_count,
                    cpu_s=time.process_time() - cpu0,
                )
                report.samples.append(sample)
                notify(f"  {sample.elapsed_s:7.0f} s  memory {sample.rss_mb:6.1f} MB (visuals "
                       f"{sample.visuals_rss_mb:5.1f} MB)  xruns {sample.xruns}  beats {sample.beats}  "
                       f"faults {sample.faults}")
            took_s = time.monotonic() - children_from_s
            if getattr(session.sound, "pid", None) == sound_pid:  # (a restarted process's time starts again)
                report.sound_cpu_percent = 100.0 * (cpu_s(sound_pid) - sound_cpu0) / took_s
            if session.renderer is not None and session.renderer.pid == visuals_pid:
                report.visuals_cpu_percent = 100.0 * (cpu_s(visuals_pid) - visuals_cpu0) / took_s
            report.sound_restarts = int(getattr(session.sound, "restarts", 0))
        finally:
            session.stop()
        if session.renderer is not None:
            report.visuals_restarts = session.renderer.restarts
            report.frames_written = int(session.renderer.stopped_report().get("frames_written", 0))
        report.latency_p50_ms = session.stats.latency_ms(0.5)
        report.latency_p99_ms = session.stats.latency_ms(0.99)
        report.faults = [f.line() for f in session.faults]
        if recorder is not None:
            report.recording = str(recorder.folder)
            report.recorded_samples = recorder.samples_written
            report.recording_dropped = recorder.dropped_samples
            report.recording_failed = recorder.failed
        for source in sources:
            audience = getattr(getattr(source, "scripted", source), "audience", None)
            for w in getattr(audience, "wearers", []):
                report.true_beats += int(w.true_beats_s(audience.elapsed_s()).size)
        return report
    finally:
        if xruns is not None:
            xruns.close()
        if jack_server is not None:
            jack_server.__exit__(None, None, None)
        shutil.rmtree(scratch, ignore_errors=True)
