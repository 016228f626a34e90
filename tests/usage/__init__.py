"""Tests of usage figures."""
