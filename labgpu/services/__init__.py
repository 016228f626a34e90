"""Use cases shared by the desktop app and the CLI."""

from labgpu.services.app import Labgpu
from labgpu.services.inventory.servers import RegisterReport

__all__ = ["Labgpu", "RegisterReport"]
