"""Usage use cases: rollups kept up to date, graphs' data, reports."""
