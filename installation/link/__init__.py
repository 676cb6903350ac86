"""Ableton Link: the show's tempo from the group's heart rate, and the musicians' beat grid
(``link.phase``, ``link.beat``) as features and events.

:mod:`~installation.link.tempo` decides the tempo and whether to lead (pure);
:mod:`~installation.link.beats` turns the session's timeline into features and beat events
(pure); :mod:`~installation.link.clock` runs the Link peer (aalink) in a thread of its own.
"""
