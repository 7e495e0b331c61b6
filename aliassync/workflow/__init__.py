"""Carrying a run out: the target a run talks to, and the applier that runs a plan against it."""
