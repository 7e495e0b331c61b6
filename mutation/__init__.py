"""Mutation testing of the core modules: `python -m mutation` (see __main__.py and docs/testing.md)."""
