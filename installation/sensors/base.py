"""The one interface every sensor source presents, and the block of samples it yields."""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, runtime_checkable

import numpy as np

from installation.addresses import SignalKind


class SourceError(RuntimeError):
    """A sensor source failed (cannot open, lost, or sent something unusable)."""


@dataclass(frozen=True, slots=True)
class BlockOrigin:
    """Where a block came from when another machine published it (a hub's LSL stream).

    The recording writes it into the header of the wearer's stream, so that a file says
    which hub and which stream each wearer came from and how its clock was corrected.

    Attributes
    ----------
    hub : str
        The hub's name (``[hub] name``).
    source_id : str
        The LSL stream's source id (``ecosymphony:hall-a:p3:ppg``).
    hostname : str
        The publishing machine's host name, as LSL reports it.
    clock_offset_s : float
        LSL's clock offset to the publisher (``time_correction``: our LSL clock minus the
        hub's), seconds, already added to the block's ``times_s``.
    """

    hub: str
    source_id: str
    hostname: str
    clock_offset_s: float


@dataclass(frozen=True, slots=True)
class SampleBlock:
    """Consecutive samples of one signal of one wearer, as they arrived.

    Attributes
    ----------
    wearer : str
        Wearer slot id, e.g. ``"p1"``. Never a person's name.
    signal : {"ppg", "ecg", "eda", "bpm", "ibi", "acc", "acc_x", "acc_y", "acc_z"}
        What was measured: a waveform (``ppg``, ``ecg``), skin conductance
        (``eda``), a value the device derived: a heart rate (``bpm``) or the
        interval ending at a beat, in seconds (``ibi``), or acceleration: its
        magnitude (``acc``) or one axis (``acc_x``, ``acc_y``, ``acc_z``).
    times_s : numpy.ndarray
        Sample times in seconds on the source's own clock (device time when the
        device stamps samples, otherwise reconstructed from the sampling rate).
    values : numpy.ndarray
        Sample values in ``unit``.
    unit : str
        Unit of ``values`` (``"uS"`` for microsiemens, ``"adc"``, ``"mV"``, ...).
    arrival_s : float
        Monotonic clock time in seconds at which the block reached the program.
    sampling_rate_hz : float
        Nominal sampling rate in hertz.
    origin : BlockOrigin or None
        The hub stream the block came from (None for a source on this machine).
    """

    wearer: str
    signal: SignalKind
    times_s: np.ndarray
    values: np.ndarray
    unit: str
    arrival_s: float
    sampling_rate_hz: float
    origin: BlockOrigin | None = None

    def __post_init__(self) -> None:
        if self.times_s.shape != self.values.shape or self.values.ndim != 1:
            raise ValueError(
                f"block for {self.wearer}.{self.signal}: times_s {self.times_s.shape} and "
                f"values {self.values.shape} must be 1-D and of equal length"
            )


@runtime_checkable
class Source(Protocol):
    """A sensor source: serial, OSC, LSL, simulated and replayed sources all look like this.

    Lifecycle: ``open()``, then ``read(timeout_s)`` repeatedly from one thread,
    then ``close()``. Sources are context managers (``with source: ...``).
    ``read`` never blocks longer than ``timeout_s`` and returns whatever blocks
    arrived (possibly none). A source that loses its device keeps trying to
    recover rather than raising from ``read``.
    """

    name: str

    def open(self) -> None: ...

    def read(self, timeout_s: float) -> list[SampleBlock]: ...

    def close(self) -> None: ...

    def __enter__(self) -> "Source": ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class SourceBase:
    """Context-manager plumbing shared by source implementations."""

    name: str = "source"

    def open(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def close(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def __enter__(self) -> "SourceBase":
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
