"""Sensor sources. Real, simulated and replayed sources share one interface
(:class:`installation.sensors.base.Source`)."""

from installation.sensors.base import SampleBlock, Source, SourceError

__all__ = ["SampleBlock", "Source", "SourceError"]
