"""Usage history as values: rollup levels, retention, buckets and the PI's figures."""
