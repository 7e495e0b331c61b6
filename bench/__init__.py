"""aliassync's benchmark suite: `python -m bench` (see docs/performance.md).

Not part of the test run; it drives the real command line as a user does
and measures it from outside (wall time, peak memory, requests, queries).
"""
