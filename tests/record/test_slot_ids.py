"""Recordings name wearers by slot (p1, p2, ...), never by name: every place a recording names a
wearer, in both formats, made through the launcher as a show makes them; and what refuses a name."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from installation.config import ConfigError, parse_show
from installation.record.reader import load_recording, read_xdf
from installation.record.retention import RECORDING_NAME
from installation.runtime.launch import LaunchOptions, perform

from tests.helpers import DEFAULT_SHOW

SLOT = re.compile(r"p[1-9][0-9]*")
MAPPING = '[[mappings]]\nfrom = "p*.heart.beat"\nto = "visual.p*.pulse"\n'


def _places(recording: Path) -> dict[str, list[str]]:
    """Every value of a recording that names a wearer, by where it is."""
    rec = load_recording(recording)
    places: dict[str, list[str]] = {
        "samples' wearers": sorted(set(rec.samples.wearer.tolist())),
        "events' wearers": sorted(set(w for w in rec.events.wearer.tolist() if w)),
        "operator actions about a wearer": [v for k, v in zip(rec.events.kind, rec.events.value)
                                            if k == "operator.rebaseline" and v != "all"],
        "listed wearers": list(rec.meta["wearers"]),
    }
    if recording.is_dir():
        meta = json.loads((recording / "meta.json").read_text())
        places["meta.json wearers"] = meta["wearers"]
        assert sorted(p.name for p in recording.iterdir()) == ["events.csv", "meta.json", "samples.csv", "show.toml"]
    else:
        content = read_xdf(recording)
        signals = [s for s in content.streams.values() if s.info.type not in ("Markers", "eco-symphony.blocks")]
        places["stream names"] = [s.info.name.partition(".")[0] for s in signals]
        places["stream source ids"] = [s.info.source_id.split("/")[1] for s in signals]
        places["stream desc/wearer"] = [str(s.info.desc["wearer"]) for s in signals]
        places["markers"] = [row[0].partition(".")[0] for s in content.streams.values()
                             if s.info.type == "Markers" for row in s.values
                             if row[0].endswith(("heart.beat", "eda.scr"))]
        # the machine's name is left out (it can be a person's: "alices-laptop")
        assert all(not ET.fromstring(s.header_xml).findtext("hostname") for s in content.streams.values())
    assert RECORDING_NAME.fullmatch(recording.name)  # the file or folder name: mode and time only
    return places


@pytest.mark.parametrize("fmt", ["csv", "xdf"])
def test_a_recording_names_wearers_by_slot_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str) -> None:
    monkeypatch.chdir(tmp_path)
    show = parse_show(DEFAULT_SHOW.read_text().replace('format = "csv"', f'format = "{fmt}"'), "default.toml", DEFAULT_SHOW)
    summary = perform(show, LaunchOptions(duration_s=6.0, participants=3, audio="none", visuals="none",
                                          runs_dir=tmp_path / "runs", record_dir=tmp_path / "rec", live_edit=False),
                      rehearsal=True, notify=lambda _: None)
    assert summary.recording is not None
    places = _places(summary.recording)
    assert places["samples' wearers"] == ["p1", "p2", "p3"] and places["events' wearers"]
    for where, names in places.items():
        assert all(SLOT.fullmatch(n) for n in names), f"{where}: {names}"


@pytest.mark.parametrize("source", [
    '[[sources]]\nkind = "osc"\nwearers = ["alice"]\n',
    '[[sources]]\nkind = "serial"\nport = "/dev/null"\nwearers = ["p1", "Bob"]\n',
    '[[sources]]\nkind = "lsl"\nstream_type = "PPG"\nwearers = ["carol"]\n',
])
def test_a_show_file_refuses_a_wearers_name(source: str) -> None:
    with pytest.raises(ConfigError, match="never a person's name"):
        parse_show(source + MAPPING, "show.toml")


@pytest.mark.parametrize("extra", [
    '[record]\nwearer_names = { p1 = "alice" }\n',
    '[record]\nbadges = ["04:A3:1F"]\n',
    '[people]\np1 = "alice"\n',
])
def test_a_show_file_has_no_place_for_who_wore_what(extra: str) -> None:
    """A table of slots to people (or badges) is kept apart from the show, never in it: the
    show file is copied into every recording."""
    with pytest.raises(ConfigError):
        parse_show(extra + MAPPING, "show.toml")
