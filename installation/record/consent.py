"""What a recording lets in: slot ids only, and with ``[record] consent``, only the wearers who agreed.

:class:`RecordingGate` stands between the show and its recorder (the CSV folder's or the
XDF file's) with the same interface (:class:`~installation.record.writer.RecordSink`):

* A block or an event whose wearer is not a slot id (``p1``, ``p2``, ...) is never
  written (counted in :attr:`RecordingGate.refused`, logged once): a recording names
  wearers by slot only, whatever a source might hand over.
* ``consent = "none"``: everyone else is recorded, as before.
* ``consent = "operator"``: a wearer is recorded from the moment the operator gives their
  consent (:class:`~installation.operator_commands.Consent`, console key ``c``, then the
  slot's number and Enter). Until then they play live (the show hears and sees them) but
  none of their samples or events is written (counted in :attr:`RecordingGate.withheld`).
  The operator's command is the recording's row ``operator.consent`` (value: the slot).
* ``consent = "device"``: the same, granted by the wearer's device: the first ``consent``
  reading of 1 (at least 0.5) from that wearer (``/eco/pN/consent 1`` over OSC, a
  ``consent=1`` field of the native serial protocol). The grant is the recording's row
  ``consent.device`` (value: the slot), at the reading's arrival; the operator's consent
  counts too (a button that fails).

The grant lasts until the show ends. A wearer who wants their data back afterwards:
``ecosymphony forget`` (:mod:`installation.record.forget`).
"""

from __future__ import annotations

import logging
import re
import threading
from pathlib import Path
from typing import Literal, Sequence

import numpy as np

from installation.record.writer import RecordSink
from installation.sensors.base import SampleBlock

log = logging.getLogger(__name__)

ConsentMode = Literal["none", "operator", "device"]
SLOT_RE = re.compile(r"p[1-9][0-9]*")
#: The row kinds of a grant (value: the slot).
OPERATOR_GRANT = "operator.consent"
DEVICE_GRANT = "consent.device"
#: The signal a consent button sends; a reading at least this much is a yes.
CONSENT_SIGNAL = "consent"
CONSENT_THRESHOLD = 0.5


def is_slot(text: str) -> bool:
    """True for a wearer slot id (``p1``, ``p12``), the only way a recording names a wearer."""
    return SLOT_RE.fullmatch(text) is not None


class RecordingGate:
    """A :class:`~installation.record.writer.RecordSink` that passes on only what may be recorded.

    Parameters
    ----------
    recorder : RecordSink
        The recorder written to (a :class:`~installation.record.writer.Recorder` or an
        :class:`~installation.record.xdf_writer.XdfRecorder`).
    consent : {"none", "operator", "device"}
        Who grants a wearer's recording (see the module's text).

    Attributes
    ----------
    granted : frozenset of str
        The slots being recorded (with ``consent = "none"``: every slot seen).
    withheld : int
        Samples and events not written because their wearer had not agreed yet.
    refused : int
        Samples and events not written because their wearer was not a slot id.
    """

    def __init__(self, recorder: RecordSink, consent: ConsentMode = "none") -> None:
        self.recorder = recorder
        self.consent = consent
        self.granted: frozenset[str] = frozenset()
        self.withheld = 0
        self.refused = 0
        self._lock = threading.Lock()
        self._refusal_told = False
        self._wearers: list[str] = []

    # ---- what the launcher and the supervisor read of a recorder -------------------------
    @property
    def folder(self) -> Path:
        """Where the recording goes (the recorder's folder or ``.xdf`` file)."""
        return self.recorder.folder  # type: ignore[attr-defined, no-any-return]

    @property
    def failed(self) -> str | None:
        """Why the recorder stopped early, else None."""
        return getattr(self.recorder, "failed", None)

    def __getattr__(self, name: str) -> object:
        """The recorder's other figures (``samples_written``, ``dropped_samples``, ...)."""
        if name == "recorder":
            raise AttributeError(name)
        return getattr(self.recorder, name)

    # ---- the RecordSink interface --------------------------------------------------------
    def start(self, start_s: float, wearers: Sequence[str], sources: Sequence[str]) -> None:
        self._wearers = list(wearers)
        if self.consent == "none":
            self.granted = frozenset(w for w in wearers if is_slot(w))
        self.recorder.start(start_s, wearers, sources)

    def samples(self, blocks: Sequence[SampleBlock]) -> None:
        """Blocks just read (a reader thread): those of consenting slots go on to the recorder."""
        keep: list[SampleBlock] = []
        for block in blocks:
            wearer = block.wearer
            if wearer not in self.granted:
                if not is_slot(wearer):
                    self._refuse(wearer, block.values.size)
                    continue
                if self.consent == "none":
                    self.granted = self.granted | {wearer}
                elif (self.consent == "device" and block.signal == CONSENT_SIGNAL and block.values.size
                      and float(np.max(block.values)) >= CONSENT_THRESHOLD):
                    self._grant(wearer)
                    self.recorder.event(block.arrival_s, "", DEVICE_GRANT, wearer)
                else:
                    self.withheld += block.values.size
                    continue
            keep.append(block)
        if keep:
            self.recorder.samples(keep)

    def event(self, time_s: float, wearer: str, kind: str, value: object) -> None:
        """An event (core thread) or an operator's action (any thread); a consent is granted here."""
        if kind == OPERATOR_GRANT and self.consent != "none" and is_slot(str(value)):
            self._grant(str(value))
        if wearer:
            if not is_slot(wearer):
                self._refuse(wearer, 1)
                return
            if wearer not in self.granted and self.consent != "none":
                self.withheld += 1
                return
        self.recorder.event(time_s, wearer, kind, value)

    def stop(self, stop_s: float) -> None:
        self.recorder.stop(stop_s)
        if self.consent != "none":
            never = [w for w in self._wearers if w not in self.granted]
            if never:
                log.warning("recording: %s never agreed to be recorded: nothing of theirs was written (%d samples "
                            "and events held back in all)", ", ".join(never), self.withheld)
            else:
                log.warning("recording: every wearer agreed to be recorded (%d samples and events from before "
                            "their consent held back)", self.withheld)

    # ---- inside ---------------------------------------------------------------------------
    def _grant(self, wearer: str) -> None:
        with self._lock:
            if wearer in self.granted:
                return
            self.granted = self.granted | {wearer}
        log.warning("recording %s from now (consent given)", wearer)

    def _refuse(self, wearer: str, count: int) -> None:
        self.refused += count
        if not self._refusal_told:
            self._refusal_told = True
            log.error("recording: data of a wearer named %r, not a slot id (p1, p2, ...), are not written", wearer)
