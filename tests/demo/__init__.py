"""Tests of the demo lab."""
