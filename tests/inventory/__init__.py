"""Tests of servers and GPUs: parsing, probing, the collector, host keys, the CLI."""
