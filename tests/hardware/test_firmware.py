"""The sensor firmware: its line encoder matches the shared test vectors, and the
ATmega328P build runs in simavr with its UART read through a pty by the serial source."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from installation.sensors.parsers import Native
from installation.sensors.serial_source import SerialSource

from tests.helpers import REPO

HARDWARE = REPO / "hardware"
VECTORS = (HARDWARE / "vectors" / "native_good.txt").read_text().splitlines()
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def need(tool: str, package: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"needs {tool}: install the Debian package(s) {package} (apt-get install {package})")
    return path


def test_host_build_of_the_encoder_writes_the_vectors(tmp_path: Path) -> None:
    cc = need("cc", "gcc")
    exe = tmp_path / "host_vectors"
    subprocess.run([cc, "-Wall", "-Wextra", "-Werror", "-o", str(exe), str(HARDWARE / "avr" / "host_vectors.c")], check=True, timeout=60)
    out = subprocess.run([str(exe)], check=True, capture_output=True, timeout=10).stdout.decode()
    assert out.endswith("\r\n")
    assert out.replace("\r\n", "\n").splitlines() == VECTORS


def avr_build(tmp_path: Path, *defines: str) -> Path:
    avr_gcc = need("avr-gcc", "gcc-avr avr-libc")
    elf = tmp_path / "eco_sensor.elf"
    subprocess.run([avr_gcc, "-mmcu=atmega328p", "-Os", "-Wall", "-Werror", "-DF_CPU=16000000UL", *defines, "-o", str(elf),
                    str(HARDWARE / "avr" / "eco_sensor_avr.c")], check=True, timeout=120)
    return elf


def test_firmware_builds_for_the_atmega328p(tmp_path: Path) -> None:
    elf = avr_build(tmp_path)
    assert elf.stat().st_size > 0


def test_firmware_in_simavr_through_a_pty(tmp_path: Path) -> None:
    simavr = need("simavr", "simavr")
    elf = avr_build(tmp_path, "-DECO_TEST_LINES=8")
    done = subprocess.run([simavr, "-m", "atmega328p", "-f", "16000000", str(elf)], capture_output=True, timeout=60)
    # simavr shows the UART on stderr, colouring each line and printing CR LF as "..".
    uart = [ANSI.sub("", line).removesuffix("..") for line in done.stderr.decode(errors="replace").splitlines()]
    uart = [line for line in uart if line.startswith("E1,")]
    assert uart == VECTORS
    # Through a real pty, as a board on USB would arrive.
    master, slave = os.openpty()
    path = os.ttyname(slave)
    source = SerialSource(path, 115200, Native(), ["p1"])
    blocks = []
    try:
        with source:
            os.write(master, "".join(line + "\r\n" for line in uart).encode())
            for _ in range(100):
                blocks += source.read(0.02)
                if sum(b.values.size for b in blocks if b.signal == "ppg") >= 8:
                    break
    finally:
        os.close(master)
        os.close(slave)
    ppg = [v for b in blocks if b.signal == "ppg" for v in b.values.tolist()]
    gsr = [v for b in blocks if b.signal == "eda" for v in b.values.tolist()]
    assert ppg == [500.0 + 3 * i for i in range(8)] and gsr == [310.0 - i for i in range(8)]
    assert source.corrupt == 0 and source.lost == 0
