"""Alembic migrations of the labgpu schema (package data; run through ``labgpu.storage.db``)."""
