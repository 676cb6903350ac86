"""Outputs for other tools: features, events and parameters as OSC (plain, EmotiBit- or
OpenBCI-compatible), as a Lab Streaming Layer stream, and as MIDI notes, control changes and clock
(``[[outputs]]`` in a show file)."""
