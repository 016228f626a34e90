"""The README's screenshots of who really holds a GPU and where a job would start first (issue
15, points 3 to 5): docs/live_holders.png (the Live view: a member's process in a container, a
container nobody owns on a held GPU, a member on another's GPU) and docs/where_to_run.png
(*Submit job…* compared), each + ``_ko``.

A small lab of its own in a temporary folder (one server, four RTX A4000, bookings of three
members, one cluster that asks for an OTP); nothing is contacted.

Usage: xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python tools/screenshot_holders.py
"""

from __future__ import annotations

import os
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QThreadPool  # noqa: E402
from PySide6.QtGui import QFont  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from labgpu.core.inventory.servers import (  # noqa: E402
    GpuProcess,
    GpuReading,
    ProbeResult,
    ServerState,
    SshTarget,
)
from labgpu.core.offload.jobs import Cluster  # noqa: E402
from labgpu.services import Labgpu  # noqa: E402
from labgpu.services.booking.service import BookingService  # noqa: E402
from tools.screenshots import save, settle  # noqa: E402

A4000 = "NVIDIA RTX A4000"
ME = "kim.minjun"


def build(lab: Labgpu) -> None:
    """gpu05: kim.minjun's ViT in a container (booked), lee.seoyeon without a booking, a
    container nobody owns on park.jisoo's GPU, oh.taeyang on a GPU kim.minjun holds."""
    now = datetime.now(UTC)
    uuid = [f"GPU-5e0c{i}a7-0000-4000-8000-00000000000{i}" for i in range(4)]
    readings = tuple(
        GpuReading(i, uuid[i], A4000, 16376, 9000 + 300 * i, 80.0 + i, 70, 120) for i in range(4)
    )
    procs = (
        GpuProcess(uuid[0], 31337, 9100, "python3", ME, 5400, "python train.py --config vit.yaml",
                   "vit-train", "docker"),
        GpuProcess(uuid[1], 42001, 8800, "python3", "lee.seoyeon", 1800, "python sweep.py"),
        GpuProcess(uuid[2], 51234, 9000, "python3", None, 600, "jupyter-lab", "jupyter-7f3a",
                   "docker"),
        GpuProcess(uuid[3], 61000, 9200, "python3", "oh.taeyang", 900, "python eval.py"),
    )  # fmt: skip
    probe = ProbeResult("gpu05.lab.example", now, readings, procs)
    lab.inventory.register_server("gpu05", SshTarget("gpu05.lab.example", 22, "labgpu"), probe)
    lab.store.inventory.set_server_state("gpu05", ServerState.ONLINE, "", now)
    free = tuple(GpuReading(i, f"GPU-6f1d{i}b8-0000-4000-8000-00000000000{i}", A4000, 16376, 3,
                            0.0, 31, 14) for i in range(4))  # fmt: skip
    lab.inventory.register_server(
        "gpu06",
        SshTarget("gpu06.lab.example", 22, "labgpu"),
        ProbeResult("gpu06.lab.example", now, free, ()),
    )
    lab.store.inventory.set_server_state("gpu06", ServerState.ONLINE, "", now)
    ids = {(g.server_name, g.index): g.id for g in lab.inventory.list_gpus()}
    start, end = now - timedelta(minutes=3), now + timedelta(hours=5)
    mine = BookingService(lab.store, ME)
    mine.book([ids["gpu05", 0], ids["gpu05", 3]], start, end, "ViT ablations")
    BookingService(lab.store, "park.jisoo").book([ids["gpu05", 2]], start, end, "LoRA")
    lab.offload.add_cluster(
        Cluster(
            "neuron", "neuron.ksc.re.kr", "kim01", login="interactive", partition="amd_a100nv_8"
        )
    )


def shoot(app: QApplication, lab: Labgpu, lang: str, out: Path) -> None:
    from labgpu.gui.shell import settings as prefs
    from labgpu.gui.shell.main_window import OFFLOAD, MainWindow

    translators = prefs.install_translators(app, lang)
    font = QFont(app.font())
    font.setFamilies(["NanumGothic", *font.families()] if lang == "ko" else font.families())
    app.setFont(font)
    suffix = "" if lang == "en" else f"_{lang}"
    window = MainWindow(lab, prefs.open_settings())
    window.resize(1600, 400)
    window.show()
    window.start()
    settle(app, lambda: window.snapshot is not None and window.identity is not None)
    window.refresh_marks()
    settle(app)
    save(window, out / f"live_holders{suffix}.png")
    window.nav.setCurrentRow(OFFLOAD)
    settle(app)
    dialog = window.offload_page.open_where()
    settle(app, lambda: dialog.model_box.count() == 2)
    dialog.folder_edit.setText(f"/home/{ME}/projects/vit-pretrain")
    dialog.command_edit.setText("python train.py --config vit_b16.yaml --epochs 90")
    dialog.gpus_spin.setValue(2)
    dialog.model_box.setCurrentIndex(1)
    dialog.hours_spin.setValue(12)
    dialog.type_edit.setText("a100")
    dialog.compare()
    settle(app, lambda: dialog.table.topLevelItemCount() > 0)
    save(dialog, out / f"where_to_run{suffix}.png")
    dialog.close()
    window.timer.stop()
    settle(app)
    window.close()
    for translator in translators:
        app.removeTranslator(translator)


def main() -> int:
    out = ROOT / "docs"
    with tempfile.TemporaryDirectory(prefix="labgpu-shots-") as tmp:
        for key, sub in (("LABGPU_CONFIG_DIR", "config"), ("LABGPU_DATA_DIR", "data"),
                         ("LABGPU_LOG_DIR", "log"), ("HOME", "home")):  # fmt: skip
            os.environ[key] = str(Path(tmp) / sub)
        os.environ["LABGPU_USER"] = ME
        app = QApplication.instance() or QApplication(sys.argv)
        assert isinstance(app, QApplication)
        lab = Labgpu()
        lab.open()
        build(lab)
        for lang in ("en", "ko"):
            shoot(app, lab, lang, out)
        QThreadPool.globalInstance().waitForDone(30_000)
        lab.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
