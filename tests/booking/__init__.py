"""Tests of booking: values, rules, slots, the service, storage, the lab database, the CLI."""
