"""One factory builds every source from its config; command-line sources are validated like show files."""

from __future__ import annotations

import pytest

from installation.config import ConfigError, SimulatedSource, parse_source
from installation.sensors.factory import source_from_config, source_slots
from installation.sensors.lsl_source import LslSource
from installation.sensors.osc_source import OscSource
from installation.sensors.serial_source import SerialSource
from installation.sensors.simulated import SimulatedAudience


@pytest.mark.parametrize(("fields", "kind", "slots"), [
    ({"kind": "osc", "port": 0, "wearers": ["p1", "p2"]}, OscSource, ["p1", "p2"]),
    ({"kind": "serial", "port": "/dev/ttyACM0", "format": "key-value", "wearers": ["p3"]}, SerialSource, ["p3"]),
    ({"kind": "serial", "port": "usb:2341:0043"}, SerialSource, ["p1"]),
    ({"kind": "lsl", "stream_type": "PPG", "wearers": ["p1", "p2", "p3"]}, LslSource, ["p1", "p2", "p3"]),
    ({"kind": "simulated", "wearers": 3}, SimulatedAudience, ["p1", "p2", "p3"]),
])
def test_every_kind_of_source_is_built_from_its_config(fields: dict[str, object], kind: type, slots: list[str]) -> None:
    cfg = parse_source(fields)
    source = source_from_config(cfg)
    assert isinstance(source, kind)
    assert source_slots(cfg) == slots


def test_simulated_groups_take_the_slots_after_the_first() -> None:
    cfg = SimulatedSource(wearers=2)
    audience = source_from_config(cfg, first_slot=4)
    assert isinstance(audience, SimulatedAudience)
    assert [w.profile.wearer for w in audience.wearers] == source_slots(cfg, 4) == ["p5", "p6"]


@pytest.mark.parametrize(("fields", "words"), [
    ({"kind": "serial", "port": "/dev/ttyUSB0", "format": "nativ"}, "format: Input should be"),
    ({"kind": "serial", "port": "/dev/ttyUSB0", "format": "nativ"}, "did you mean 'native'?"),
    ({"kind": "osc", "port": 70000}, "port"),
    ({"kind": "osc", "wearers": ["alice"]}, "never a person's name"),
    ({"kind": "serial", "port": "/dev/ttyUSB0", "format": "csv"}, "columns"),
    ({"kind": "lsl"}, "lsl"),
])
def test_a_bad_source_is_named_with_what_is_wrong(fields: dict[str, object], words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_source(fields, "--serial /dev/ttyUSB0")
    assert "--serial /dev/ttyUSB0: invalid source" in str(caught.value)
    assert words in str(caught.value)
