"""Eco-Symphony: a real-time biofeedback audio-visual installation controller.

Audience members wear heart (PPG/ECG) and skin-conductance (EDA) sensors; the
signal core turns their signals into features and events, a show file maps those
onto parameters, and a pyo sound patch and a pygame scene perform them.
"""

import os

# pyo prints a notice about its GUI toolkit when it is first imported, wherever that is
# (a patch file imports it before anything of ours); none of its GUI is used.
os.environ.setdefault("PYO_GUI_WX", "0")

__version__ = "0.1.0"

__all__ = ["__version__"]
