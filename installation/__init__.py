"""Eco-Symphony: a real-time biofeedback audio-visual installation controller.

Audience members wear heart (PPG/ECG) and skin-conductance (EDA) sensors; the
signal core turns their signals into features and events, a show file maps those
onto parameters, and a pyo sound patch and a pygame scene perform them.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
