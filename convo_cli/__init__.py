"""convo: a command-line chat client for Conversations."""

__version__ = "0.1.0"
