"""Offload use cases: clusters, login, submit, follow, cancel, results."""
