"""The pure core: values, the plan, the planner, the dependency graph, warnings and refusals.

Nothing here does I/O: the planner is a function of two values, and the
interfaces the edges implement (`target.py`) are plain protocols.
"""
