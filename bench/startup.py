"""Process start -> main window shown (offscreen), against a bare PySide6 + pyqtgraph window.

Each run is a fresh Python process; the parent measures from spawning it to the child's
"SHOWN" line (printed from the window's first show event). Figures (medians):
  labgpu_ms       labgpu's main window on a fresh SQLite database
  baseline_ms     a QMainWindow holding one pyqtgraph PlotWidget
  startup_ratio   labgpu_ms / baseline_ms        (target: <= 1.5)

Usage: .venv/bin/python bench/startup.py [--rounds 9]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import emit, median

BASELINE = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMainWindow
import pyqtgraph as pg

class Window(QMainWindow):
    def showEvent(self, event):
        super().showEvent(event)
        QTimer.singleShot(0, lambda: (print("SHOWN", flush=True), app.quit()))  # noqa: E501

app = QApplication(sys.argv)
w = Window()
w.setCentralWidget(pg.PlotWidget())
w.resize(1200, 700)
w.show()
app.exec()
"""

LABGPU = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from labgpu.gui.shell import app as gui_app
original_show = gui_app.MainWindow.showEvent
original_start = gui_app.MainWindow.start

def show_event(self, event):
    original_show(self, event)
    QTimer.singleShot(0, lambda: print("SHOWN", flush=True))

def start(self):  # called once the database is open and upgraded
    original_start(self)
    print("READY", flush=True)
    QApplication.instance().quit()

gui_app.MainWindow.showEvent = show_event
gui_app.MainWindow.start = start
sys.exit(gui_app.run_gui(sys.argv[1]))
"""


def one_run(code: str, *args: str, env: dict[str, str]) -> tuple[float, float]:
    """Seconds to the SHOWN line and to the READY line (or SHOWN again if none comes)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    marks: dict[str, float] = {}
    for line in proc.stdout:
        marks.setdefault(line.strip(), time.perf_counter() - start)
    proc.wait(60)
    if "SHOWN" not in marks:
        raise SystemExit(f"the window was not shown (got {sorted(marks)})")
    return marks["SHOWN"], marks.get("READY", marks["SHOWN"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="labgpu-startup-"))
    env = dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        LABGPU_CONFIG_DIR=str(tmp / "config"),
        LABGPU_DATA_DIR=str(tmp / "data"),
    )
    shown, ready, baseline = [], [], []
    for i in range(args.rounds + 1):  # the first round only warms the disk cache
        url = f"sqlite:///{tmp / f'db{i}.sqlite'}"
        b, _ = one_run(BASELINE, env=env)
        s, r = one_run(LABGPU, url, env=env)
        if i:
            baseline.append(b)
            shown.append(s)
            ready.append(r)
    lab_ms, ready_ms = median(shown) * 1000, median(ready) * 1000
    base_ms = median(baseline) * 1000
    print(
        f"labgpu window shown {lab_ms:.0f} ms, database open {ready_ms:.0f} ms; "
        f"bare PySide6+pyqtgraph {base_ms:.0f} ms"
    )
    emit(
        {
            "labgpu_ms": round(lab_ms),
            "labgpu_db_ready_ms": round(ready_ms),
            "baseline_ms": round(base_ms),
            "startup_ratio": round(lab_ms / base_ms, 2),
            "db_ready_ratio": round(ready_ms / base_ms, 2),
        }
    )


if __name__ == "__main__":
    main()
