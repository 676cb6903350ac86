"""The per-tick pipeline: blocks -> signal core -> mapper -> sinks, with no thread of its own.

Live shows (:mod:`installation.runtime`), replays and offline renders drive the
same :class:`~installation.pipeline.pipeline.Pipeline`.
"""
