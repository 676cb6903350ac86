"""Turning a show file and command-line options into a running session.

Decides where sound and light go (a device and a window when the machine has
them; a WAV file and PNG frames in a run folder when it does not), builds the
sources, engine and renderer, runs the session and summarises it.
"""

from __future__ import annotations

import difflib
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Literal

from installation.addresses import ParameterKind, pattern_matches
from installation.clock import Clock
from installation.config import ConfigError, Show, SimulatedSource, load_show
from installation.folders import stamped_folder
from installation.mapping.mapper import Mapper, SceneDirector, compile_mappings
from installation.record.consent import RecordingGate
from installation.record.retention import delete_expired
from installation.record.writer import Recorder
from installation.record.xdf_writer import XdfRecorder
from installation.lights.check import check_fixtures, light_parameters
from installation.outputs.select import check_outputs
from installation.sensors.base import Source
from installation.sensors.factory import source_from_config, source_slots
from installation.sensors.simulated import SimulatedAudience
from installation.sensors.emitters import TransportRehearsal
from installation.sensors.scripted import Scenario, ScriptedAudience, load_scenario
from installation.runtime.session import Session
from installation.sound.devices import AudioDevice, choose_output_device, output_devices
from installation.sound.engine import Backend, SoundEngine
from installation.sound.output import SoundOutput
from installation.sound.process import SoundProcess, SoundSettings
from installation.sound.wire import expand_parameters
from installation.sound.jack_server import JackError, ServerSettings, server_settings
from installation.sound.patch import Patch, PatchError, load_patch
from installation.visuals.process import Renderer, RendererSettings
from installation.visuals.scene import BioluminescentScene

Notify = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class LaunchOptions:
    """Command-line choices for ``rehearse`` and ``run``.

    Attributes
    ----------
    duration_s : float, optional
        Stop after this many seconds (None: until Esc / Ctrl-C).
    participants : int, optional
        Rehearsal only: number of simulated wearers (default: the show's, else 4).
    seed : int, optional
        Rehearsal only: seed of the simulated audience.
    runs_dir : Path
        Folder in which a run folder is made when files are written.
    audio : {"auto", "file", "none"}
        ``auto``: a device if there is one, else a WAV file; ``file``: always a WAV file.
    visuals : {"auto", "frames", "none"}
        ``auto``: a window if there is a display, else PNG frames; ``frames``: always frames.
    via : {"memory", "osc", "serial", "lsl"}
        Rehearsal only: hand the simulated audience to the core directly, or send it
        through a real transport (and read it with the real source).
    wire_format : str
        Rehearsal through a transport: the wire format spoken.
    scenario : Path, optional
        Rehearsal only: a scenario file scripting moods and faults.
    record_dir : Path, optional
        Record the show into a new folder in here (``--record DIR``), whatever the
        show file's ``[record]`` says.
    console : bool
        Show the operator console in the terminal (its keys, when standard input is one).
    """

    duration_s: float | None = None
    participants: int | None = None
    seed: int | None = None
    runs_dir: Path = Path("runs")
    audio: Literal["auto", "file", "none"] = "auto"
    visuals: Literal["auto", "frames", "none"] = "auto"
    via: Literal["memory", "osc", "serial", "lsl"] = "memory"
    wire_format: Literal["native", "emotibit", "pulsesensor", "openbci"] = "native"
    scenario: Path | None = None
    live_edit: bool = True
    record_dir: Path | None = None
    console: bool = False


@dataclass(slots=True)
class OutputPlan:
    """Where sound and light go, and the one-line notices that explain fallbacks."""

    audio_backend: Backend | None
    device: AudioDevice | None
    wav_path: Path | None
    headless_visuals: bool | None  # None: no visuals
    frames_dir: Path | None
    run_dir: Path
    notices: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Summary:
    """What a rehearsal or run did.

    ``duration_s`` is the show played: from the moment the sound and the sources
    started to the end of the sound's fade-out. The start-up before it (the signal
    core's kernels, the sound server, launching the visuals process) and the shutdown
    after it (threads, the visuals process, the sound server) are ``startup_s`` and
    ``shutdown_s``.
    """

    title: str
    duration_s: float
    wearers: list[str]
    beats: dict[str, int]
    mean_bpm: dict[str, float]
    simulated_bpm: dict[str, float]
    latency_p50_ms: float
    latency_p99_ms: float
    audio: str
    visuals: str
    run_dir: Path | None
    wav_path: Path | None
    frames_written: int
    problems: list[str]
    recording: Path | None = None
    faults: list[str] = field(default_factory=list)  # the newest faults, "HH:MM:SS.mmm part: message"
    startup_s: float = math.nan
    shutdown_s: float = math.nan


def display_available() -> bool:
    """True when a window can be opened (on Linux: an X11 or Wayland display is set)."""
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def plan_outputs(
    show: Show,
    options: LaunchOptions,
    mode: str,
    find_devices: Callable[[], list[AudioDevice]] = output_devices,
    has_display: Callable[[], bool] = display_available,
    find_jack: Callable[[], ServerSettings | None] = server_settings,
) -> OutputPlan:
    """Decide the audio backend and the visuals mode, detecting devices (or the JACK server) first."""
    run_dir = stamped_folder(options.runs_dir, mode)
    notices: list[str] = []
    backend: Backend | None
    device: AudioDevice | None = None
    wav_path: Path | None = None
    wanted = show.sound.backend
    if options.audio == "none":
        backend = None
    elif options.audio == "file" or wanted == "wav":
        backend, wav_path = "wav", run_dir / "audio.wav"
        notices.append(f"Audio: rendering in real time to {wav_path} (as asked).")
    elif wanted == "jack":
        try:
            jack = find_jack()
            missing = None if jack is not None else "no JACK server is running; start it (jackd or the venue's JACK set-up)"
        except JackError as exc:
            jack, missing = None, f"JACK cannot be used: {exc}"
        if jack is None:
            backend = None
            notices.append(f"NO SOUND: sound.backend is 'jack' but {missing}, then start the show again. "
                           "The visuals and outputs go on without it.")
        else:
            backend = "jack"
            notices.append(f"Audio: through JACK at {jack.sample_rate_hz} Hz, {jack.buffer_frames} frames a cycle (as asked).")
    else:
        try:
            device = choose_output_device(show.sound.device, find_devices())
        except LookupError as exc:
            raise ConfigError(f"{show.path or '<show>'}: sound.device: {exc}") from None
        if device is not None:
            backend = "portaudio"
        elif wanted == "portaudio":
            backend = None
            notices.append("NO SOUND: sound.backend is 'portaudio' but no audio output device was found; plug one in "
                           "(ecosymphony devices lists them) and start the show again. The visuals and outputs go on.")
        else:
            backend, wav_path = "wav", run_dir / "audio.wav"
            notices.append(f"No audio device found: rendering the sound in real time to {wav_path}.")
    headless: bool | None
    frames_dir: Path | None = run_dir / "frames"
    if options.visuals == "none":
        headless, frames_dir = None, None
    elif options.visuals == "frames":
        headless = True
        notices.append(f"Visuals: writing a frame every {show.visual.frame_every_s:g} s to {frames_dir} (as asked).")
    elif has_display():
        headless = False
    else:
        headless = True
        notices.append(
            f"No display found: writing a frame of the scene every {show.visual.frame_every_s:g} s to {frames_dir}."
        )
    return OutputPlan(backend, device, wav_path, headless, frames_dir, run_dir, notices)


def make_sources(show: Show, options: LaunchOptions, rehearsal: bool, clock: Clock | None = None) -> tuple[list[Source], list[str]]:
    """Sources and wearer slots: the rehearsal audience (paced by ``clock``), or the show's own sources."""
    configs = list(show.sources)
    if not configs and not rehearsal:
        raise ConfigError(
            f"{show.path or '<show>'}: sources: the show names no [[sources]]; add one, "
            "or rehearse it with a simulated audience: ecosymphony rehearse SHOW"
        )
    if rehearsal:
        base = next((c for c in configs if isinstance(c, SimulatedSource)), SimulatedSource())
        count = options.participants or (base.wearers if any(isinstance(c, SimulatedSource) for c in configs) else
                                         max(4, len({w for c in configs for w in source_slots(c)})))
        seed = base.seed if options.seed is None else options.seed
        cfg = base.model_copy(update={"wearers": count, "seed": seed})
        scenario = load_scenario(options.scenario) if options.scenario else Scenario()
        audience = source_from_config(cfg, clock=clock)
        assert isinstance(audience, SimulatedAudience)
        scripted = ScriptedAudience(audience, scenario, seed=seed)
        source: Source = scripted if options.via == "memory" else TransportRehearsal(scripted, options.via, options.wire_format)
        return [source], [w.profile.wearer for w in audience.wearers]
    sources: list[Source] = []
    wearers: list[str] = []
    for cfg in configs:
        first = len([w for w in wearers if w.startswith("p")])
        sources.append(source_from_config(cfg, first))  # several simulated groups get consecutive slots
        wearers += [w for w in source_slots(cfg, first) if w not in wearers]
    return sources, sorted(wearers, key=lambda w: int(w[1:]))


@dataclass(frozen=True, slots=True)
class PreparedShow:
    """A show whose patch loaded and whose mappings compiled against it."""

    show: Show
    patch_class: type[Patch]
    mapper: Mapper


def prepare_show(show: Show) -> PreparedShow:
    """Load the show's patch and compile its mappings; report every problem at once.

    Raises
    ------
    ConfigError
        Naming the show file and the key (``sound.patch``, ``mappings[2].to``).
    """
    origin = str(show.path) if show.path else "<show>"
    problems: list[str] = []
    parameters: dict[str, ParameterKind] = {f"visual.{k}": v for k, v in BioluminescentScene.PARAMETERS.items()}
    parameters |= light_parameters(show.fixtures)
    problems += check_fixtures(show.fixtures, show.outputs, origin)
    patch_class: type[Patch] | None = None
    try:
        patch_class = load_patch(show.patch_path())
        parameters |= {f"sound.{k}": v for k, v in patch_class.PARAMETERS.items()}
    except (PatchError, ConfigError) as exc:
        problems.append(f"{origin}: sound.patch: {exc}")
    if patch_class is not None:
        try:
            patch_class.check_settings(show.sound.settings)
        except PatchError as exc:  # the patch names the setting (sound.settings.scale)
            problems.append(f"{origin}: {exc}")
    try:
        compiled = compile_mappings(show.mappings, parameters, origin)
    except ConfigError as exc:
        if patch_class is None:  # sound.* addresses cannot be checked without the patch
            problems += [line for line in str(exc).splitlines() if "unknown parameter 'sound." not in line]
        else:
            problems.append(str(exc))
    for i, scene in enumerate(show.scenes):
        for address in scene.set:
            if parameters.get(address) != "continuous" and not any(
                pattern_matches(p, address) and k == "continuous" for p, k in parameters.items()
            ):
                close = difflib.get_close_matches(address, [p for p, k in parameters.items() if k == "continuous"], n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                problems.append(f"{origin}: scenes[{i}].set: '{address}' is not a continuous parameter{hint}")
    if patch_class is not None:  # sound.* patterns cannot be checked without the patch
        problems += check_outputs(show.outputs, parameters, origin)
    if problems or patch_class is None:
        raise ConfigError("\n".join(problems))
    director = SceneDirector(list(show.scenes), compiled) if show.scenes else None
    return PreparedShow(show, patch_class, Mapper(compiled, director))


class ShowWatcher:
    """Notices when the show file is saved and prepares its new mappings.

    A file saved broken keeps the previous mappings playing; its error goes to
    ``notify`` once per save. A changed patch or source list needs a restart.
    """

    def __init__(self, prepared: PreparedShow, notify: Notify) -> None:
        self.prepared = prepared
        self.notify = notify
        self.path = prepared.show.path
        self._mtime = self._stamp()

    def _stamp(self) -> float | None:
        try:
            return self.path.stat().st_mtime_ns if self.path else None  # type: ignore[return-value]
        except OSError:
            return None

    def __call__(self) -> Mapper | None:
        stamp = self._stamp()
        if stamp is None or stamp == self._mtime or self.path is None:
            return None
        self._mtime = stamp
        try:
            show = load_show(self.path)
            fresh = prepare_show(show)
        except ConfigError as exc:
            self.notify(f"Show file not applied, the previous mappings keep playing:\n{exc}")
            return None
        old = self.prepared.show
        if show.sound.patch != old.sound.patch or show.sources != old.sources or show.outputs != old.outputs \
                or show.fixtures != old.fixtures or show.lights != old.lights:
            self.notify("Show file reloaded; a new sound patch, new sources, outputs or fixtures take effect at the next start.")
        else:
            self.notify(f"Show file reloaded ({len(show.mappings)} mappings).")
        self.prepared = fresh
        return fresh.mapper


def recordings_dir(show: Show, options: LaunchOptions) -> Path:
    """The folder recordings go into: ``--record DIR``, else the show's ``[record] dir``."""
    return options.record_dir if options.record_dir is not None else Path(show.record.dir)


def make_recorder(show: Show, options: LaunchOptions, mode: str) -> RecordingGate | None:
    """A recorder when ``--record DIR`` or the show's ``[record] enabled`` asks for one (else None: nothing on
    disk), behind the gate that lets in slot ids only and, with ``[record] consent``, only consenting wearers."""
    if options.record_dir is None and not show.record.enabled:
        return None
    root = recordings_dir(show, options)
    text = ""
    if show.path is not None:
        try:
            text = show.path.read_text(encoding="utf-8")
        except OSError:
            text = ""  # it was read a moment ago; the recording still holds everything else
    recorder = (XdfRecorder(stamped_folder(root, mode, ".xdf"), text, mode, show.path) if show.record.format == "xdf"
                else Recorder(stamped_folder(root, mode), text, mode, show.path))
    return RecordingGate(recorder, show.record.consent)


def make_engine(prepared: PreparedShow, wearers: list[str], plan: OutputPlan) -> SoundOutput | None:
    """The sound a plan asks for (not started): in its own supervised process unless the
    show's ``[sound] process = false``; None for no sound."""
    if plan.audio_backend is None:
        return None
    s = prepared.show.sound
    if plan.wav_path is not None:
        plan.wav_path.parent.mkdir(parents=True, exist_ok=True)
    if s.process:
        settings = SoundSettings(
            patch_path=str(prepared.show.patch_path()), wearers=list(wearers), patch_settings=dict(s.settings),
            backend=plan.audio_backend, sample_rate_hz=s.sample_rate_hz, buffer_frames=s.buffer_frames,
            ceiling_db=s.ceiling_db, fade_in_s=s.fade_in_s, fade_out_s=s.fade_out_s,
            device_index=plan.device.index if plan.device else None,
            wav_path=str(plan.wav_path) if plan.wav_path is not None else None,
            jack_connect_to=list(s.jack_connect_to),
        )
        return SoundProcess(settings, expand_parameters(prepared.patch_class.PARAMETERS, wearers),
                            prepared.patch_class.trigger_voices_for(wearers, s.settings), crossfade_s=s.crossfade_s)
    return SoundEngine(
        prepared.patch_class(wearers, s.settings),
        plan.audio_backend,
        sample_rate_hz=s.sample_rate_hz,
        buffer_frames=s.buffer_frames,
        ceiling_db=s.ceiling_db,
        fade_in_s=s.fade_in_s,
        fade_out_s=s.fade_out_s,
        device_index=plan.device.index if plan.device else None,
        wav_path=plan.wav_path,
        jack_connect_to=list(s.jack_connect_to),
    )


def make_renderer(show: Show, wearers: list[str], plan: OutputPlan) -> Renderer | None:
    """The visuals process a plan asks for (not started), or None for no visuals."""
    if plan.headless_visuals is None:
        return None
    v = show.visual
    return Renderer(
        RendererSettings(
            wearers=wearers,
            size_px=v.size_px,
            fps=v.fps,
            headless=plan.headless_visuals,
            frames_dir=plan.frames_dir,
            frame_every_s=v.frame_every_s,
            fullscreen=v.fullscreen,
            display_index=v.display,
            title=f"Eco-Symphony: {show.show.title}",
            flash_limit=v.flash_limit,
            max_flashes_per_s=v.max_flashes_per_s,
        )
    )


def build_session(prepared: PreparedShow, sources: list[Source], wearers: list[str], plan: OutputPlan,
                  recorder: Recorder | RecordingGate | None = None) -> Session:
    """Create the engine, renderer and session for a plan (nothing started yet)."""
    return Session(prepared.show, prepared.mapper, sources, wearers, make_engine(prepared, wearers, plan),
                   make_renderer(prepared.show, wearers, plan), recorder=recorder)


def perform(
    show: Show,
    options: LaunchOptions,
    rehearsal: bool,
    notify: Notify = print,
    should_stop: Callable[[], bool] = lambda: False,
    find_devices: Callable[[], list[AudioDevice]] = output_devices,
    has_display: Callable[[], bool] = display_available,
) -> Summary:
    """Plan outputs, run the show until done, stop everything, and summarise."""
    mode = "rehearse" if rehearsal else "run"
    prepared = prepare_show(show)
    sources, wearers = make_sources(show, options, rehearsal)
    plan = plan_outputs(show, options, mode, find_devices, has_display)
    for line in plan.notices:
        notify(line)
    # recordings past [record] keep_days go at every start, whether or not this show records
    delete_expired(recordings_dir(show, options), show.record.keep_days, notify)
    recorder = make_recorder(show, options, mode)
    if recorder is not None:
        notify(f"Recording every sample, event and operator action to {recorder.folder}."
               + {"none": "", "operator": " A wearer is recorded only once the operator gives their consent (key c).",
                  "device": " A wearer is recorded only once their device sends their consent."}[show.record.consent])
    session = build_session(prepared, sources, wearers, plan, recorder)
    problems: list[str] = []
    started = time.perf_counter()
    session.start()  # compiles (or loads) the signal core's kernels, then starts sound, visuals and sources
    show_started = time.perf_counter()  # the sound plays and samples flow: the show's time starts here
    operator = None
    try:
        if options.console:
            from installation.runtime.console import OperatorConsole

            operator = OperatorConsole(session, show.show.title)
            operator.start()
        say = operator.note if operator is not None else notify  # the console's events pane while it is on
        if session.renderer is not None:
            report = session.renderer.wait_started()
            fallback = next((r for r in session.renderer.reports if r["kind"] == "fallback"), None)
            if fallback is not None:
                say(f"Could not open a window ({fallback['reason']}): writing frames to {plan.frames_dir}.")
            if report is None:
                problems.append("the visuals process did not start (sound carries on)")
        stop = should_stop if operator is None else (lambda: should_stop() or operator.quit_requested)
        watcher = ShowWatcher(prepared, say) if options.live_edit else None
        # The asked duration is the time played, the sound's fade-out included (at most the
        # show's second half): the show runs until the fade must begin, then everything goes
        # on while the sound fades.
        duration_s = options.duration_s
        fade_s = 0.0 if session.sound is None or duration_s is None else min(session.sound.fade_out_s, duration_s / 2.0)
        run_s = None if duration_s is None else max(0.0, duration_s - fade_s - (time.perf_counter() - show_started))
        session.run(run_s, stop, watcher)
        if session.sound is not None:
            left_s = None if duration_s is None else max(0.0, min(fade_s, duration_s - (time.perf_counter() - show_started)))
            session.run(session.sound.fade_out(left_s), stop, watcher)  # returns at once when a stop was asked
    except KeyboardInterrupt:
        notify("Interrupted: stopping now.")
    finally:
        # The show ends when its sound is silent: a fade not yet begun begins now (stop() waits for it).
        fade_left_s = session.sound.fade_out() if session.sound is not None else 0.0
        show_ended = time.perf_counter() + fade_left_s
        if operator is not None:
            operator.stop()
        session.stop()
    shutdown_s = time.perf_counter() - show_ended
    frames_written = session.renderer.stopped_report().get("frames_written", 0) if session.renderer else 0
    if session.sound_failed is not None:
        problems.append(f"the sound could not start ({session.sound_failed}); the show ran without it")
    if session.fault_count:
        problems.append(f"{session.fault_count} fault(s) during the show (the last ones below)")
    if session.sound is not None and session.sound.errors:
        problems.append(f"the sound patch failed {session.sound.errors} time(s); see the log")
    if recorder is not None and recorder.failed:
        problems.append(f"the recording stopped early ({recorder.failed}); what came before is in {recorder.folder}")
    if session.stats.source_errors:
        problems.append(f"sources failed to read {session.stats.source_errors} time(s)")
    simulated: dict[str, float] = {}
    for src in sources:
        audience = src if isinstance(src, SimulatedAudience) else getattr(getattr(src, "scripted", src), "audience", None)
        if isinstance(audience, SimulatedAudience):
            for w in audience.wearers:
                truth = w.true_beats_s(audience.elapsed_s())
                if truth.size >= 3:
                    simulated[w.profile.wearer] = 60.0 / float((truth[-1] - truth[0]) / (truth.size - 1))
    audio = "none"
    if plan.audio_backend == "portaudio" and plan.device is not None:
        audio = f"device {plan.device.index}: {plan.device.name}"
    elif plan.audio_backend == "jack":
        audio = "JACK"
    elif plan.wav_path is not None:
        audio = f"WAV file {plan.wav_path}"
        more = int(getattr(session.sound, "processes_started", 1)) - 1
        if more > 0:  # each sound process that replaced one that died wrote its own file
            audio += f" (and {more} more after restarts: {plan.wav_path.stem}.2{plan.wav_path.suffix}, ...)"
    visuals = "none" if plan.headless_visuals is None else ("PNG frames" if frames_written else "window")
    wrote_files = (plan.wav_path is not None) or frames_written > 0
    return Summary(
        title=show.show.title,
        duration_s=show_ended - show_started,
        wearers=wearers,
        beats={w: len(session.stats.beat_times_s.get(w, [])) for w in wearers},
        mean_bpm={w: session.stats.mean_bpm(w) for w in wearers},
        simulated_bpm=simulated,
        latency_p50_ms=session.stats.latency_ms(0.5),
        latency_p99_ms=session.stats.latency_ms(0.99),
        audio=audio,
        visuals=visuals,
        run_dir=plan.run_dir if wrote_files else None,
        wav_path=plan.wav_path,
        frames_written=frames_written,
        problems=problems,
        faults=[f.line() for f in session.faults],
        recording=recorder.folder if recorder is not None and recorder.folder.exists() else None,
        startup_s=show_started - started,
        shutdown_s=shutdown_s,
    )


def finite_or_dash(value: float, fmt: str = "{:.1f}") -> str:
    """Format a number, or an en dash when it is unknown."""
    return fmt.format(value) if math.isfinite(value) else "–"
