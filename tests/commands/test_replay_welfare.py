"""The welfare watch in a replay: notices raised at their time of show (the shared recording,
replayed with a racing-heart bound its wearers' resting rates are above)."""

from __future__ import annotations

from installation.commands.replay import recorded_show, replay
from installation.config import CareConfig
from installation.record.reader import load_recording
from installation.runtime.launch import prepare_show
from tests.record.shared import Recorded


def test_a_replay_lists_the_notices_raised(recorded: Recorded) -> None:
    rec = load_recording(recorded.folder)
    assert replay(rec).notices == []  # the recorded show's own thresholds: a calm audience
    show = recorded_show(rec)
    care = CareConfig.model_validate({"welfare": {"racing_heart": {"above_bpm": 60, "for_s": 1}}})
    result = replay(rec, prepared=prepare_show(show.model_copy(update={"care": care})))
    assert sorted(n.wearer for _, n in result.notices) == ["p1", "p2"]
    for at_s, notice in result.notices:
        assert notice.rule == "care.racing_heart" and notice.message.startswith(f"{notice.wearer}: heart racing, ")
        assert 1.0 <= at_s <= result.duration_s
