"""Cockpit: a terminal-native customer-success cockpit.

The package root holds only the version: importing it must stay cheap and must never pull in the TUI.
"""

__version__ = "0.1.0"
