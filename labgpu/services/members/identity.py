"""Who is using labgpu (single-seat shape, docs/architecture.md §3.1)."""

from __future__ import annotations

import getpass
import os


def current_user() -> str:
    """``LABGPU_USER`` if set (tests, demos), else the OS login name."""
    name = os.environ.get("LABGPU_USER")
    if name:
        return name
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, no USER/LOGNAME (containers)
        return "unknown"
