"""Usage in the window: the PI's Usage page, its graphs and tables, the monthly PDF report."""
