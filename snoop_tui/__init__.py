"""snoop-tui: listen in on a live AI-agent phone call from a terminal."""

__version__ = "0.1.0"
