"""Outputs for other tools: features, events and parameters as OSC (plain, EmotiBit- or
OpenBCI-compatible) and as a Lab Streaming Layer stream (``[[outputs]]`` in a show file)."""
