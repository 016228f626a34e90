"""Lab members and their roles."""
