"""GUI tests of booking pages."""
