"""GUI tests of signing in and members."""
