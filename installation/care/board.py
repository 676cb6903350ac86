"""The notice board: the notices standing now, and every one raised, for the operator.

Watches (welfare rules, sensor trends) :meth:`NoticeBoard.raise_` a notice while a
condition holds and :meth:`NoticeBoard.clear` it when it ends; at most one stands per
wearer and rule. A new notice (not one that stood already) goes to each listener once:
the log, the OSC notification of a steward, the show's own response. Thread-safe: the
core thread raises, the console and the supervisor read.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Callable

from installation.status import Notice

HISTORY_KEPT = 1000  # notices kept in memory for the summary (all are logged)

Listener = Callable[[Notice], None]
Cleared = Callable[[str, str], None]


class NoticeBoard:
    """The standing notices, one per ``(wearer, rule)``, and the history of those raised."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._standing: dict[tuple[str, str], Notice] = {}
        self.history: deque[Notice] = deque(maxlen=HISTORY_KEPT)
        self._listeners: list[Listener] = []
        self._cleared: list[Cleared] = []

    def listen(self, on_raise: Listener, on_clear: Cleared | None = None) -> None:
        """Call ``on_raise(notice)`` for every new notice and ``on_clear(wearer, rule)`` when one ends."""
        self._listeners.append(on_raise)
        if on_clear is not None:
            self._cleared.append(on_clear)

    def raise_(self, wearer: str, rule: str, message: str) -> Notice | None:
        """Stand a notice; return it when it is new, None when one stood already for this wearer and rule.

        A notice that stands keeps its first time; its message is brought up to date.
        """
        key = (wearer, rule)
        with self._lock:
            old = self._standing.get(key)
            notice = Notice(old.wall_time_s if old else self._clock(), wearer, rule, message)
            self._standing[key] = notice
            if old is not None:
                return None
            self.history.append(notice)
        for listener in self._listeners:
            listener(notice)
        return notice

    def clear(self, wearer: str, rule: str) -> bool:
        """End the notice of ``wearer`` and ``rule``; True when one stood."""
        with self._lock:
            gone = self._standing.pop((wearer, rule), None) is not None
        if gone:
            for listener in self._cleared:
                listener(wearer, rule)
        return gone

    def standing(self, wearer: str | None = None) -> list[Notice]:
        """The notices standing now (of one wearer, or all), oldest first."""
        with self._lock:
            notices = [n for n in self._standing.values() if wearer is None or n.wearer == wearer]
        return sorted(notices, key=lambda n: n.wall_time_s)

    def is_standing(self, wearer: str, rule: str) -> bool:
        """Whether a notice of ``rule`` stands for ``wearer``."""
        with self._lock:
            return (wearer, rule) in self._standing
