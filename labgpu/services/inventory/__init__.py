"""Servers and GPUs: the collector that probes every server, host keys pinned in the lab
database."""
