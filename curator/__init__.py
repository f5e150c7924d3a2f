"""curator: integration-testing distribution curator for Python."""

__version__ = "0.1.0"
