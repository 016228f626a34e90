"""GUI tests of the Live view and the Servers page."""
