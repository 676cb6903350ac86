"""Lights: DMX fixtures and the outputs that drive them (sACN, Art-Net), kept within the flash limits."""
