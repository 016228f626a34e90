"""The import-linter contracts of pyproject.toml hold (docs/architecture.md §2.1)."""

from __future__ import annotations

import os
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
        "import sys, labgpu.cli.main, labgpu.gui.shell.app, labgpu.gui.shell.main_window; "
        f"print(','.join(m for m in {heavy!r} if m in sys.modules))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert proc.stdout.strip() == "", f"loaded at start-up: {proc.stdout.strip()}"


SHOWN_CHILD = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from labgpu.gui.shell import app as gui_app
HEAVY = ("sqlalchemy", "alembic", "psycopg", "paramiko")
original_show = gui_app.MainWindow.showEvent

def show_event(self, event):
    loaded = [m for m in HEAVY if m in sys.modules]
    print("LOADED:" + ",".join(loaded), flush=True)
    original_show(self, event)
    QTimer.singleShot(0, QApplication.instance().quit)

gui_app.MainWindow.showEvent = show_event
sys.exit(gui_app.run_gui(sys.argv[1]))
"""


def test_the_main_window_is_shown_before_database_and_ssh_libraries_load(tmp_path: Path) -> None:
    """Issue 14, point 7: showing the main window loads none of SQLAlchemy, Alembic, psycopg
    or paramiko (they load on the worker that opens the lab, after the window is up)."""
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
    }
    url = f"sqlite:///{tmp_path / 'lab.db'}"
    proc = subprocess.run(
        [sys.executable, "-c", SHOWN_CHILD, url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("LOADED:")]
    assert lines, proc.stdout + proc.stderr
    assert lines[0] == "LOADED:", f"loaded before the window showed: {lines[0][7:]}"


def test_production_code_does_not_ask_whether_the_lab_is_the_demo() -> None:
    """Issue 14, point 3: the demo plugs in through the lab's own interface (its ``Setup``:
    ``title``, ``will_prepare``, ``progress``, ``reset``); outside ``labgpu/demo`` only
    ``labgpu/launch.py`` names it (import-linter checks the imports, this the rest)."""
    allowed = {ROOT / "labgpu" / "launch.py"}
    naming = sorted(
        str(path.relative_to(ROOT))
        for path in (ROOT / "labgpu").rglob("*.py")
        if not path.is_relative_to(ROOT / "labgpu" / "demo")
        and path not in allowed
        and any(
            word in path.read_text(encoding="utf-8")
            for word in ("labgpu.demo", "DemoSetup", "DemoInventory", "demo_lab(")
        )
    )
    assert naming == [], f"these ask for the demo by name: {naming}"


def test_architecture_names_every_module() -> None:
    """docs/architecture.md matches the tree (issue 14, point 4): every module of the package
    is named there, by path or by file name next to its package's path."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    unnamed = sorted(
        str(path.relative_to(ROOT / "labgpu"))
        for path in (ROOT / "labgpu").rglob("*.py")
        if path.name != "__init__.py"
        and "migrations" not in path.parts
        and str(path.relative_to(ROOT / "labgpu")) not in text
        and f"`{path.name}`" not in text
    )
    assert unnamed == [], f"docs/architecture.md does not name: {unnamed}"
