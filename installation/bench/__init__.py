"""Benchmarks that are commands of the program (``ecosymphony bench ...``).

``latency``: sensor event in -> first changed sample out, in real time under JACK,
against a bare pyo ``OscReceive`` measured in the same run.
"""


class BenchError(RuntimeError):
    """A benchmark could not run (its message says what was missing or failed)."""
