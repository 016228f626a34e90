"""Take the README screenshots of the desktop app under Xvfb.

    .venv/bin/python tools/screenshots.py [--out docs]

Re-runs itself under ``xvfb-run -a`` when no X display is set. Fills a throw-away SQLite database
(in a temporary directory) with a realistic lab: RTX A4000 and A40 servers, some GPUs busy,
one server offline; then saves docs/live.png, docs/live_ko.png, docs/add_server.png and
docs/add_server_ko.png. Then it grows the lab to the reference size (12 × 4 RTX A4000 + 4 A40),
books a week of GPUs for several members, and saves docs/calendar_week.png, docs/find_slot.png,
docs/my_bookings.png and docs/rules.png (+ ``_ko``), and docs/connect.png (+ ``_ko``), the lab
database sign-in, and docs/offload.png, offload_submit.png, offload_clusters.png and
offload_login.png (+ ``_ko``). ``--only connect`` / ``--only offload`` take just those.
Korean needs a CJK font (Debian: ``apt-get install fonts-nanum``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import sys
import tempfile
import uuid
import zlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QCoreApplication, QThreadPool  # noqa: E402
from PySide6.QtGui import QFont  # noqa: E402
from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

from labgpu.core.booking import BookingStatus, Window  # noqa: E402
from labgpu.core.errors import RefusedError  # noqa: E402
from labgpu.core.inventory import (  # noqa: E402
    GpuProcess,
    GpuReading,
    ProbeResult,
    ServerState,
    SshTarget,
)
from labgpu.services import Labgpu  # noqa: E402

A4000, A40 = ("NVIDIA RTX A4000", 16376), ("NVIDIA A40", 46068)

# server → (model, {gpu index: (util %, memory used MiB, [(user, pid, MiB, command)])})
LAB: dict[
    str, tuple[tuple[str, int], dict[int, tuple[int, int, list[tuple[str, int, int, str]]]]]
] = {
    "gpu-a4000-01": (
        A4000,
        {
            0: (
                97,
                14520,
                [("kim", 48213, 14500, "python train.py --config configs/vit_b16.yaml")],
            ),
            1: (64, 9310, [("lee", 51877, 9290, "python -m torch.distributed.run finetune.py")]),
            3: (
                88,
                15800,
                [
                    ("park", 60211, 7900, "python sweep.py --trial 7"),
                    ("park", 60245, 7880, "python sweep.py --trial 8"),
                ],
            ),
        },
    ),
    "gpu-a4000-02": (
        A4000,
        {
            1: (12, 2210, [("choi", 7741, 2190, "/opt/conda/bin/python -m ipykernel_launcher")]),
        },
    ),
    "gpu-a40-01": (
        A40,
        {
            0: (91, 40120, [("jung", 90112, 40100, "torchrun --nproc-per-node 2 train_llm.py")]),
            1: (93, 40180, [("jung", 90113, 40160, "torchrun --nproc-per-node 2 train_llm.py")]),
        },
    ),
    "gpu-a4000-03": (A4000, {}),
}
OFFLINE = {
    "gpu-a4000-03": "10.0.1.13:22: no route to host; check that the server is on and cabled",
}


#: Servers added for the calendar shots, so the lab has its reference size (13 servers).
MORE = [f"gpu-a4000-{n:02d}" for n in range(4, 13)]
MEMBERS = ["kim", "lee", "park", "choi", "jung", "han", "yoon", "seo"]
NOTES = ["ViT sweep", "thesis runs", "LLM finetune", "ablation", "", "eval", "ICML rebuttal", ""]


def probe_for(server: str, taken_at: datetime) -> ProbeResult:
    """A probe of ``server`` as LAB describes it (servers of MORE: idle A4000s)."""
    (model, total), busy = LAB.get(server, (A4000, {}))
    gpus, procs = [], []
    for index in range(4):
        util, used, apps = busy.get(index, (0, 3, []))
        uuid = f"GPU-{zlib.crc32(server.encode()):08x}-5d1c-4b3e-9a7f-{index:012x}"
        gpus.append(
            GpuReading(
                index,
                uuid,
                model,
                total,
                used,
                float(util),
                34.0 + util * 0.45,
                18.0 + util * (2.6 if total > 20000 else 1.2),
            )
        )
        for user, pid, mem, command in apps:
            procs.append(GpuProcess(uuid, pid, mem, command.split()[0], user, 7200, command))
    return ProbeResult(f"{server}.lab.example.org", taken_at, tuple(gpus), tuple(procs))


def fill_lab(lab: Labgpu) -> None:
    """Register every server of LAB with its probe and state."""
    now = datetime.now(UTC)
    for server in LAB:
        offline = server in OFFLINE
        taken = now - timedelta(hours=2, minutes=14) if offline else now
        target = SshTarget(f"{server}.lab.example.org", 22, "labgpu")
        lab.register_server(server, target, probe_for(server, taken))
        state = ServerState.OFFLINE if offline else ServerState.ONLINE
        lab.store.set_server_state(server, state, OFFLINE.get(server, ""), taken)


def week_start() -> datetime:
    """Monday 00:00 local of this week, aware."""
    local = datetime.now().astimezone().replace(hour=0, minute=0, second=0, microsecond=0)
    return (local - timedelta(days=local.weekday())).astimezone()


def book_as(
    lab: Labgpu, user: str, gpu_ids: list[int], start: datetime, hours: float, note: str
) -> None:
    """Store a booking of ``user`` directly (past ones too: the rules only look ahead)."""
    status = BookingStatus.BOOKED
    if start > datetime.now(UTC) and any(
        lab.rules().needs_approval(m) for m in _models(lab, gpu_ids)
    ):
        status = BookingStatus.PENDING
    window = Window(start, start + timedelta(hours=hours))
    # a random week may overlap an earlier booking or maintenance: then leave the gap
    with contextlib.suppress(RefusedError):
        lab.store.create_bookings(str(uuid.uuid4()), gpu_ids, user, window, status, note, user)


def _models(lab: Labgpu, gpu_ids: list[int]) -> list[str]:
    return [g.model for g in lab.list_gpus() if g.id in gpu_ids]


def fill_bookings(lab: Labgpu, servers: list[str], seed: int) -> None:
    """A believable week of bookings on ``servers``: each GPU booked on and off by members."""
    rng = random.Random(seed)
    monday = week_start()
    gpus = [g for g in lab.list_gpus() if g.server_name in servers and g.id is not None]
    by_server: dict[str, list[int]] = {}
    for gpu in sorted(gpus, key=lambda g: g.index):
        by_server.setdefault(gpu.server_name, []).append(gpu.id or 0)
    for ids in by_server.values():
        moment = monday - timedelta(hours=rng.randint(0, 20))
        while moment < monday + timedelta(days=7):
            user, note = rng.choice(MEMBERS), rng.choice(NOTES)
            count = rng.choice([1, 1, 2, 2, 4])
            first = rng.randrange(0, len(ids) - count + 1)
            hours = rng.choice([4, 6, 8, 12, 18, 24, 36])
            start = moment.replace(minute=0) if rng.random() < 0.6 else moment.replace(minute=30)
            book_as(lab, user, ids[first : first + count], start, hours, note)
            moment += timedelta(hours=hours * rng.uniform(0.3, 0.8) + rng.randint(1, 10))


def fill_present(lab: Labgpu) -> None:
    """Bookings that match what runs now (kim, park, jung), and a maintenance window."""
    gpus = {f"{g.server_name}:{g.index}": g.id or 0 for g in lab.list_gpus()}
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    book_as(lab, "kim", [gpus["gpu-a4000-01:0"]], now - timedelta(hours=5), 20, "ViT-B/16")
    book_as(lab, "park", [gpus["gpu-a4000-01:3"]], now - timedelta(hours=2), 10, "sweep 7-8")
    book_as(
        lab,
        "jung",
        [gpus["gpu-a40-01:0"], gpus["gpu-a40-01:1"]],
        now - timedelta(hours=9),
        30,
        "LLM",
    )
    book_as(lab, "choi", [gpus["gpu-a4000-02:1"]], now - timedelta(hours=1), 6, "notebook")
    monday = week_start()
    blocked = [gpus[f"gpu-a4000-03:{i}"] for i in range(4)]
    window = Window(monday + timedelta(days=2, hours=9), monday + timedelta(days=3, hours=18))
    lab.store.add_maintenance(blocked, window, "PSU replacement", "kim")


def settle(app: QApplication, until: object = None) -> None:
    """Let workers finish and the event loop paint."""
    for _ in range(200):
        QThreadPool.globalInstance().waitForDone(50)
        app.processEvents()
        if until is None or until():  # type: ignore[operator]
            break
    for _ in range(20):
        app.processEvents()


def save(widget: QWidget, path: Path) -> None:
    if not widget.grab().save(str(path)):
        raise SystemExit(f"could not write {path}")
    print(f"wrote {path}")


def shoot(app: QApplication, lab: Labgpu, lang: str, out: Path) -> None:
    """Save the Live view and the Add-server dialog in ``lang``."""
    from labgpu.gui import settings as prefs
    from labgpu.gui.main_window import LIVE, SERVERS, SETTINGS, MainWindow

    translators = prefs.install_translators(app, lang)
    # A Korean desktop's UI font covers Hangul and Latin alike; mixing fallback fonts in one
    # line shifts baselines, which a real Korean system does not show.
    font = QFont(app.font())
    font.setFamilies(["NanumGothic", *font.families()] if lang == "ko" else font.families())
    app.setFont(font)
    suffix = "" if lang == "en" else f"_{lang}"
    window = MainWindow(lab, prefs.open_settings())
    window.resize(1360, 640)
    window.show()
    window.start()
    settle(app, lambda: window.snapshot is not None)
    save(window, out / f"live{suffix}.png")
    for row, name in ((SERVERS, "servers"), (SETTINGS, "settings")):
        window.nav.setCurrentRow(row)
        settle(app)
        save(window, out / f"{name}{suffix}.png")
    window.nav.setCurrentRow(LIVE)
    dialog = window.open_add_server()
    dialog.host.setText("gpu-a40-02.lab.example.org")
    dialog.user.setText("labgpu")
    dialog.identity.setText("/home/kim/.ssh/id_ed25519")
    dialog.name.setText("gpu-a40-02")
    found = probe_for("gpu-a40-01", datetime.now(UTC))
    dialog.show_discovered(replace(found, host="gpu-a40-02.lab.example.org"))
    settle(app)
    save(dialog, out / f"add_server{suffix}.png")
    dialog.close()
    window.timer.stop()
    window.close()
    settle(app)
    for translator in translators:
        app.removeTranslator(translator)


def shoot_bookings(app: QApplication, lab: Labgpu, lang: str, out: Path) -> None:
    """Save the Calendar (week, whole lab), Find a slot and My bookings in ``lang``."""
    from labgpu.gui import settings as prefs
    from labgpu.gui.calendar_view import WEEK
    from labgpu.gui.main_window import CALENDAR, MY_BOOKINGS, RULES, MainWindow

    translators = prefs.install_translators(app, lang)
    font = QFont(app.font())
    font.setFamilies(["NanumGothic", *font.families()] if lang == "ko" else font.families())
    app.setFont(font)
    suffix = "" if lang == "en" else f"_{lang}"
    window = MainWindow(lab, prefs.open_settings())
    window.resize(1500, 1660)
    window.show()
    window.start()
    settle(app, lambda: window.snapshot is not None)
    window.show_page(CALENDAR)
    page = window.calendar_page
    page.set_zoom(WEEK)
    settle(app, lambda: page.data is not None and not page.is_loading())
    save(window, out / f"calendar_week{suffix}.png")
    window.resize(1360, 640)
    dialog = page.open_find_slot()
    dialog.model.setCurrentIndex(dialog.model.findData(A4000[0]))
    dialog.count.setValue(4)
    dialog.hours.setValue(24)
    dialog.same_server.setChecked(True)
    dialog.note.setText("ICML rebuttal")
    dialog.search()
    settle(app, lambda: not dialog.is_busy())
    save(dialog, out / f"find_slot{suffix}.png")
    dialog.close()
    window.show_page(MY_BOOKINGS)
    settle(app, lambda: bool(window.my_bookings_page.groups))
    save(window, out / f"my_bookings{suffix}.png")
    window.resize(1360, 720)
    window.show_page(RULES)
    settle(app, lambda: window.rules_page.gpu_list.count() > 0)
    save(window, out / f"rules{suffix}.png")
    window.timer.stop()
    window.close()
    settle(app)
    for translator in translators:
        app.removeTranslator(translator)


def shoot_welcome(app: QApplication, lab: Labgpu, out: Path) -> None:
    """The first screen on an empty database."""
    from labgpu.gui import settings as prefs
    from labgpu.gui.main_window import MainWindow

    window = MainWindow(lab, prefs.open_settings())
    window.resize(1100, 600)
    window.show()
    window.start()
    settle(app, lambda: window.snapshot is not None)
    save(window, out / "welcome.png")
    window.timer.stop()
    window.close()
    settle(app)


def shoot_connect(app: QApplication, lang: str, out: Path) -> None:
    """The lab-database sign-in dialog, filled in, in ``lang`` (no keyring is touched)."""
    from labgpu.gui import settings as prefs
    from labgpu.gui.connect_dialog import ConnectDialog

    translators = prefs.install_translators(app, lang)
    font = QFont(app.font())
    font.setFamilies(["NanumGothic", *font.families()] if lang == "ko" else font.families())
    app.setFont(font)
    suffix = "" if lang == "en" else f"_{lang}"
    # The password is in the URL, so the dialog does not look in the keyring.
    dialog = ConnectDialog("postgresql://kim:correct-horse@db.lab.example.org:5432/labgpu")
    dialog.remember.setChecked(True)
    dialog.resize(460, dialog.sizeHint().height())
    dialog.show()
    settle(app)
    save(dialog, out / f"connect{suffix}.png")
    dialog.close()
    settle(app)
    for translator in translators:
        app.removeTranslator(translator)


OFFLOAD_JOBS = [
    # (command, gpus, hours, state, raw state, reason, exit code, hours ago, elapsed s)
    ("python train.py --config vit_l16.yaml", 2, 24, "running", "RUNNING", "", None, 2, 6130),
    ("python sweep.py --lr 3e-4 --seeds 5", 4, 12, "queued", "PENDING", "Resources", None, 1, None),
    ("bash scripts/eval_all.sh", 1, 2, "completed", "COMPLETED", "", 0, 20, 4210),
    ("python train.py --config configs/vit_b16.yaml", 2, 8, "failed", "FAILED", "", 1, 30, 95),
    ("python finetune.py --epochs 3", 1, 4, "cancelled", "CANCELLED by 51234", "", None, 50, 610),
]  # fmt: skip


def fill_offload(lab: Labgpu) -> None:
    """A cluster with an OTP login (like KISTI's Neuron) and a few jobs in every state."""
    from labgpu.core import jobscript
    from labgpu.core.offload import Cluster, JobRequest, JobState, OffloadJob, new_job_name

    cluster = lab.offload.add_cluster(
        Cluster(
            "neuron", "neuron.ksc.re.kr", "kim01", partition="amd_a100nv_8",
            directives=("--comment=pytorch",), base_dir="/scratch/$USER/labgpu",
            modules=("cuda/12.1",), max_hours=48, login="interactive",
        )
    )  # fmt: skip
    now = datetime.now(UTC)
    for n, (command, gpus, hours, state, raw, reason, code, ago, elapsed) in enumerate(
        OFFLOAD_JOBS
    ):
        submitted = now - timedelta(hours=ago)
        name = new_job_name("kim", submitted)
        base = "/scratch/kim01/labgpu"
        plan = jobscript.ScriptPlan(name, f"{base}/work/vit-3f9a1c2e", f"{base}/jobs/{name}")
        request = JobRequest("neuron", "/home/kim/vit", command, gpus, hours, "a100")
        job = lab.store.offload.add_job(
            OffloadJob(
                0, name, "neuron", "kim", JobState.SUBMITTING, gpus, "a100", hours, command,
                "/home/kim/vit", plan.work_dir, plan.job_dir,
                jobscript.job_script(cluster, request, plan), submitted,
            )
        )  # fmt: skip
        started = submitted + timedelta(minutes=3) if elapsed is not None else None
        lab.store.offload.update_job(
            job.id, remote_id=str(4817230 + n), state=JobState(state), raw_state=raw,
            reason=reason, exit_code=code, started_at=started, elapsed_s=elapsed,
        )  # fmt: skip


def shoot_offload(app: QApplication, lab: Labgpu, lang: str, out: Path) -> None:
    """The Offload page, the Submit job, Clusters and OTP dialogs in ``lang`` (no SSH)."""
    from labgpu.core import jobscript
    from labgpu.core.offload import JobRequest
    from labgpu.gui import settings as prefs
    from labgpu.gui.main_window import OFFLOAD, MainWindow
    from labgpu.gui.offload_login import OtpDialog
    from labgpu.gui.submit_dialog import SubmitJobDialog

    translators = prefs.install_translators(app, lang)
    font = QFont(app.font())
    font.setFamilies(["NanumGothic", *font.families()] if lang == "ko" else font.families())
    app.setFont(font)
    suffix = "" if lang == "en" else f"_{lang}"
    window = MainWindow(lab, prefs.open_settings())
    window.resize(1360, 720)
    window.show()
    window.start()
    settle(app, lambda: window.snapshot is not None)
    window.show_page(OFFLOAD)
    page = window.offload_page
    settle(app, lambda: page.tree.topLevelItemCount() == len(OFFLOAD_JOBS))
    page.tree.setCurrentItem(page.tree.topLevelItem(0))
    settle(app)
    save(window, out / f"offload{suffix}.png")
    clusters = lab.offload.list_clusters()
    dialog = SubmitJobDialog(lab.offload, clusters, lambda _c, fn: fn(), window)
    dialog.folder_edit.setText("/home/kim/vit")
    dialog.command_edit.setText("python train.py --config configs/vit_l16.yaml")
    dialog.gpus_spin.setValue(2)
    dialog.type_edit.setText("a100")
    dialog.hours_spin.setValue(24)
    dialog.results_edit.setText("checkpoints, logs")
    base = "/scratch/kim01/labgpu"
    name = "labgpu-kim-261128091500-5c1e7a"
    plan = jobscript.ScriptPlan(name, f"{base}/work/vit-3f9a1c2e", f"{base}/jobs/{name}")
    request = dialog.request()
    request = JobRequest(request.cluster, request.local_dir, request.command, 2, 24, "a100")
    dialog.script_edit.setPlainText(jobscript.job_script(clusters[0], request, plan))
    dialog.progress.setVisible(True)
    dialog.progress.setRange(0, 1000)
    dialog.progress.setValue(640)
    dialog.show_message(dialog.tr("Sending the folder…"))
    dialog.show()
    settle(app)
    save(dialog, out / f"offload_submit{suffix}.png")
    dialog.close()
    clusters_dialog = page.open_clusters()
    settle(app, lambda: clusters_dialog.list.count() > 0)
    clusters_dialog.list.setCurrentRow(0)
    settle(app)
    save(clusters_dialog, out / f"offload_clusters{suffix}.png")
    clusters_dialog.close()
    otp = OtpDialog("neuron", "", [("Password(OTP): ", False), ("Password: ", False)], window)
    otp.fields[0].setText("482913")
    otp.fields[1].setText("not-a-real-password")
    otp.resize(480, otp.sizeHint().height())
    otp.show()
    settle(app)
    save(otp, out / f"offload_login{suffix}.png")
    otp.close()
    page.stop()
    window.timer.stop()
    window.close()
    settle(app)
    for translator in translators:
        app.removeTranslator(translator)


def take_offload(out: Path) -> int:
    """Only the offload screenshots (``--only offload``)."""
    from labgpu.gui.app import make_application

    app = make_application()
    QCoreApplication.setApplicationName("labgpu")
    lab = Labgpu()
    lab.open()
    try:
        fill_lab(lab)
        fill_offload(lab)
        out.mkdir(parents=True, exist_ok=True)
        for lang in ("en", "ko"):
            shoot_offload(app, lab, lang, out)
    finally:
        QThreadPool.globalInstance().waitForDone()
        lab.close()
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    parser.add_argument("--only", choices=["connect", "offload"], help="take only these shots")
    args = parser.parse_args(argv)
    if not os.environ.get("DISPLAY"):
        xvfb = shutil.which("xvfb-run")
        if xvfb is None:
            raise SystemExit("xvfb-run not found; install it (Debian: apt-get install xvfb)")
        command = [xvfb, "-a", "-s", "-screen 0 1920x1800x24", sys.executable, __file__, *argv]
        os.execv(xvfb, command)
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    with tempfile.TemporaryDirectory(prefix="labgpu-shots-") as tmp:
        os.environ.update(
            LABGPU_CONFIG_DIR=f"{tmp}/config", LABGPU_DATA_DIR=f"{tmp}/data", LABGPU_USER="kim"
        )
        os.environ.pop("LABGPU_DATABASE_URL", None)
        if args.only == "connect":
            from labgpu.gui.app import make_application

            app = make_application()
            args.out.mkdir(parents=True, exist_ok=True)
            for lang in ("en", "ko"):
                shoot_connect(app, lang, args.out)
            return 0
        if args.only == "offload":
            return take_offload(args.out)
        return take_all(args.out)


def take_all(out: Path) -> int:
    from labgpu.gui.app import make_application

    app = make_application()
    QCoreApplication.setApplicationName("labgpu")
    lab = Labgpu()
    lab.open()
    try:
        shoot_welcome(app, lab, out)
        fill_lab(lab)
        fill_present(lab)
        fill_bookings(lab, list(LAB), seed=3)
        out.mkdir(parents=True, exist_ok=True)
        for lang in ("en", "ko"):
            shoot(app, lab, lang, out)
        now = datetime.now(UTC)
        for server in MORE:
            target = SshTarget(f"{server}.lab.example.org", 22, "labgpu")
            lab.register_server(server, target, probe_for(server, now))
            lab.store.set_server_state(server, ServerState.ONLINE, "", now)
        fill_bookings(lab, MORE, seed=5)
        for lang in ("en", "ko"):
            shoot_bookings(app, lab, lang, out)
        for lang in ("en", "ko"):
            shoot_connect(app, lang, out)
        fill_offload(lab)
        for lang in ("en", "ko"):
            shoot_offload(app, lab, lang, out)
    finally:
        QThreadPool.globalInstance().waitForDone()
        lab.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
