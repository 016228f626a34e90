"""Tests of offloading to clusters."""
