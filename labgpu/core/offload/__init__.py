"""Offloading to shared clusters as values: clusters, jobs, job scripts, scheduler output."""
