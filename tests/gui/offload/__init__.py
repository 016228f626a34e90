"""GUI tests of offloading."""
