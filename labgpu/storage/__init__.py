"""Persistence: SQLAlchemy models, Alembic migrations and the ``Store`` facade.

The only package that imports SQLAlchemy or Alembic. Nothing connects at import time.
"""

from labgpu.storage.bookings import MaintenanceClashError
from labgpu.storage.store import GpuSyncReport, Store

__all__ = ["GpuSyncReport", "MaintenanceClashError", "Store"]
