"""The steward's notification: welfare notices as OSC on a real UDP socket, and through liblo's oscdump."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

import pytest
from pythonosc.osc_message import OscMessage

from installation.care.board import NoticeBoard
from installation.config import CareNotifyConfig, ConfigError, parse_show
from installation.outputs.notify import StewardNotify

SHOW_HEAD = '[[mappings]]\nfrom = "p*.heart.beat"\nto = "sound.p*.pulse"\n'


@pytest.fixture()
def receiver() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(2.0)
    yield sock
    sock.close()


def _board_to(port: int, **extra: str) -> tuple[NoticeBoard, StewardNotify]:
    board = NoticeBoard(clock=lambda: 1234.5)
    steward = StewardNotify(CareNotifyConfig(port=port, **extra))
    board.listen(steward.raised, steward.cleared)
    return board, steward


def test_a_notice_and_its_end_arrive_as_osc(receiver: socket.socket) -> None:
    board, steward = _board_to(receiver.getsockname()[1])
    board.raise_("p3", "care.racing_heart", "p3: heart racing, 131 bpm (45 above their own 86) for 30 s")
    raised = OscMessage(receiver.recv(65536))
    assert raised.address == "/ecosymphony/care/raised"
    assert raised.params[:3] == ["p3", "care.racing_heart", "p3: heart racing, 131 bpm (45 above their own 86) for 30 s"]
    assert raised.params[3] == pytest.approx(1234.5)
    board.raise_("p3", "care.racing_heart", "still racing")  # it stood already: not sent again
    board.clear("p3", "care.racing_heart")
    cleared = OscMessage(receiver.recv(65536))
    assert (cleared.address, cleared.params) == ("/ecosymphony/care/cleared", ["p3", "care.racing_heart"])
    assert steward.sent == 2
    steward.close()


def test_only_welfare_notices_go_to_the_steward(receiver: socket.socket) -> None:
    board, steward = _board_to(receiver.getsockname()[1], address="/desk")
    board.raise_("p1", "sensor.heart_failing", "p1: heart sensor failing")  # the console's business
    board.raise_("p1", "care.heart_lost", "p1: heart rate lost")
    message = OscMessage(receiver.recv(65536))
    assert (message.address, message.params[1]) == ("/desk/raised", "care.heart_lost")
    assert steward.sent == 1
    steward.close()


def test_a_steward_device_that_is_not_there_is_no_error() -> None:
    """Nothing listens: every notice is still handed to the network, nothing raises, the show goes on."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nobody listens there now
    board, steward = _board_to(port)
    for k in range(4):
        board.raise_(f"p{k + 1}", "care.scr_storm", "storm")
        time.sleep(0.05)
    assert (steward.sent, steward.failed) == (4, 0)
    steward.close()


def test_no_port_no_notification() -> None:
    with pytest.raises(ValueError, match=r"\[care.notify\] has no port"):
        StewardNotify(CareNotifyConfig())


@pytest.mark.parametrize(
    ("care", "message"),
    [
        ('[care.notify]\nhost = "steward-phone"\nport = 9000\n', "care.notify.host"),
        ("[care.notify]\nport = 70000\n", "care.notify.port"),
        ('[care.notify]\nport = 9000\naddress = "no-slash"\n', "care.notify.address"),
        ("[care.notify]\nport = 9000\nwho = 1\n", "care.notify.who"),
        ("[care.welfare]\nbaseline = 60\n", "care.welfare.baseline"),
        ("[care.welfare.racing_heart]\nabove_baseline_bpm = -5\n", "care.welfare.racing_heart.above_baseline_bpm"),
        ("[care.welfare.scr_storm]\nfactor = 0.5\n", "care.welfare.scr_storm.factor"),
        ("[care.welfare.irregular_rhythm]\nmin_share = 2\n", "care.welfare.irregular_rhythm.min_share"),
        ("[care.welfare.heart_lost]\nfor = 10\n", "care.welfare.heart_lost.for"),
    ],
)
def test_care_settings_that_are_wrong_are_named(care: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_show(SHOW_HEAD + care, origin="show.toml")
    assert message in str(err.value)
    assert "show.toml" in str(err.value)


def test_care_defaults() -> None:
    care = parse_show(SHOW_HEAD).care
    assert care.notify.port is None  # nothing is sent unless asked
    w = care.welfare
    assert (w.enabled, w.withdraw, w.baseline_s) == (True, False, 120.0)
    assert (w.racing_heart.above_baseline_bpm, w.racing_heart.above_bpm, w.racing_heart.for_s) == (40.0, 150.0, 30.0)
    assert (w.scr_storm.factor, w.scr_storm.min_per_min, w.scr_storm.for_s) == (3.0, 15.0, 30.0)
    assert (w.irregular_rhythm.min_share, w.irregular_rhythm.above_baseline, w.irregular_rhythm.window_s) == (0.25, 0.2, 60.0)
    assert w.heart_lost.for_s == 15.0


@pytest.mark.skipif(shutil.which("oscdump") is None, reason="liblo's oscdump is not installed")
def test_oscdump_reads_the_notice() -> None:
    """liblo, an independent OSC implementation, decodes the notification."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    dump = subprocess.Popen(["oscdump", "-L", str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        board, steward = _board_to(port)
        deadline = time.monotonic() + 10.0
        n = 0
        while time.monotonic() < deadline and steward.sent < 50:  # until oscdump has bound its port
            board.raise_(f"p{n + 1}", "care.irregular_rhythm", f"p{n + 1}: irregular heart rhythm")
            board.clear(f"p{n + 1}", "care.irregular_rhythm")
            n += 1
            time.sleep(0.1)
        steward.close()
        time.sleep(0.3)
    finally:
        dump.terminate()
        out, _ = dump.communicate(timeout=5.0)
    lines = [line for line in out.splitlines() if "/ecosymphony/care/raised" in line]
    assert lines, out
    assert 'care.irregular_rhythm' in lines[0] and "irregular heart rhythm" in lines[0]
    assert "sssf" in lines[0]
