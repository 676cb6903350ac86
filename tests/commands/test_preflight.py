"""``ecosymphony preflight``: the judging (tables), the probes (real UDP on loopback), and whole runs
with real OSC senders and silent or flat-lined sources."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from pythonosc import osc_message_builder

from installation.config import LinkConfig, load_show
from installation.commands.preflight import (
    ChannelSeen,
    Check,
    DisplayProbe,
    PreflightOptions,
    SourceHeard,
    UdpProbe,
    channels_read,
    judge_audio,
    judge_display,
    judge_link,
    judge_udp,
    judge_wearer,
    preflight,
    probe_udp,
    verdict,
)
from installation.sensors.emitters import OscEmitter, Simulation
from installation.sensors.scripted import ScriptedAudience, Scenario
from installation.sensors.simulated import SimulatedAudience
from installation.sound.devices import AudioDevice

from tests.helpers import REPO, ecosymphony

PATCH = REPO / "patches" / "eco_symphony.py"
BOTH = {"heart", "eda"}


def good(samples: int = 500) -> ChannelSeen:
    return ChannelSeen(samples, "ok", 0.95, 72.0)


@pytest.mark.parametrize(
    ("seen", "needed", "result", "words"),
    [
        ({}, BOTH, "NO-GO", ["nothing arrived in 3 s"]),
        ({"p1": {"heart": good(), "eda": good()}}, BOTH, "GO", ["heart ok 72 bpm", "eda ok"]),
        ({"p1": {"heart": good()}}, BOTH, "NO-GO", ["no skin-conductance (EDA) signal arrived", "heart ok"]),
        ({"p1": {"eda": good()}}, {"eda"}, "GO", ["eda ok"]),
        ({"p1": {"heart": ChannelSeen(300, "flat", 0.0), "eda": good()}}, BOTH, "NO-GO", ["heart: flat (quality 0.00)"]),
        ({"p1": {"heart": ChannelSeen(300, "no_contact", 0.1), "eda": good()}}, BOTH, "NO-GO", ["heart: no contact"]),
        ({"p1": {"heart": ChannelSeen(300, "learning", 0.0), "eda": good()}}, BOTH, "WARN", ["still learning", "--listen-s"]),
        ({"p1": {"heart": ChannelSeen(300, "noisy", 0.4), "eda": good()}}, BOTH, "WARN", ["heart: noisy (quality 0.40"]),
        ({"p1": {"heart": ChannelSeen(300, "ok", 0.1), "eda": good()}}, BOTH, "NO-GO", ["heart: quality 0.10 too low"]),
        # another wearer on the same source sends EDA, this one does not, and the show reads only hearts:
        ({"p1": {"heart": good()}, "p2": {"heart": good(), "eda": good()}}, {"heart"}, "WARN",
         ["no skin-conductance (EDA) signal arrived (the show does not read it)"]),
    ],
)
def test_judging_a_wearer(seen: dict[str, dict[str, ChannelSeen]], needed: set[str], result: str, words: list[str]) -> None:
    heard = SourceHeard("osc 127.0.0.1:12345", ["p1", "p2"], 3.0, seen)
    check = judge_wearer(heard, "p1", needed)
    assert check.result == result and check.target == "p1 @ osc 127.0.0.1:12345"
    for w in words:
        assert w in check.detail, check.detail


def test_a_source_that_could_not_be_opened_is_named_in_its_wearers_lines() -> None:
    heard = SourceHeard("osc 127.0.0.1:12345", ["p1"], 3.0, error="cannot open: Address already in use")
    assert "Address already in use" in judge_wearer(heard, "p1", BOTH).detail


DEVICES = [AudioDevice(0, "HDA Intel PCH: ALC892 Analog", False), AudioDevice(3, "Focusrite USB", True)]


@pytest.mark.parametrize(
    ("backend", "wanted", "option", "devices", "jack", "result", "words"),
    [
        ("auto", None, "auto", DEVICES, None, "GO", "device 3: Focusrite USB"),
        ("auto", "alc892", "auto", DEVICES, None, "GO", "device 0: HDA Intel"),
        ("auto", 7, "auto", DEVICES, None, "NO-GO", "no audio output device matches 7"),
        ("auto", None, "auto", [], None, "WARN", "no device: the sound will be written to a WAV file"),
        ("portaudio", None, "auto", [], None, "NO-GO", "no audio output device found"),
        ("jack", None, "auto", None, (48000, 128), "GO", "JACK running at 48000 Hz, 128 frames"),
        ("jack", None, "auto", None, None, "NO-GO", "no JACK server is running"),
        ("jack", None, "auto", None, "libjack cannot be loaded", "NO-GO", "libjack cannot be loaded"),
        ("wav", None, "auto", None, None, "GO", "WAV file (as asked)"),
        ("auto", None, "file", None, None, "GO", "WAV file (as asked)"),
        ("portaudio", None, "none", None, None, "GO", "no sound (as asked)"),
    ],
)
def test_judging_the_audio(backend: str, wanted: int | str | None, option: str, devices: list[AudioDevice] | None,
                           jack: tuple[int, int] | str | None, result: str, words: str) -> None:
    check = judge_audio(backend, wanted, option, devices, jack)
    assert check.result == result and words in check.detail, check


@pytest.mark.parametrize(
    ("option", "probe", "index", "result", "words"),
    [
        ("auto", DisplayProbe("x11", ((1920, 1080),)), 0, "GO", "x11, 1920x1080"),
        ("auto", DisplayProbe("x11", ((1920, 1080), (1280, 720))), 1, "GO", "1280x720"),
        ("auto", DisplayProbe("x11", ((1920, 1080),)), 2, "NO-GO", "SDL sees 1 display(s)"),
        ("auto", DisplayProbe(error="no display is set"), 0, "NO-GO", "none found: no display is set"),
        ("auto", DisplayProbe("dummy", ((1024, 768),)), 0, "NO-GO", "none found"),
        ("frames", None, 0, "GO", "PNG frames"),
        ("none", None, 0, "GO", "no visuals"),
    ],
)
def test_judging_the_display(option: str, probe: DisplayProbe | None, index: int, result: str, words: str) -> None:
    check = judge_display(option, probe, index)
    assert check.result == result and words in check.detail, check


@pytest.mark.parametrize(
    ("probe", "result", "words"),
    [
        (UdpProbe("127.0.0.1", True), "GO", "a receiver is listening"),
        (UdpProbe("127.0.0.1", True, refused=True), "WARN", "nothing listening yet"),
        (UdpProbe("192.168.1.50", False), "GO", "a route exists"),
        (UdpProbe("192.168.1.50", False, refused=True), "WARN", "nothing listening yet"),
        (UdpProbe(error="no route to its network"), "NO-GO", "no route"),
        (UdpProbe(error="host 'desk.local' does not resolve"), "NO-GO", "does not resolve"),
    ],
)
def test_judging_an_osc_output(probe: UdpProbe, result: str, words: str) -> None:
    check = judge_udp("[osc_out]", "127.0.0.1", 9000, probe)
    assert check.result == result and words in check.detail and check.target == "[osc_out] 127.0.0.1:9000"


@pytest.mark.parametrize(
    ("results", "code", "line"),
    [
        (["GO", "GO"], 0, "GO"),
        (["GO", "WARN"], 0, "GO (1 warning)"),
        (["WARN", "WARN", "GO"], 0, "GO (2 warnings)"),
        (["GO", "NO-GO"], 1, "NO-GO: 1 problem"),
        (["NO-GO", "WARN", "NO-GO"], 1, "NO-GO: 2 problems"),
    ],
)
def test_verdict(results: list[str], code: int, line: str) -> None:
    assert verdict([Check("x", "y", r, "") for r in results]) == (code, line)  # type: ignore[arg-type]


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_probing_udp_on_loopback() -> None:
    port = free_udp_port()
    assert probe_udp("127.0.0.1", port).refused  # nothing listens
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver:
        receiver.bind(("127.0.0.1", 0))
        receiver.settimeout(2.0)
        probe = probe_udp("127.0.0.1", receiver.getsockname()[1])
        assert not probe.refused and not probe.error and probe.loopback
        data, _ = receiver.recvfrom(1024)
    assert data.startswith(b"/ecosymphony/preflight")
    assert "does not resolve" in probe_udp("no-such-host.invalid", 9000).error


@pytest.mark.parametrize(
    ("froms", "channels"),
    [(["p*.heart.beat"], {"heart"}), (["p*.eda.arousal"], {"eda"}), (["group.sync"], {"heart"}),
     (["p1.heart.bpm", "group.eda.arousal"], {"heart", "eda"}), (["group.count"], set())],
)
def test_channels_the_show_reads(tmp_path: Path, froms: list[str], channels: set[str]) -> None:
    show = tmp_path / "show.toml"
    show.write_text("".join(f'[[mappings]]\nfrom = "{f}"\nto = "visual.bloom"\n' for f in froms))
    assert channels_read(load_show(show)) == channels


# ---- whole runs ----------------------------------------------------------------------------
def write_show(path: Path, sources: list[tuple[int, list[str]]], osc_out_port: int | None = None) -> Path:
    text = f'[show]\ntitle = "preflight test"\n[sound]\npatch = "{PATCH}"\n'
    for port, wearers in sources:
        text += f'[[sources]]\nkind = "osc"\nport = {port}\nwearers = {wearers!r}\n'.replace("'", '"')
    text += '[[mappings]]\nfrom = "p*.heart.beat"\nto = "sound.p*.pulse"\n'
    text += '[[mappings]]\nfrom = "p*.eda.arousal"\nto = "visual.p*.hue"\n'
    if osc_out_port is not None:
        text += f'[osc_out]\nhost = "127.0.0.1"\nport = {osc_out_port}\n'
    path.write_text(text)
    return path


def simulated_sender(port: int, participants: int, stop: threading.Event, seconds: float) -> threading.Thread:
    """The repo's own simulated wearers, sent as native OSC by the repo's emitter."""
    def run() -> None:
        emitter = OscEmitter("127.0.0.1", port, "native")
        sim = Simulation(ScriptedAudience(SimulatedAudience(participants, 5), Scenario()), emitter)
        sim.scripted.audience.open()
        deadline = time.monotonic() + seconds
        try:
            while not stop.is_set() and time.monotonic() < deadline:
                sim.step(0.05)
        finally:
            emitter.close()
    return threading.Thread(target=run, daemon=True)


def flat_sender(port: int, wearer: str, stop: threading.Event, seconds: float) -> threading.Thread:
    """A sensor stuck at one value: PPG at 100 Hz and EDA at 25 Hz that never move."""
    def run() -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        deadline = time.monotonic() + seconds
        try:
            while not stop.is_set() and time.monotonic() < deadline:
                for signal, n, value in (("ppg", 5, 512.0), ("eda", 1, 4.2)):
                    m = osc_message_builder.OscMessageBuilder(f"/eco/{wearer}/{signal}")
                    for v in np.full(n, value):
                        m.add_arg(float(v))
                    sock.sendto(m.build().dgram, ("127.0.0.1", port))
                stop.wait(0.05)
        finally:
            sock.close()
    return threading.Thread(target=run, daemon=True)


def test_preflight_of_live_silent_and_flat_sources(tmp_path: Path) -> None:
    fed, silent, flat, out = free_udp_port(), free_udp_port(), free_udp_port(), free_udp_port()
    show = load_show(write_show(tmp_path / "show.toml", [(fed, ["p1", "p2"]), (silent, ["p3"]), (flat, ["p4"])], out))
    stop = threading.Event()
    threads = [simulated_sender(fed, 2, stop, 12.0), flat_sender(flat, "p4", stop, 12.0)]
    for t in threads:
        t.start()
    try:
        checks = preflight(show, PreflightOptions(listen_s=6.0, audio="none", visuals="none"))
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=5.0)
    by_target = {c.target.split(" @ ")[0]: c for c in checks}
    for wearer in ("p1", "p2"):  # a live heart and skin: go (noisy would be a warning: still go)
        assert by_target[wearer].result in ("GO", "WARN") and "eda ok" in by_target[wearer].detail, by_target[wearer]
        assert "nothing" not in by_target[wearer].detail and "flat" not in by_target[wearer].detail
    assert any(by_target[w].result == "GO" for w in ("p1", "p2"))
    assert by_target["p3"].result == "NO-GO" and "nothing arrived in 6 s" in by_target["p3"].detail
    assert by_target["p3"].target == f"p3 @ osc 127.0.0.1:{silent}"
    assert by_target["p4"].result == "NO-GO" and "heart: flat" in by_target["p4"].detail
    assert "eda: flat" in by_target["p4"].detail
    osc_out = next(c for c in checks if c.check == "osc out")
    assert osc_out.result == "WARN" and "nothing listening yet" in osc_out.detail
    assert verdict(checks) == (1, "NO-GO: 2 problems")


def test_cli_no_go_when_nothing_arrives(tmp_path: Path) -> None:
    port = free_udp_port()
    show = write_show(tmp_path / "show.toml", [(port, ["p1"])])
    done = ecosymphony("preflight", str(show), "--listen-s", "1", "--audio", "none", "--visuals", "none")
    assert done.returncode == 1, done.stderr
    assert "p1 @ osc 127.0.0.1:" in done.stdout and "nothing arrived in 1 s" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "NO-GO: 1 problem"


def test_cli_go_with_a_live_sender_and_warnings_allowed(tmp_path: Path) -> None:
    port = free_udp_port()
    show = write_show(tmp_path / "show.toml", [(port, ["p1"])])
    stop = threading.Event()
    sender = simulated_sender(port, 1, stop, 30.0)
    sender.start()
    try:
        done = ecosymphony("preflight", str(show), "--listen-s", "5", "--audio", "none", "--visuals", "frames")
    finally:
        stop.set()
        sender.join(timeout=5.0)
    assert done.returncode == 0, done.stdout + done.stderr
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("GO"), done.stdout
    assert "PNG frames are written (as asked)" in done.stdout and "show file" in done.stdout


def test_cli_bad_show_file_exits_2_with_the_message(tmp_path: Path) -> None:
    show = tmp_path / "broken.toml"
    show.write_text(f'[sound]\npatch = "{PATCH}"\n[[mappings]]\nfrom = "p*.heart.beet"\nto = "sound.p*.pulse"\n')
    done = ecosymphony("preflight", str(show), "--listen-s", "1")
    assert done.returncode == 2
    assert "broken.toml" in done.stderr and "mappings[0].from" in done.stderr and "did you mean 'p*.heart.beat'" in done.stderr
    assert "NO-GO: the show file is not valid" in done.stderr
    assert "listening" not in done.stderr  # nothing was opened


@pytest.mark.parametrize(
    ("extra", "targets"),
    [
        ("", []),
        ('[osc_out]\nport = 9100\n', [("[osc_out]", "127.0.0.1", 9100)]),
        ('[[outputs]]\nkind = "osc"\nport = 7000\nsend = ["group.sync"]\n'
         '[[outputs]]\nkind = "osc"\nname = "desk"\nhost = "10.0.0.5"\nport = 8000\nformat = "emotibit"\n'
         '[[outputs]]\nkind = "lsl"\nsend = ["group.sync"]\n',
         [("outputs[0]", "127.0.0.1", 7000), ("outputs[1] desk", "10.0.0.5", 8000)]),
        ('[care.notify]\nhost = "192.168.1.40"\nport = 9100\n', [("[care.notify]", "192.168.1.40", 9100)]),
        ('[care.notify]\naddress = "/x"\n', []),  # no port: nothing is sent, nothing to check
    ],
)
def test_the_osc_outputs_preflight_checks(extra: str, targets: list[tuple[str, str, int]]) -> None:
    from installation.config import parse_show
    from installation.commands.preflight import osc_targets

    base = '[[mappings]]\nfrom = "p*.eda.arousal"\nto = "sound.drone.brightness"\n'
    assert osc_targets(parse_show(base + extra, "t.toml")) == targets


@pytest.mark.parametrize(
    ("lead", "peers", "result", "words"),
    [
        (False, 2, "GO", "2 Link peers seen; the show joins their session and keeps its tempo"),
        (False, 1, "GO", "1 Link peer seen;"),
        (True, 3, "GO", "lead = true: the show takes their tempo over"),
        (False, 0, "WARN", "no Link peer seen within 1 s: the show will lead the tempo alone"),
        (False, "Ableton Link needs the Python package aalink (pip install aalink)", "NO-GO", "pip install aalink"),
    ],
)
def test_judging_the_link_peers(lead: bool, peers: int | str, result: str, words: str) -> None:
    check = judge_link(LinkConfig(enabled=True, lead=lead), peers)
    assert (check.check, check.target, check.result) == ("link", "[link]", result) and words in check.detail
