"""Pure parsers: one line (or one OSC message) from a sensor rig in, readings out.

No I/O here: the serial, OSC and LSL sources feed these and count what fails.
Every parser raises :class:`FormatError` for a line it cannot read, naming what
was wrong; the source counts the line as corrupt and carries on.

Reading kinds: ``ppg``, ``ecg`` (raw waveform samples), ``eda`` (skin conductance,
microsiemens when converted, else raw counts), ``bpm`` (a rate the device
computed), ``ibi`` (an inter-beat interval in seconds, reported at a beat),
``acc`` (the magnitude of an accelerometer's reading) or ``acc_x``, ``acc_y``,
``acc_z`` (one axis each; the signal core combines them), ``battery`` (the device's
battery level, percent). The axes stay apart here:
rigs send them in separate messages (EmotiBit) and a parser sees one at a time.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from typing import Literal



class FormatError(ValueError):
    """A line or message that does not fit its format."""


@dataclass(frozen=True, slots=True)
class Reading:
    """One value from a sensor rig.

    Attributes
    ----------
    sensor : int
        Index of the sensor on the device (0-based); the show file maps it to a wearer.
    kind : str
        One of :data:`installation.addresses.SIGNAL_KINDS`.
    value : float
        The value (see the module notes for units).
    unit : str
        ``"uS"``, ``"adc"``, ``"bpm"``, ``"s"``, ``"g"`` or ``""``.
    device_time_s : float or None
        The device's own timestamp in seconds, when it sends one.
    seq : int or None
        The line's sequence number (native protocol), for counting lost lines.
    """

    sensor: int
    kind: str
    value: float
    unit: str = ""
    device_time_s: float | None = None
    seq: int | None = None


def _number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise FormatError(f"{what}: not a number: {text.strip()[:40]!r}") from None
    if not math.isfinite(value):
        raise FormatError(f"{what}: not a finite number: {text.strip()[:40]!r}")
    return value


class PulseSensorPlotter:
    """PulseSensor Playground ``SERIAL_PLOTTER`` output.

    Parameters
    ----------
    columns : {"triplet", "signal"}
        ``triplet``: ``bpm,ibi_ms,signal`` per sensor (the library's default);
        ``signal``: one raw signal column per sensor.
    """

    name = "pulsesensor-plotter"

    def __init__(self, columns: Literal["triplet", "signal"] = "triplet") -> None:
        self.columns = columns

    def parse(self, line: str) -> list[Reading]:
        fields = [f for f in re.split(r"[,\s]+", line.strip()) if f]
        if not fields:
            raise FormatError("empty line")
        values = [_number(f, f"column {i + 1}") for i, f in enumerate(fields)]
        if self.columns == "signal":
            return [Reading(i, "ppg", v, "adc") for i, v in enumerate(values)]
        if len(values) % 3:
            raise FormatError(f"expected bpm,ibi,signal per sensor (a multiple of 3 columns), found {len(values)}")
        out: list[Reading] = []
        for i in range(0, len(values), 3):
            bpm, ibi_ms, sig = values[i : i + 3]
            s = i // 3
            out.append(Reading(s, "ppg", sig, "adc"))
            if bpm > 0:
                out.append(Reading(s, "bpm", bpm, "bpm"))
            if ibi_ms > 0:
                out.append(Reading(s, "ibi", ibi_ms / 1000.0, "s"))
        return out


class PulseSensorVisualizer:
    """PulseSensor Playground ``PROCESSING_VISUALIZER`` output.

    One sensor: ``S<signal>`` every sample, ``B<bpm>`` and ``Q<ibi_ms>`` at each
    beat. Several sensors: samples ``a``, ``b``, ...; BPM ``A``, ``B``, ...; IBI
    ``M``, ``N``, .... The first lower-case sample letter other than ``S`` switches
    the parser to several sensors (``B`` is then sensor 2's BPM).
    """

    name = "pulsesensor-visualizer"

    def __init__(self) -> None:
        self.multi = False

    def parse(self, line: str) -> list[Reading]:
        text = line.strip()
        if len(text) < 2:
            raise FormatError(f"expected a letter and a number, found {text[:40]!r}")
        letter, rest = text[0], text[1:]
        value = _number(rest, f"'{letter}' line")
        if letter.islower():
            self.multi = True
            return [Reading(ord(letter) - ord("a"), "ppg", value, "adc")]
        if not self.multi and letter in "SBQ":
            if letter == "S":
                return [Reading(0, "ppg", value, "adc")]
            if letter == "B":
                return [Reading(0, "bpm", value, "bpm")]
            return [Reading(0, "ibi", value / 1000.0, "s")]
        if "A" <= letter <= "L":
            return [Reading(ord(letter) - ord("A"), "bpm", value, "bpm")]
        if "M" <= letter <= "Z":
            return [Reading(ord(letter) - ord("M"), "ibi", value / 1000.0, "s")]
        raise FormatError(f"unknown line letter {letter!r}")


class GroveGsr:
    """Seeed Grove GSR: bare integers or ``gsr_average = N`` (10-bit ADC).

    Converted to skin conductance with the Grove formula
    ``R = (1024 + 2 * reading) * 10000 / (calibration - reading)`` ohms; a reading
    at or above the calibration constant is an open circuit (0 uS).

    Parameters
    ----------
    calibration : float
        The reading with the electrodes apart (about 512 on a new board; measure it).
    convert : bool
        False keeps raw counts.
    """

    name = "grove-gsr"
    _LINE = re.compile(r"^\s*(?:gsr_average\s*[=:]\s*)?(-?\d+(?:\.\d+)?)\s*$", re.IGNORECASE)

    def __init__(self, calibration: float = 512.0, convert: bool = True) -> None:
        self.calibration = calibration
        self.convert = convert

    def parse(self, line: str) -> list[Reading]:
        m = self._LINE.match(line)
        if not m:
            raise FormatError(f"expected an integer or 'gsr_average = N', found {line.strip()[:40]!r}")
        reading = float(m.group(1))
        if not 0 <= reading <= 1023:
            raise FormatError(f"reading {reading:g} is outside the 10-bit range 0..1023")
        if not self.convert:
            return [Reading(0, "eda", reading, "adc")]
        return [Reading(0, "eda", grove_microsiemens(reading, self.calibration), "uS")]


def grove_microsiemens(reading: float, calibration: float = 512.0) -> float:
    """Skin conductance in microsiemens from a Grove GSR reading (0 when open circuit)."""
    if reading >= calibration:
        return 0.0
    ohms = (1024.0 + 2.0 * reading) * 10000.0 / (calibration - reading)
    return 1e6 / ohms


class CsvColumns:
    """Generic comma- or whitespace-separated numbers, one column per channel.

    Parameters
    ----------
    columns : list of str
        What each column is: a kind with an optional sensor number,
        e.g. ``["ppg", "eda"]``, ``["ppg1", "ppg2", "eda1"]`` (1-based) or
        ``["ppg", "acc_x", "acc_y", "acc_z"]`` (an accelerometer's axes; ``acc``, its magnitude).
        A header line of names is skipped.
    """

    name = "csv"

    def __init__(self, columns: list[str]) -> None:
        self.columns = [_channel(c) for c in columns]

    def parse(self, line: str) -> list[Reading]:
        fields = [f for f in re.split(r"[,;\s]+", line.strip()) if f]
        if fields and all(re.fullmatch(r"[A-Za-z_][\w.]*", f) for f in fields):
            return []  # a header
        if len(fields) != len(self.columns):
            raise FormatError(f"expected {len(self.columns)} columns, found {len(fields)}")
        return [Reading(s, k, _number(f, f"column {i + 1}"), "") for i, (f, (k, s)) in enumerate(zip(fields, self.columns))]


def _channel(name: str) -> tuple[str, int]:
    m = re.fullmatch(r"(ppg|ecg|eda|bpm|ibi|acc_x|acc_y|acc_z|acc)(\d*)", name.strip().lower())
    if not m:
        raise FormatError(f"unknown channel {name!r}: use ppg, ecg, eda, bpm, ibi, acc or acc_x, acc_y, acc_z, "
                          "optionally with a sensor number")
    return m.group(1), (int(m.group(2)) - 1 if m.group(2) else 0)


class KeyValue:
    """``key=value`` pairs, e.g. ``ppg=512 eda=3.2``, ``ppg2:498, eda2:4.1`` or ``ppg=512 acc_x=0.02``."""

    name = "key-value"
    _PAIR = re.compile(r"([A-Za-z][A-Za-z_]*\d*)\s*[=:]\s*([^\s,;]+)")

    def parse(self, line: str) -> list[Reading]:
        pairs = self._PAIR.findall(line)
        if not pairs:
            raise FormatError(f"no key=value pairs in {line.strip()[:40]!r}")
        out = []
        for key, value in pairs:
            kind, sensor = _channel(key)
            out.append(Reading(sensor, kind, _number(value, key), ""))
        return out


#: Field names of the native protocol -> (kind, unit).
NATIVE_FIELDS: dict[str, tuple[str, str]] = {"ppg": ("ppg", "adc"), "ecg": ("ecg", "adc"), "gsr": ("eda", "adc"), "eda": ("eda", "uS"),
                                            "acc": ("acc", "g"), "ax": ("acc_x", "g"), "ay": ("acc_y", "g"), "az": ("acc_z", "g"),
                                            "consent": ("consent", "")}


def native_checksum(body: str) -> str:
    """XOR of the bytes of ``body`` as two upper-case hex digits (as NMEA 0183)."""
    x = 0
    for b in body.encode("ascii"):
        x ^= b
    return f"{x:02X}"


def native_encode(seq: int, device_ms: int, fields: dict[str, float]) -> str:
    """One line of the native protocol, without the line ending (see hardware/PROTOCOL.md)."""
    parts = [f"E1,{seq % 65536},{device_ms % 2**32}"]
    parts += [f"{k}={v:g}" for k, v in fields.items()]
    body = ",".join(parts)
    return f"{body}*{native_checksum(body)}"


class Native:
    """Eco-Symphony's own line protocol: ``E1,<seq>,<t_ms>,<field>=<v>,...*<hh>``."""

    name = "native"

    def parse(self, line: str) -> list[Reading]:
        text = line.strip()
        body, star, checksum = text.partition("*")
        if not star or len(checksum) != 2:
            raise FormatError("no '*hh' checksum at the end")
        if native_checksum(body) != checksum.upper():
            raise FormatError(f"checksum {checksum} does not match {native_checksum(body)}")
        parts = body.split(",")
        if len(parts) < 4 or parts[0] != "E1":
            raise FormatError(f"expected 'E1,<seq>,<t_ms>,<field>=<value>...', found {body[:40]!r}")
        try:
            seq, device_ms = int(parts[1]), int(parts[2])
        except ValueError:
            raise FormatError(f"sequence and time must be integers, found {parts[1][:12]!r}, {parts[2][:12]!r}") from None
        out = []
        for part in parts[3:]:
            key, eq, value = part.partition("=")
            m = re.fullmatch(r"([a-z]+)(\d*)", key)
            if not eq or not m or m.group(1) not in NATIVE_FIELDS:
                raise FormatError(f"unknown field {part[:20]!r}")
            kind, unit = NATIVE_FIELDS[m.group(1)]
            sensor = int(m.group(2)) - 1 if m.group(2) else 0
            out.append(Reading(sensor, kind, _number(value, key), unit, device_ms / 1000.0, seq))
        return out


LineParser = PulseSensorPlotter | PulseSensorVisualizer | GroveGsr | CsvColumns | KeyValue | Native


def detect_format(lines: list[str]) -> str | None:
    """Name of the one line format these sample lines fit unambiguously, else None."""
    lines = [ln.strip() for ln in lines if ln.strip()]
    if not lines:
        return None
    if all(ln.startswith("E1,") and "*" in ln for ln in lines):
        return "native"
    if all(re.fullmatch(r"[SBQa-zA-Z]-?\d+(\.\d+)?", ln) for ln in lines) and any(ln[0] in "Sa" for ln in lines):
        return "pulsesensor-visualizer"
    if all(re.match(r"gsr_average\s*[=:]", ln, re.IGNORECASE) for ln in lines):
        return "grove-gsr"
    if all(KeyValue._PAIR.search(ln) for ln in lines) and all("=" in ln or ":" in ln for ln in lines):
        return "key-value"
    return None  # bare numbers: PulseSensor plotter, Grove or CSV; the show file must say


# ---- OSC ---------------------------------------------------------------------------
#: EmotiBit Oscilloscope type tags -> reading kind (PPG:IR is the pulse channel used; the
#: accelerometer's axes in g; ``B%``, EmotiBit's own type tag for its battery level, percent).
EMOTIBIT_TAGS: dict[str, tuple[str, str]] = {"PPG:IR": ("ppg", "adc"), "EDA": ("eda", "uS"), "HR": ("bpm", "bpm"),
                                             "ACC:X": ("acc_x", "g"), "ACC:Y": ("acc_y", "g"), "ACC:Z": ("acc_z", "g"),
                                             "B%": ("battery", "%")}
_EMOTIBIT = re.compile(r"/?EmotiBit/(\d+)/([A-Z]+%?(?::[A-Z]+)?)$")
_NATIVE_OSC = re.compile(r"/?eco/p(\d+)/(ppg|ecg|eda|bpm|ibi|acc_x|acc_y|acc_z|acc|consent|battery)$")


@dataclass(frozen=True, slots=True)
class OscReadings:
    """What one OSC message said.

    Attributes
    ----------
    rig : str
        ``emotibit``, ``openbci``, ``muse`` or ``native``.
    sensor : int
        Device or wearer index (0-based).
    kind : str
        Reading kind.
    values : tuple of float
        The samples, oldest first.
    unit : str
        Unit of the values.
    """

    rig: str
    sensor: int
    kind: str
    values: tuple[float, ...]
    unit: str


def _floats(address: str, params: list[object]) -> tuple[float, ...]:
    out = []
    for i, p in enumerate(params):
        if isinstance(p, bool) or not isinstance(p, (int, float)):
            raise FormatError(f"{address}: argument {i + 1} is not a number ({type(p).__name__})")
        if not math.isfinite(float(p)):
            raise FormatError(f"{address}: argument {i + 1} is not finite ({p})")
        out.append(float(p))
    if not out:
        raise FormatError(f"{address}: no values")
    return tuple(out)


def osc_readings(address: str, params: list[object]) -> OscReadings | None:
    """Readings in one OSC message, None for an address we do not use.

    Understood: EmotiBit Oscilloscope ``/EmotiBit/<n>/PPG:IR|EDA|HR|ACC:X|ACC:Y|ACC:Z|B%``
    (any number of samples; ``B%`` is the battery level in percent); OpenBCI GUI ``/openbci/pulse/bpm`` and ``/openbci/pulse/ibi``
    (milliseconds); Mind Monitor / Muse ``/muse/ppg`` (the IR channel, the second
    value; also without the leading slash); OpenBCI ``/openbci/time-series-raw/ch<i>``
    (channel ``i`` is sensor ``i``, read as ECG); our own ``/eco/p<N>/<signal>``.

    Raises
    ------
    FormatError
        A known address with arguments that are not finite numbers.
    """
    route = _osc_route(address)
    if route is None:
        return None
    if isinstance(route, str):
        raise FormatError(f"{address}: {route}")
    rig, sensor, kind, unit, pick = route
    values = _floats(address, params)
    if pick == "first":
        values = values[:1]
    elif pick == "ms":
        values = tuple(v / 1000.0 for v in values[:1])
    elif pick == "muse":
        if len(values) < 2:
            raise FormatError(f"{address}: expected 3 PPG channels, found {len(values)}")
        values = (values[1],)
    return OscReadings(rig, sensor, kind, values, unit)


@functools.lru_cache(maxsize=1024)
def _osc_route(address: str) -> tuple[str, int, str, str, str] | str | None:
    """What an address carries: (rig, sensor, kind, unit, how to pick the values), an
    error message, or None for an address we do not use. Cached: a rig sends the same
    few addresses over and over."""
    m = _EMOTIBIT.match(address)
    if m:
        tag = EMOTIBIT_TAGS.get(m.group(2))
        return None if tag is None else ("emotibit", int(m.group(1)), tag[0], tag[1], "all")
    bare = address.lstrip("/")
    if bare == "openbci/pulse/bpm":
        return ("openbci", 0, "bpm", "bpm", "first")
    if bare == "openbci/pulse/ibi":
        return ("openbci", 0, "ibi", "s", "ms")
    m = re.fullmatch(r"openbci/time-series-raw/ch(\d+)", bare)
    if m:  # an EXG channel: an ECG lead when the board is used for the heart
        return ("openbci", int(m.group(1)), "ecg", "uV", "all")
    if bare == "muse/ppg":
        return ("muse", 0, "ppg", "adc", "muse")
    m = _NATIVE_OSC.match(address)
    if m:
        index = int(m.group(1)) - 1
        if index < 0:
            return "wearer slots start at p1"
        kind = m.group(2)
        unit = "g" if kind.startswith("acc") else {"eda": "uS", "bpm": "bpm", "ibi": "s", "consent": "", "battery": "%"}.get(kind, "adc")
        return ("native", index, kind, unit, "all")
    return None


def make_parser(
    name: str,
    columns: list[str] | None = None,
    plotter_columns: Literal["triplet", "signal"] = "triplet",
    gsr_calibration: float = 512.0,
    gsr_convert: bool = True,
) -> "LineParser | AutoParser":
    """A line parser by format name (``auto`` recognises the unambiguous formats)."""
    if name == "native":
        return Native()
    if name == "pulsesensor-plotter":
        return PulseSensorPlotter(plotter_columns)
    if name == "pulsesensor-visualizer":
        return PulseSensorVisualizer()
    if name == "grove-gsr":
        return GroveGsr(gsr_calibration, gsr_convert)
    if name == "csv":
        if not columns:
            raise FormatError("the csv format needs its columns named (e.g. columns = [\"ppg\", \"eda\"])")
        return CsvColumns(columns)
    if name == "key-value":
        return KeyValue()
    if name == "auto":
        return AutoParser()
    raise FormatError(f"unknown format {name!r}; one of: {', '.join(LINE_FORMATS)}")


LINE_FORMATS = ("auto", "native", "pulsesensor-plotter", "pulsesensor-visualizer", "grove-gsr", "csv", "key-value")


class AutoParser:
    """Recognises the format from the first lines, then parses with it.

    Lines seen before the format is known are parsed once it is; bare numbers
    (PulseSensor plotter, Grove GSR and CSV all send them) stay unrecognised and
    every such line is refused with a message saying to name the format.
    """

    name = "auto"

    def __init__(self, sample_lines: int = 5) -> None:
        self.sample_lines = sample_lines
        self._seen: list[str] = []
        self.parser: LineParser | None = None

    def parse(self, line: str) -> list[Reading]:
        if self.parser is not None:
            return self.parser.parse(line)
        self._seen.append(line)
        found = detect_format(self._seen[-self.sample_lines :])
        if found is None:
            if len(self._seen) >= self.sample_lines:
                self._seen = self._seen[-self.sample_lines :]
                raise FormatError("format not recognised (bare numbers): name it in the show file or with --format")
            return []
        self.parser = make_parser(found)  # type: ignore[assignment]
        self.name = f"auto: {found}"
        out: list[Reading] = []
        for earlier in self._seen:
            try:
                out += self.parser.parse(earlier)  # type: ignore[union-attr]
            except FormatError:
                pass
        self._seen.clear()
        return out
