"""Tests of members, passwords and the lab database's setup."""
