"""aliassync: VICIdial phone aliases as code."""

__version__ = "0.1.0"
