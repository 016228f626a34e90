"""``labgpu --demo`` start-up: process start -> window shown -> Live view populated (offscreen).

Each run is a fresh Python process; the parent measures from spawning it to the child's lines:
SHOWN (first show event), READY (database open: for the demo, built or reused) and POPULATED
(the first refresh has put every GPU on the Live view). Figures (medians, milliseconds):
  app_shown_ms / app_populated_ms            the existing app on a fresh SQLite database
  demo_cold_shown_ms / demo_cold_populated_ms  --demo on a fresh install (the demo is built)
  demo_warm_shown_ms / demo_warm_populated_ms  --demo again (the demo database is reused)
  demo_cold_ratio / demo_warm_ratio          demo populated / app populated, same run

Usage: .venv/bin/python bench/demo_startup.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, emit, median

CHILD = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from labgpu.gui.shell import app as gui_app
from labgpu.gui.shell.snapshot import Snapshot

window_class = gui_app.MainWindow
original_show = window_class.showEvent
original_start = window_class.start
original_refreshed = window_class._refreshed

def show_event(self, event):
    original_show(self, event)
    QTimer.singleShot(0, lambda: print("SHOWN", flush=True))

def start(self):
    original_start(self)
    print("READY", flush=True)

def refreshed(self, snapshot, error):
    original_refreshed(self, snapshot, error)
    if isinstance(snapshot, Snapshot):
        print("POPULATED", len(snapshot.gpus), flush=True)
        QTimer.singleShot(0, QApplication.instance().quit)

window_class.showEvent = show_event
window_class.start = start
window_class._refreshed = refreshed
demo = sys.argv[1] == "demo"
sys.exit(gui_app.run_gui(None if demo else sys.argv[1], demo=demo))
"""


def one_run(target: str, data: Path, config: Path) -> dict[str, float]:
    """Seconds from spawning the child to each of its marks."""
    env = dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        LABGPU_CONFIG_DIR=str(config),
        LABGPU_DATA_DIR=str(data),
        PYTHONPATH=str(ROOT),
    )
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, target],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    marks: dict[str, float] = {}
    gpus = -1
    for line in proc.stdout:
        word, *rest = line.split()
        marks.setdefault(word, time.perf_counter() - start)
        if word == "POPULATED":
            gpus = int(rest[0])
    proc.wait(120)
    if "POPULATED" not in marks:
        raise SystemExit(f"the window was not populated (got {sorted(marks)})")
    if target == "demo" and gpus != 52:
        raise SystemExit(f"the demo's Live view showed {gpus} GPUs, not 52")
    return marks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="labgpu-demo-startup-"))
    runs: dict[str, list[dict[str, float]]] = {"app": [], "cold": [], "warm": []}
    warm_data = tmp / "warm-data"
    one_run("demo", warm_data, tmp / "config")  # builds the demo the warm runs reuse
    for i in range(args.rounds + 1):  # the first round only warms the disk cache
        app = one_run(f"sqlite:///{tmp / f'app{i}.sqlite'}", tmp / "app-data", tmp / "config")
        cold = one_run("demo", tmp / f"cold-data-{i}", tmp / "config")
        warm = one_run("demo", warm_data, tmp / "config")
        if i:
            runs["app"].append(app)
            runs["cold"].append(cold)
            runs["warm"].append(warm)

    def ms(kind: str, mark: str) -> int:
        return round(median([r[mark] for r in runs[kind]]) * 1000)

    figures = {
        "app_shown_ms": ms("app", "SHOWN"),
        "app_populated_ms": ms("app", "POPULATED"),
        "demo_cold_shown_ms": ms("cold", "SHOWN"),
        "demo_cold_populated_ms": ms("cold", "POPULATED"),
        "demo_warm_shown_ms": ms("warm", "SHOWN"),
        "demo_warm_populated_ms": ms("warm", "POPULATED"),
        "rounds": args.rounds,
    }
    figures["demo_cold_ratio"] = round(
        figures["demo_cold_populated_ms"] / figures["app_populated_ms"], 2
    )
    figures["demo_warm_ratio"] = round(
        figures["demo_warm_populated_ms"] / figures["app_populated_ms"], 2
    )
    print(
        f"app populated {figures['app_populated_ms']} ms; demo populated: first start "
        f"{figures['demo_cold_populated_ms']} ms (builds the lab), later "
        f"{figures['demo_warm_populated_ms']} ms"
    )
    emit(figures)


if __name__ == "__main__":
    main()
