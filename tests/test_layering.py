"""The import-linter contracts of pyproject.toml hold (DESIGN §2)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run(
        [str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "broken" not in proc.stdout.lower().replace("0 broken", "")


def test_the_window_shows_before_the_database_layer_loads() -> None:
    """Start-up: the GUI's entry loads no SQLAlchemy or Alembic (the store is opened on a
    worker after the window shows; ``bench/startup.py`` measures what importing them costs)."""
    heavy = ("sqlalchemy", "alembic")
    code = (
        "import sys, labgpu.cli.main, labgpu.gui.app, labgpu.gui.main_window; "
        f"print(','.join(m for m in {heavy!r} if m in sys.modules))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert proc.stdout.strip() == "", f"loaded at start-up: {proc.stdout.strip()}"
