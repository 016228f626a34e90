"""Opening a lab: the one way the CLI, the desktop app and its sign-in dialog get one.

The only module besides the demo's own that names ``labgpu.demo`` (an import-linter contract).
"""

from __future__ import annotations

from labgpu.services.app import Labgpu


def open_lab(url: str | None, *, demo: bool = False, rebuild_demo: bool = False) -> Labgpu:
    """The lab at ``url`` (None: the configured one), or the demo lab with ``demo`` (generated
    again when opened with ``rebuild_demo``). Not opened yet: call ``open`` on a worker."""
    if demo:
        from labgpu.demo.setup import demo_lab

        return demo_lab(rebuild=rebuild_demo)
    return Labgpu(url)
