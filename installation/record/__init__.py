"""Whole-show recording (opt-in), deterministic replay, and the PNG report.

``writer`` (:class:`~installation.record.writer.Recorder`), ``reader``
(:func:`~installation.record.reader.load_recording`), ``replay``
(:func:`~installation.record.replay.replay`) and ``report``
(:func:`~installation.record.report.write_report`).
"""
