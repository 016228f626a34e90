"""GUI tests of the Usage page and the report."""
