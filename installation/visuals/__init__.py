"""Visuals: the bioluminescent pygame scene and the process that renders it."""

import os

# pygame prints a greeting on import; the operator's terminal has better uses.
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
