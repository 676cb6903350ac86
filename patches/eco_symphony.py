"""Eco-symphony, first movement: a choir of heartbeats over a breathing drone.

Each wearer is a tuned, plucked voice (its own pitch from a pentatonic scale and
its own place between the speakers) struck by every detected heartbeat. Beneath
them a drone of detuned saws opens and brightens with the audience's skin
conductance. Everything passes a shared reverb.

Parameters (address after ``sound.``)
--------------------------------------
``p*.pulse``          trigger: strike the wearer's voice; value = strength 0..1
``p*.tone``           0..1: the wearer's timbre, from pure to bright
``p*.level``          0..1: the wearer's loudness (map signal quality here so a
                      wearer whose sensor fails fades out instead of sounding noise)
``drone.brightness``  0..1: drone filter, dark (150 Hz) to bright (4 kHz)
``drone.level``       0..1: drone loudness
``reverb.mix``        0..1: wet/dry balance of the reverb

Settings (``[sound.settings]`` in the show file)
------------------------------------------------
``root_hz``  root of the scale in hertz (default 110, A2)
"""

from __future__ import annotations

from typing import Any

import pyo

from installation.sound.patch import Patch

# Major pentatonic, as frequency ratios over the root.
PENTATONIC = (1.0, 9 / 8, 5 / 4, 3 / 2, 5 / 3)


class EcoSymphony(Patch):
    """Heartbeat choir over a skin-conductance drone."""

    PARAMETERS = {
        "p*.pulse": "trigger",
        "p*.tone": "continuous",
        "p*.level": "continuous",
        "drone.brightness": "continuous",
        "drone.level": "continuous",
        "reverb.mix": "continuous",
    }

    def build(self) -> Any:
        root_hz = float(self.settings.get("root_hz", 110.0))
        self._env_table = pyo.ExpTable([(0, 0.0), (24, 1.0), (8191, 0.0)], exp=4, inverse=False)
        self._voices: dict[str, dict[str, Any]] = {}
        panned = []
        n = max(1, len(self.wearers))
        for i, wearer in enumerate(self.wearers):
            freq_hz = root_hz * 2.0 * PENTATONIC[i % 5] * 2 ** (i // 5 % 3)
            trig = pyo.Trig().stop()  # fires only when a beat plays it
            strength = pyo.Sig(0.5)
            level = pyo.SigTo(1.0, time=0.8, init=1.0)
            env = pyo.TrigEnv(trig, table=self._env_table, dur=1.1, mul=strength * level)
            tone = pyo.SigTo(0.3, time=0.3, init=0.3)
            body = pyo.SineLoop(freq=freq_hz, feedback=tone * 0.12, mul=env * 0.5)
            shimmer = pyo.Sine(freq=freq_hz * 3.01, mul=env * env * tone * 0.12)
            pan = pyo.Pan(body + shimmer, outs=2, pan=(i + 0.5) / n, spread=0.3)
            panned.append(pan)
            self._voices[wearer] = {"trig": trig, "strength": strength, "level": level, "env": env, "tone": tone,
                                    "body": body, "shimmer": shimmer, "pan": pan}
        self._brightness = pyo.SigTo(0.3, time=0.8, init=0.3)
        self._level = pyo.SigTo(0.5, time=0.8, init=0.5)
        cutoff_hz = pyo.Scale(self._brightness, 0.0, 1.0, 150.0, 4000.0, exp=2.0)
        saws = pyo.SuperSaw(freq=[root_hz / 2, root_hz * 3 / 4, root_hz / 2 * 1.003, root_hz * 3 / 4 * 0.997],
                            detune=0.4, bal=0.6, mul=0.3)
        drone = pyo.MoogLP(saws.mix(2), freq=cutoff_hz, res=0.25, mul=self._level)
        dry = pyo.Mix([*panned, drone], voices=2)
        self._reverb_mix = pyo.SigTo(0.3, time=0.8, init=0.3)
        self._reverb = pyo.Freeverb(dry, size=0.85, damp=0.6, bal=self._reverb_mix)
        self._keep = [cutoff_hz, saws, drone, dry]
        return self._reverb

    def set(self, address: str, value: float) -> None:
        if address == "drone.brightness":
            self._brightness.setValue(min(1.0, max(0.0, value)))
        elif address == "drone.level":
            self._level.setValue(min(1.0, max(0.0, value)))
        elif address == "reverb.mix":
            self._reverb_mix.setValue(min(1.0, max(0.0, value)))
        else:
            wearer, _, name = address.partition(".")
            voice = self._voices.get(wearer)
            if voice is not None and name in ("tone", "level"):
                voice[name].setValue(min(1.0, max(0.0, value)))

    def trigger(self, address: str, value: float) -> None:
        wearer, _, name = address.partition(".")
        voice = self._voices.get(wearer)
        if voice is not None and name == "pulse":
            voice["strength"].setValue(min(1.0, max(0.0, value)))
            voice["trig"].play()
