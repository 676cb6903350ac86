"""One way to build a source: from its show-file entry (``[[sources]]``), or from the same
fields given on a command line (:func:`installation.config.parse_source` validates them).

The live show, ``listen``, ``simulate``'s transport rehearsals, ``preflight`` and the
benchmarks all build their sources here.
"""

from __future__ import annotations

from installation.addresses import wearer_slot
from installation.clock import Clock
from installation.config import (
    ConfigError,
    LslSourceConfig,
    OscSourceConfig,
    SerialSourceConfig,
    SimulatedSource,
    SourceConfig,
)
from installation.sensors.base import Source
from installation.sensors.parsers import FormatError, make_parser
from installation.sensors.lsl_hubs import LslHubSource
from installation.sensors.lsl_source import LslSource
from installation.sensors.osc_source import OscSource
from installation.sensors.serial_source import SerialSource
from installation.sensors.simulated import SimulatedAudience


def source_from_config(cfg: SourceConfig, first_slot: int = 0, clock: Clock | None = None) -> Source:
    """Build one source from its entry (not opened).

    Parameters
    ----------
    cfg : SourceConfig
        A validated entry.
    first_slot : int
        Simulated wearers only: the slot index of the first (0: ``p1``).
    clock : Clock, optional
        Simulated wearers only: the clock that paces them (default: the monotonic clock).

    Raises
    ------
    ConfigError
        The entry's line format cannot be made (naming what is wrong).
    """
    if isinstance(cfg, SerialSourceConfig):
        try:
            parser = make_parser(cfg.format, cfg.columns, cfg.plotter_columns, cfg.gsr_calibration, cfg.gsr_convert)
        except FormatError as exc:
            raise ConfigError(f"sources: {exc}") from None
        port = cfg.port if not cfg.port.startswith("usb:") else f"match:{cfg.port}"
        return SerialSource(port, cfg.baud, parser, list(cfg.wearers), dict(cfg.rates_hz))
    if isinstance(cfg, OscSourceConfig):
        return OscSource(cfg.port, cfg.host, cfg.allow, list(cfg.wearers), dict(cfg.rates_hz))
    if isinstance(cfg, LslSourceConfig) and cfg.hubs is not None:
        return LslHubSource(cfg.hub_slots())
    if isinstance(cfg, LslSourceConfig):
        prop, value = ("name", cfg.stream_name) if cfg.stream_name is not None else ("type", cfg.stream_type)
        return LslSource(prop, value or "", list(cfg.wearers), cfg.signal)
    return SimulatedAudience(cfg.wearers, cfg.seed, clock=clock, ppg_rate_hz=cfg.ppg_rate_hz, eda_rate_hz=cfg.eda_rate_hz,
                             first_slot=first_slot, heart=cfg.heart, ecg_rate_hz=cfg.ecg_rate_hz,
                             acc_rate_hz=cfg.acc_rate_hz)


def source_slots(cfg: SourceConfig, first_slot: int = 0) -> list[str]:
    """Wearer slots a source entry feeds."""
    if isinstance(cfg, SimulatedSource):
        return [wearer_slot(first_slot + i) for i in range(cfg.wearers)]
    if isinstance(cfg, LslSourceConfig) and cfg.hubs is not None:
        return [slot for slots in cfg.hub_slots().values() for slot in slots]
    return list(cfg.wearers)
