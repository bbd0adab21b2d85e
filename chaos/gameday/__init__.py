"""Game day: an experiment run step by step by a facilitator, with a live view, typed notes that
land in the journal and on the report's timeline, the participants, and an abort key that heals
everything at once. ``chaos-harness gameday EXP``; see README "Game day"."""

from chaos.gameday.session import run_gameday

__all__ = ["run_gameday"]
