"""Take the README screenshots of the desktop app under Xvfb.

    .venv/bin/python tools/screenshots.py [--out docs]

Re-runs itself under ``xvfb-run -a`` when no X display is set. Fills a throw-away SQLite database
(in a temporary directory) with a realistic lab: RTX A4000 and A40 servers, some GPUs busy,
one server offline; then saves docs/live.png, docs/live_ko.png, docs/add_server.png and
docs/add_server_ko.png. Then it grows the lab to the reference size (12 × 4 RTX A4000 + 4 A40),
books a week of GPUs for several members, and saves docs/calendar_week.png, docs/find_slot.png,
docs/my_bookings.png and docs/rules.png (+ ``_ko``), and docs/connect.png (+ ``_ko``), the lab
database sign-in. ``--only connect`` takes just that one. Korean needs a CJK font (Debian:
``apt-get install fonts-nanum``).
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


def shoot_members(app: QApplication, lab: Labgpu, lang: str, out: Path) -> None:
    """The managers' Members page and a new member's one-time password, in ``lang``."""
    from labgpu.core.members import Member
    from labgpu.gui import settings as prefs
    from labgpu.gui.members_page import MembersPage, OneTimePasswordDialog

    translators = prefs.install_translators(app, lang)
    font = QFont(app.font())
    font.setFamilies(["NanumGothic", *font.families()] if lang == "ko" else font.families())
    app.setFont(font)
    suffix = "" if lang == "en" else f"_{lang}"
    expires = datetime.now(UTC) + timedelta(days=6)
    people = [("choi_minji", "student"), ("kim_jiwoo", "student"), ("lee_prof", "pi")]
    people += [("park_admin", "manager"), ("collector", "collector"), ("han_seoyeon", "student")]
    page = MembersPage(lab)
    page.set_members(
        [Member(n, r, True, expires if n == "han_seoyeon" else None) for n, r in sorted(people)]
    )
    page.tree.setCurrentItem(page.tree.topLevelItem(2))
    page.show_message(page.tr("Added {name}.").format(name="han_seoyeon"))
    page.resize(720, 360)
    page.show()
    settle(app)
    save(page, out / f"members{suffix}.png")
    dialog = OneTimePasswordDialog("han_seoyeon", "q3Vx-8hT2mKp_w9A", page)
    dialog.show()
    settle(app)
    save(dialog, out / f"members_password{suffix}.png")
    dialog.close()
    page.close()
    settle(app)
    for translator in translators:
        app.removeTranslator(translator)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    parser.add_argument(
        "--only", choices=["connect", "members"], help="take only these screenshots"
    )
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
        if args.only is not None:
            from labgpu.gui.app import make_application

            app = make_application()
            args.out.mkdir(parents=True, exist_ok=True)
            for lang in ("en", "ko"):
                if args.only == "connect":
                    shoot_connect(app, lang, args.out)
                else:
                    shoot_members(app, Labgpu(), lang, args.out)
            return 0
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
            shoot_members(app, lab, lang, out)
    finally:
        QThreadPool.globalInstance().waitForDone()
        lab.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
