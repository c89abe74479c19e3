"""The cockpit's own widgets, one per module."""
