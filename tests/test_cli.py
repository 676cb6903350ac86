"""The ``ecosymphony`` command as a user runs it, in a child process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import DEFAULT_SHOW, REPO, ecosymphony, headless_env


def test_rehearse_headless_prints_a_summary(tmp_path: Path) -> None:
    done = ecosymphony("rehearse", "--duration", "4", "--participants", "2", "--audio", "file",
                       "--runs-dir", str(tmp_path))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Visuals:" in out or "No display found" in out
    assert "2 participants" in out and "p1" in out and "p2" in out and "p3" not in out
    assert "mean HR (bpm)" in out and "run folder:" in out
    run_dirs = list(tmp_path.iterdir())
    assert len(run_dirs) == 1 and (run_dirs[0] / "audio.wav").is_file()
    assert str(run_dirs[0].name) in out


def test_bad_show_exits_2_naming_the_key(tmp_path: Path) -> None:
    show = tmp_path / "broken.toml"
    patch = REPO / "patches" / "eco_symphony.py"
    show.write_text(f'[sound]\npatch = "{patch}"\n[[mappings]]\nfrom = "p*.heart.beet"\nto = "sound.p*.pulse"\n'
                    '[[mappings]]\nfrom = "p*.heart.beat"\nto = "sound.p*.plse"\n')
    done = ecosymphony("rehearse", str(show), "--duration", "1", "--runs-dir", str(tmp_path / "runs"))
    assert done.returncode == 2
    assert "broken.toml" in done.stderr and "mappings[0].from" in done.stderr
    assert "did you mean 'p*.heart.beat'" in done.stderr
    assert "mappings[1].to" in done.stderr and "did you mean 'sound.p*.pulse'" in done.stderr
    assert not (tmp_path / "runs").exists()


def test_missing_patch_and_bad_mapping_reported_together(tmp_path: Path) -> None:
    show = tmp_path / "show.toml"
    show.write_text('[sound]\npatch = "mine.py"\n[[mappings]]\nfrom = "p*.eda.arousl"\nto = "visual.p*.hue"\n')
    done = ecosymphony("rehearse", str(show), "--duration", "1", "--runs-dir", str(tmp_path / "runs"))
    assert done.returncode == 2
    assert "sound.patch" in done.stderr and "mine.py: no such patch file" in done.stderr
    assert "mappings[0].from" in done.stderr


def test_missing_show_file(tmp_path: Path) -> None:
    done = ecosymphony("run", str(tmp_path / "nope.toml"))
    assert done.returncode == 2 and "no such show file" in done.stderr


def test_run_uses_the_shows_sources(tmp_path: Path) -> None:
    done = ecosymphony("run", "patches/default.toml", "--duration", "3", "--audio", "none", "--visuals", "none",
                       "--runs-dir", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "4 participants" in done.stdout and "(nothing written)" in done.stdout
    assert not list(tmp_path.iterdir())


def test_run_without_sources_says_what_to_do(tmp_path: Path) -> None:
    show = tmp_path / "nosources.toml"
    show.write_text(DEFAULT_SHOW.read_text().replace("[[sources]]", "[unused]", 1)
                    .replace('kind = "simulated"\nwearers = 4\nseed = 1\n', ""))
    show.write_text(show.read_text().replace("[unused]\n", ""))
    (tmp_path / "eco_symphony.py").write_text((REPO / "patches" / "eco_symphony.py").read_text())
    done = ecosymphony("run", str(show), "--duration", "1")
    assert done.returncode == 2
    assert "names no [[sources]]" in done.stderr and "ecosymphony rehearse" in done.stderr


def test_version() -> None:
    done = ecosymphony("--version")
    assert done.returncode == 0 and done.stdout.startswith("ecosymphony ")


def test_ctrl_c_and_sigterm_stop_cleanly(tmp_path: Path) -> None:
    import signal
    import time

    for sig in (signal.SIGINT, signal.SIGTERM):
        env = headless_env()
        proc = subprocess.Popen(
            [sys.executable, "-m", "installation", "rehearse", "--participants", "2", "--audio", "file",
             "--runs-dir", str(tmp_path / sig.name)],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            # A child started in the background may inherit SIGINT ignored; the command handles it itself.
            # Its own session, so that anything it leaves behind can be found by session id.
            preexec_fn=lambda: (signal.signal(signal.SIGINT, signal.SIG_IGN), os.setsid()),
        )
        try:
            deadline = time.monotonic() + 30.0
            while not any((tmp_path / sig.name).glob("*/frames/frame_00002.png")):
                assert proc.poll() is None and time.monotonic() < deadline, "rehearsal did not get going"
                time.sleep(0.1)
            proc.send_signal(sig)
            out, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == 0, err
        assert "Stopping" in err and "2 participants" in out and "run folder:" in out
        # The visuals process and any helper are gone too. A helper that learns of its parent's exit
        # from a closed pipe (multiprocessing's resource tracker) may take a moment: a bounded wait.
        left = _processes_in_session(proc.pid)
        deadline = time.monotonic() + 3.0
        while left and time.monotonic() < deadline:
            time.sleep(0.1)
            left = _processes_in_session(proc.pid)
        assert left == [], [_command_line(pid) for pid in left]


def _command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return f"{pid} (gone)"


def _processes_in_session(sid: int) -> list[int]:
    """PIDs of the live processes whose session id is ``sid`` (Linux ``/proc``)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != "Z":  # fields after the name: state, ppid, pgrp, session
            found.append(int(stat.parent.name))
    return found


def test_shipped_show_copied_to_another_folder_checks(tmp_path: Path) -> None:
    copy = tmp_path / "tour" / "default.toml"
    copy.parent.mkdir()
    copy.write_text((REPO / "patches" / "default.toml").read_text())
    done = ecosymphony("check", str(copy), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "valid" in done.stdout and "eco_symphony.py" in done.stdout


def test_init_writes_a_show_that_checks(tmp_path: Path) -> None:
    folder = tmp_path / "new" / "show"  # made, parents and all
    done = ecosymphony("init", str(folder), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    written = folder / "show.toml"
    assert written.read_text() == (REPO / "patches" / "default.toml").read_text()
    assert str(written) in done.stdout
    assert f"ecosymphony check {written}" in done.stdout and f"ecosymphony rehearse {written}" in done.stdout
    done = ecosymphony("check", str(written), cwd=tmp_path)
    assert done.returncode == 0, done.stderr


def test_init_never_overwrites(tmp_path: Path) -> None:
    mine = tmp_path / "show.toml"
    mine.write_text("# my show, months of work\n")
    done = ecosymphony("init", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 1
    assert str(mine) in done.stderr and "there already" in done.stderr
    assert mine.read_text() == "# my show, months of work\n"


def test_check_reports_every_problem_in_one_run(tmp_path: Path) -> None:
    show = tmp_path / "show.toml"
    show.write_text('[sound]\npatch = "eco_symphony"\nceilng_db = -3\n'
                    '[[mappings]]\nfrom = "p*.eda.arousal"\nto = "visual.p*.hue"\ncurve = "s-curv"\n'
                    '[[mappings]]\nfrom = "p*.eda.arousl"\nto = "visual.p*.hue"\n')
    done = ecosymphony("check", str(show), cwd=tmp_path)
    assert done.returncode == 2
    assert "sound.ceilng_db" in done.stderr and "did you mean 'ceiling_db'" in done.stderr
    assert "mappings[0].curve" in done.stderr and "did you mean 's-curve'" in done.stderr
    assert "mappings[1].from" in done.stderr and "did you mean 'p*.eda.arousal'" in done.stderr
    assert "valid." not in done.stdout



@pytest.mark.parametrize("args, message", [
    (["--from", "10.0.0.1:99999"], "port must be 1..65535"),
    (["--from", "10.0.0.1", "--tile", "4/3"], "1 <= tile <= tiles"),
    (["--from", "10.0.0.1", "--tile", "1/2", "--overlap", "900"], "more than half"),
])
def test_a_render_node_with_a_bad_address_or_tile_exits_2_saying_why(args: list[str], message: str,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from installation.cli import main

    assert main(["visuals", *args]) == 2
    assert message in capsys.readouterr().err


def test_a_render_node_without_its_conductor_draws_the_idle_look_and_says_so(tmp_path: Path) -> None:
    done = ecosymphony("visuals", "--from", "127.0.0.1:9", "--frames", str(tmp_path), "--frame-every", "0.5",
                       "--size", "160x90", "--duration", "1.5")
    assert done.returncode == 0, done.stderr
    assert "no conductor at 127.0.0.1:9" in done.stderr and "0 connection(s)" in done.stdout
    assert len(list(tmp_path.glob("frame_none_*.png"))) >= 2
