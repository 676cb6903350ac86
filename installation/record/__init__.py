"""Whole-show recording (opt-in): the writer (:class:`~installation.record.writer.Recorder`,
fed from the live threads) and the reader (:func:`~installation.record.reader.load_recording`).

Replaying a recording and its PNG report are commands
(:mod:`installation.commands.replay`, :mod:`installation.commands.report`).
"""
