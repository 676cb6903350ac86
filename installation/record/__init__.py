"""Whole-show recording (opt-in): the writers (:class:`~installation.record.writer.Recorder`, a
folder of CSV files, and :class:`~installation.record.xdf_writer.XdfRecorder`, one XDF file, both
fed from the live threads), the XDF chunks (:mod:`installation.record.xdf`) and the reader
(:func:`~installation.record.reader.load_recording`, either kind).

Replaying a recording and its PNG report are commands
(:mod:`installation.commands.replay`, :mod:`installation.commands.report`).
"""
