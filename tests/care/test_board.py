"""The notice board: one notice per wearer and rule, told to listeners once, cleared."""

from __future__ import annotations

import threading

import pytest

from installation.care.board import NoticeBoard


class _Clock:
    def __init__(self) -> None:
        self.now_s = 100.0

    def __call__(self) -> float:
        return self.now_s


@pytest.mark.parametrize(
    ("steps", "told", "standing"),
    [
        ([("raise", "p1", "care.a", "one")], ["p1 care.a one"], [("p1", "care.a", "one")]),
        # raised again while it stands: not told again, the message is brought up to date, the time kept
        ([("raise", "p1", "care.a", "one"), ("raise", "p1", "care.a", "two")], ["p1 care.a one"], [("p1", "care.a", "two")]),
        # two rules of one wearer, one rule of two wearers: all stand
        ([("raise", "p1", "care.a", "x"), ("raise", "p1", "care.b", "y"), ("raise", "p2", "care.a", "z")],
         ["p1 care.a x", "p1 care.b y", "p2 care.a z"], [("p1", "care.a", "x"), ("p1", "care.b", "y"), ("p2", "care.a", "z")]),
        # cleared, then raised again: told again
        ([("raise", "p1", "care.a", "one"), ("clear", "p1", "care.a", ""), ("raise", "p1", "care.a", "again")],
         ["p1 care.a one", "cleared p1 care.a", "p1 care.a again"], [("p1", "care.a", "again")]),
        # clearing what does not stand tells nobody
        ([("clear", "p1", "care.a", "")], [], []),
    ],
)
def test_notices_stand_once_per_wearer_and_rule(steps: list[tuple[str, str, str, str]], told: list[str],
                                                standing: list[tuple[str, str, str]]) -> None:
    clock = _Clock()
    board = NoticeBoard(clock)
    heard: list[str] = []
    board.listen(lambda n: heard.append(f"{n.wearer} {n.rule} {n.message}"), lambda w, r: heard.append(f"cleared {w} {r}"))
    first_s: dict[tuple[str, str], float] = {}
    for verb, wearer, rule, message in steps:
        clock.now_s += 1.0
        if verb == "raise":
            board.raise_(wearer, rule, message)
            first_s.setdefault((wearer, rule), clock.now_s)
        else:
            board.clear(wearer, rule)
            first_s.pop((wearer, rule), None)
    assert heard == told
    assert [(n.wearer, n.rule, n.message) for n in board.standing()] == standing
    for n in board.standing():
        assert n.wall_time_s == first_s[n.key]
    assert len(board.history) == sum(1 for t in told if not t.startswith("cleared"))


def test_standing_of_one_wearer_and_from_many_threads() -> None:
    board = NoticeBoard()
    threads = [threading.Thread(target=lambda i=i: [board.raise_(f"p{i % 4 + 1}", f"care.r{k % 3}", "m") for k in range(200)])
               for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10.0)
    assert len(board.standing()) == 12 and len(board.history) == 12
    assert {n.rule for n in board.standing("p2")} == {"care.r0", "care.r1", "care.r2"}
    assert board.is_standing("p3", "care.r1") and not board.is_standing("p5", "care.r1")
