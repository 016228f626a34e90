"""Use cases shared by the desktop app and the CLI."""

from labgpu.services.app import Labgpu, RegisterReport

__all__ = ["Labgpu", "RegisterReport"]
