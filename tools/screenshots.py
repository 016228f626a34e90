"""Take the README screenshots of the desktop app under Xvfb, from the demo lab.

    .venv/bin/python tools/screenshots.py [--out docs]

Re-runs itself under ``xvfb-run -a`` when no X display is set. Saves docs/welcome.png from an
empty database, then builds the demo lab (``labgpu --demo``: 12 × 4 RTX A4000 + 4 A40, 15
members, 90 days of bookings) in a temporary directory and saves docs/live.png, servers.png,
settings.png, notifications.png (the bell's list), add_server.png, calendar_week.png,
find_slot.png, my_bookings.png, run_booking.png, booking_jobs.png, approvals.png and rules.png
(each also ``_ko``),
docs/connect.png (the lab database sign-in), members.png and members_password.png, and
offload.png, offload_submit.png, offload_clusters.png and offload_login.png, and usage.png,
usage_heatmap.png, usage_members.png and usage_demand.png
(each + ``_ko``), and demo_preparing.png (+ ``_ko``: the demo's first start while it is
generated). ``--only live|shell|calendar|connect|members|offload|usage|report|preparing`` takes just
those (``report``: the demo's last complete month as PDF pages, docs/report_case.png and
docs/report_pN.png).
Korean needs a CJK font (Debian: ``apt-get install fonts-nanum``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QCoreApplication, QThreadPool, QTranslator  # noqa: E402
from PySide6.QtGui import QFont  # noqa: E402
from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

from labgpu.core.booking.rules import BookingView  # noqa: E402
from labgpu.demo.lab import demo_dir, ensure_demo  # noqa: E402
from labgpu.demo.model import (  # noqa: E402
    DEFAULT_SEED,
    DemoLab,
    generate_lab,
    probe_at,
    servers_of,
)
from labgpu.demo.offload_model import plan_offload, status_at  # noqa: E402
from labgpu.demo.setup import DemoSetup, demo_lab  # noqa: E402
from labgpu.services import Labgpu  # noqa: E402

A4000 = "NVIDIA RTX A4000"


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


def shoot(app: QApplication, lab: Labgpu, lang: str, out: Path, live_only: bool = False) -> None:
    """Save the Live view, Servers, Settings and the Add-server dialog in ``lang``."""
    from labgpu.gui.shell import settings as prefs
    from labgpu.gui.shell.main_window import LIVE, SERVERS, SETTINGS, MainWindow

    translators = prefs.install_translators(app, lang)
    # A Korean desktop's UI font covers Hangul and Latin alike; mixing fallback fonts in one
    # line shifts baselines, which a real Korean system does not show.
    font = QFont(app.font())
    font.setFamilies(["NanumGothic", *font.families()] if lang == "ko" else font.families())
    app.setFont(font)
    suffix = "" if lang == "en" else f"_{lang}"
    settings = prefs.open_settings()
    settings.remove("inbox")  # the bell's list read afresh, in this language
    window = MainWindow(lab, settings, demo=True)
    window.resize(1360, 900)
    window.show()
    window.start()
    settle(app, lambda: window.snapshot is not None and window.identity is not None)
    save(window, out / f"live{suffix}.png")
    window.resize(1360, 640)
    for row, name in () if live_only else ((SERVERS, "servers"), (SETTINGS, "settings")):
        window.nav.setCurrentRow(row)
        settle(app)
        save(window, out / f"{name}{suffix}.png")
    window.nav.setCurrentRow(LIVE)
    if live_only:
        close_window(app, window, translators)
        return
    notices = window.notices
    settle(app, lambda: not notices.inbox.is_polling() and notices.inbox.count() > 0)
    notices.open_list()
    settle(app)
    save(notices.panel, out / f"notifications{suffix}.png")
    notices.panel.hide()
    dialog = window.open_add_server()
    dialog.host.setText("a40-02.lab.example")
    dialog.user.setText("labgpu")
    dialog.identity.setText("/home/kim/.ssh/id_ed25519")
    dialog.name.setText("a40-02")
    assert lab.setup.lab is not None
    found = probe_at(
        lab.setup.lab, "a40-01", servers_of(lab.setup.lab)["a40-01"], datetime.now(UTC)
    )
    dialog.show_discovered(replace(found, host="a40-02.lab.example"))
    settle(app)
    save(dialog, out / f"add_server{suffix}.png")
    dialog.close()
    close_window(app, window, translators)


def close_window(app: QApplication, window: QWidget, translators: list[QTranslator]) -> None:
    """Stop the window's refresh, close it and take its translators back out."""
    window.timer.stop()  # type: ignore[attr-defined]
    window.close()
    settle(app)
    for translator in translators:
        app.removeTranslator(translator)


def cancel_one_booking(lab: Labgpu, shown: list[BookingView]) -> None:
    """Cancel the first booking of the shown week that has not started (by its holder), so that
    the calendar shows a ghost: the demo's history cancels none. Once: kept for later shots."""
    from labgpu.core.booking.bookings import BookingStatus

    if any(b.status is BookingStatus.CANCELLED for b in shown):
        return
    soon = datetime.now(UTC) + timedelta(hours=2)
    coming = sorted(
        (b for b in shown if b.status is BookingStatus.BOOKED and b.window.start > soon),
        key=lambda b: (b.window.start, b.gpu_label),
    )
    if not coming:
        return
    me = lab.user
    lab.act_as(coming[0].user)
    try:
        lab.bookings.cancel(coming[0].group_id)
    finally:
        lab.act_as(me)


def shoot_bookings(
    app: QApplication, lab: Labgpu, lang: str, out: Path, calendar_only: bool = False
) -> None:
    """Save the Calendar (week, whole lab, one booking cancelled), Find a slot, My bookings,
    *Use…* of a booking, Approvals and Rules."""
    from labgpu.gui.booking.calendar_view import WEEK
    from labgpu.gui.shell import settings as prefs
    from labgpu.gui.shell.main_window import APPROVALS, CALENDAR, MY_BOOKINGS, RULES, MainWindow
    from tools.screenshot_runs import shoot_runs

    translators = prefs.install_translators(app, lang)
    font = QFont(app.font())
    font.setFamilies(["NanumGothic", *font.families()] if lang == "ko" else font.families())
    app.setFont(font)
    suffix = "" if lang == "en" else f"_{lang}"
    window = MainWindow(lab, prefs.open_settings(), demo=True)
    window.resize(1500, 1660)
    window.show()
    window.start()
    settle(app, lambda: window.snapshot is not None)
    window.show_page(CALENDAR)
    page = window.calendar_page
    page.set_zoom(WEEK)
    settle(app, lambda: page.data is not None and not page.is_loading())
    assert page.data is not None
    cancel_one_booking(lab, list(page.data.bookings))
    page.reload()
    settle(app, lambda: page.data is not None and not page.is_loading())
    save(window, out / f"calendar_week{suffix}.png")
    if calendar_only:
        close_window(app, window, translators)
        return
    window.resize(1360, 640)
    dialog = page.open_find_slot()
    dialog.model.setCurrentIndex(dialog.model.findData(A4000))
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
    mine = window.my_bookings_page
    usable = [g for g in mine.groups if g.status.value in ("booked", "active")]
    if usable:
        mine.select(usable[0].group_id)
        use = mine.use_selected()
        assert use is not None
        settle(app, lambda: bool(use.lines) or bool(use.message.text()))
        save(use, out / f"use_booking{suffix}.png")
        use.close()
    shoot_runs(mine, lab, save, lambda until: settle(app, until), window, out, suffix)
    student = lab.user
    lab.act_as(demo_manager())  # the demo enforces roles: Approvals and Rules are the manager's
    window.read_identity()
    settle(app, lambda: window.identity is not None and window.identity.role == "manager")
    window.show_page(APPROVALS)
    settle(app, lambda: bool(window.approvals_page.groups))
    save(window, out / f"approvals{suffix}.png")
    window.resize(1360, 720)
    window.show_page(RULES)
    settle(app, lambda: window.rules_page.gpu_list.count() > 0)
    save(window, out / f"rules{suffix}.png")
    lab.act_as(student)
    window.timer.stop()
    window.close()
    settle(app)
    for translator in translators:
        app.removeTranslator(translator)


def shoot_welcome(app: QApplication, lab: Labgpu, out: Path) -> None:
    """The first screen on an empty database."""
    from labgpu.gui.shell import settings as prefs
    from labgpu.gui.shell.main_window import MainWindow

    window = MainWindow(lab, prefs.open_settings())
    window.resize(1100, 600)
    window.show()
    window.start()
    settle(app, lambda: window.snapshot is not None)
    save(window, out / "welcome.png")
    window.timer.stop()
    window.close()
    settle(app)


def wait_for(app: QApplication, done: Callable[[], bool], seconds: float) -> bool:
    """Run the event loop until ``done()`` or ``seconds`` have passed; returns ``done()``."""
    deadline = time.monotonic() + seconds
    while not done() and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)
    return done()


def shoot_preparing(app: QApplication, lang: str, out: Path) -> None:
    """``labgpu --demo``'s first start in ``lang``: the window while the demo is generated, at
    its longest step (the bookings), as ``run_gui`` opens it."""
    from labgpu.gui.shell import settings as prefs
    from labgpu.gui.shell.main_window import MainWindow
    from labgpu.gui.shell.worker import run_task

    translators = prefs.install_translators(app, lang)
    font = QFont(app.font())
    font.setFamilies(["NanumGothic", *font.families()] if lang == "ko" else font.families())
    app.setFont(font)
    suffix = "" if lang == "en" else f"_{lang}"
    lab = demo_lab(rebuild=True)  # generated again, as on a first start
    window = MainWindow(lab, prefs.open_settings(), demo=True)
    window.resize(1100, 600)
    window.show_opening()
    window.show()
    opened: list[BaseException | None] = []
    run_task(lab.open, lambda _result, error: opened.append(error))
    bar = window.live_page.preparing.bar
    if not wait_for(app, lambda: bar.maximum() > 0 and bar.value() >= 1, 120):
        raise SystemExit("the demo's build did not reach its bookings")
    wait_for(app, lambda: bar.value() != 1 or window.live_page.preparing.seconds() >= 2, 3)
    save(window, out / f"demo_preparing{suffix}.png")
    if not wait_for(app, lambda: bool(opened), 120) or opened[0] is not None:
        raise SystemExit(f"the demo lab did not open: {opened}")
    window.close()
    settle(app)
    lab.close()
    for translator in translators:
        app.removeTranslator(translator)


def take_preparing(out: Path) -> int:
    """Only the demo's first start (``--only preparing``): docs/demo_preparing.png + ``_ko``."""
    from labgpu.gui.shell.app import make_application

    app = make_application()
    QCoreApplication.setApplicationName("labgpu")
    out.mkdir(parents=True, exist_ok=True)
    try:
        for lang in ("en", "ko"):
            shoot_preparing(app, lang, out)
    finally:
        QThreadPool.globalInstance().waitForDone()
    return 0


def shoot_connect(app: QApplication, lang: str, out: Path) -> None:
    """The lab-database sign-in dialog, filled in, in ``lang`` (no keyring is touched)."""
    from labgpu.gui.members.connect_dialog import ConnectDialog
    from labgpu.gui.shell import settings as prefs

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
    from labgpu.core.members.roles import Member
    from labgpu.gui.members.members_page import MembersPage, OneTimePasswordDialog
    from labgpu.gui.shell import settings as prefs

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


def offload_states(lab: DemoLab, now: datetime) -> dict[str, set[str]]:
    """Member -> the states their offloaded jobs are in at ``now``."""
    states: dict[str, set[str]] = {}
    for job in plan_offload(lab):
        states.setdefault(job.member, set()).add(status_at(job, now).state.value)
    return states


def varied_offload_moment(now: datetime) -> datetime:
    """When in the last two days to build the demo so that, ``now``, one member's offloaded
    jobs are in the most states (the model has queued and running ones about half the time)."""
    best, score = now, -1
    for hours in range(48):
        at = now - timedelta(hours=hours)
        states = offload_states(generate_lab(DEFAULT_SEED, at), now)
        most = max((len(v) for v in states.values()), default=0)
        if most > score:
            best, score = at, most
    return best


def prepare_demo() -> Labgpu:
    """The demo lab, built at ``varied_offload_moment`` and opened (reused: it is current)."""
    now = datetime.now(UTC)
    ensure_demo(demo_dir(), now=varied_offload_moment(now))
    lab = demo_lab()
    lab.open()
    return lab


def most_varied_offloader(lab: Labgpu) -> str:
    """The demo's student, or a member whose offloaded jobs are in more states now."""
    assert lab.setup.lab is not None
    states = offload_states(lab.setup.lab, datetime.now(UTC))
    best = max(states, key=lambda m: len(states[m]), default=lab.user)
    return lab.user if len(states.get(lab.user, ())) >= len(states.get(best, ())) else best


def shoot_offload(app: QApplication, lab: Labgpu, lang: str, out: Path) -> None:
    """The Offload page (the demo's jobs on its simulated Neuron), the Submit job, Clusters
    and OTP dialogs in ``lang`` (no SSH)."""
    from labgpu.core.offload import jobscript
    from labgpu.core.offload.jobs import JobRequest, new_job_name
    from labgpu.gui.offload.offload_login import OtpDialog
    from labgpu.gui.offload.submit_dialog import SubmitJobDialog
    from labgpu.gui.shell import settings as prefs
    from labgpu.gui.shell.main_window import OFFLOAD, MainWindow
    from labgpu.services.offload.service import folder_slug

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
    jobs = lab.offload.jobs()
    settle(app, lambda: page.tree.topLevelItemCount() == len(jobs))
    live = next((i for i, job in enumerate(page.jobs) if not job.state.is_final), 0)
    page.tree.setCurrentItem(page.tree.topLevelItem(live))  # a running or queued job if any
    settle(app)
    save(window, out / f"offload{suffix}.png")
    clusters = lab.offload.list_clusters()
    dialog = SubmitJobDialog(lab.offload, clusters, lambda _c, fn: fn(), window)
    folder = f"/home/{lab.user}/projects/vit-ablations"
    dialog.folder_edit.setText(folder)
    dialog.command_edit.setText("python train.py --config configs/vit_l16.yaml")
    dialog.gpus_spin.setValue(2)
    dialog.hours_spin.setValue(24)
    dialog.results_edit.setText("checkpoints, logs")
    base = f"/scratch/{lab.user}/labgpu"
    name = new_job_name(lab.user, datetime.now(UTC))
    work = f"{base}/work/{folder_slug(PurePosixPath(folder), lab.user)}"
    plan = jobscript.ScriptPlan(name, work, f"{base}/jobs/{name}")
    request = dialog.request()
    request = JobRequest(request.cluster, folder, request.command, 2, 24)
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


USAGE_SHOTS = (
    # (file name, tab, range, grouping)
    ("usage", "UTILISATION", "30d", "model"),
    ("usage_heatmap", "HEATMAP", "7d", "lab"),
    ("usage_members", "MEMBERS", "30d", "lab"),
    ("usage_demand", "DEMAND", "30d", "lab"),
    ("usage_evidence", "EVIDENCE", "1y", "lab"),
    ("usage_projects", "PROJECTS", "30d", "lab"),
)


def shoot_usage(app: QApplication, lab: Labgpu, lang: str, out: Path) -> None:
    """The Usage page's tabs (utilisation, heatmap, members, unmet demand) in ``lang``."""
    from labgpu.gui.shell import settings as prefs
    from labgpu.gui.shell.main_window import USAGE, MainWindow
    from labgpu.gui.usage import usage_page

    translators = prefs.install_translators(app, lang)
    font = QFont(app.font())
    font.setFamilies(["NanumGothic", *font.families()] if lang == "ko" else font.families())
    app.setFont(font)
    suffix = "" if lang == "en" else f"_{lang}"
    window = MainWindow(lab, prefs.open_settings(), demo=isinstance(lab.setup, DemoSetup))
    window.resize(1500, 960)
    window.show()
    window.start()
    settle(app, lambda: window.snapshot is not None and window.identity is not None)
    window.show_page(USAGE)
    page = window.usage_page
    for name, tab, span, by in USAGE_SHOTS:
        page.tabs.setCurrentIndex(getattr(usage_page, tab))
        page.set_grouping(by)
        page.set_range(span)
        settle(app, lambda: page.view is not None and not page.is_loading())
        settle(app)  # a tab with a worker of its own (Projects) fills in after the page
        save(window, out / f"{name}{suffix}.png")
    window.timer.stop()
    window.close()
    settle(app)
    for translator in translators:
        app.removeTranslator(translator)


def demo_manager() -> str:
    """The demo lab's manager (Approvals and Rules are theirs)."""
    from labgpu.demo.reference import reference_members

    return next(m.name for m in reference_members() if m.role == "manager")


def demo_pi() -> str:
    """The demo lab's PI (the Usage page is theirs)."""
    from labgpu.demo.reference import reference_members

    return next(m.name for m in reference_members() if m.role == "pi")


def take_usage(out: Path) -> int:
    """Only the Usage page's screenshots (``--only usage``)."""
    from labgpu.gui.shell.app import make_application

    app = make_application()
    QCoreApplication.setApplicationName("labgpu")
    lab = prepare_demo()  # builds the demo lab and its 90 days of usage history
    try:
        lab.act_as(demo_pi())
        out.mkdir(parents=True, exist_ok=True)
        for lang in ("en", "ko"):
            shoot_usage(app, lab, lang, out)
    finally:
        QThreadPool.globalInstance().waitForDone()
        lab.close()
    return 0


def shoot_report(lab: Labgpu, out: Path) -> None:
    """The last complete month's PDF report, its pages as docs/report_case.png (page 1, the
    case) and docs/report_pN.png (pdftoppm)."""
    from labgpu.gui.usage.report import write_monthly_report
    from labgpu.gui.usage.usage_report import recent_months

    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        raise SystemExit("pdftoppm not found; install it (Debian: apt-get install poppler-utils)")
    month = recent_months(datetime.now(UTC), 1)[0]
    with tempfile.TemporaryDirectory(prefix="labgpu-report-") as tmp:
        pdf = Path(tmp) / "report.pdf"
        pages = write_monthly_report(lab, month, pdf)
        subprocess.run(
            [pdftoppm, "-png", "-r", "100", str(pdf), str(Path(tmp) / "page")], check=True
        )
        for n in range(1, pages + 1):
            found = sorted(Path(tmp).glob(f"page-*{n}.png"))
            name = "report_case.png" if n == 1 else f"report_p{n}.png"  # page 1: the case
            shutil.copyfile(found[0], out / name)
    print(f"report: {pages} pages of {month}")


def take_report(out: Path) -> int:
    """Only the monthly report's pages (``--only report``), from the demo lab."""
    from labgpu.gui.shell.app import make_application

    make_application()
    lab = prepare_demo()
    try:
        out.mkdir(parents=True, exist_ok=True)
        shoot_report(lab, out)
    finally:
        QThreadPool.globalInstance().waitForDone()
        lab.close()
    return 0


def _in_each_language(out: Path, take: Callable[[Any, Any, str, Path], object]) -> int:
    """``take(app, lab, lang, out)`` for English and Korean, on the demo lab."""
    from labgpu.gui.shell.app import make_application

    app = make_application()
    QCoreApplication.setApplicationName("labgpu")
    lab = prepare_demo()
    try:
        out.mkdir(parents=True, exist_ok=True)
        for lang in ("en", "ko"):
            take(app, lab, lang, out)
    finally:
        QThreadPool.globalInstance().waitForDone()
        lab.close()
    return 0


def take_live(out: Path) -> int:
    """Only the Live view (``--only live``): docs/live.png and live_ko.png, from the demo lab."""
    return _in_each_language(
        out, lambda app, lab, lang, folder: shoot(app, lab, lang, folder, live_only=True)
    )


def take_calendar(out: Path, calendar_only: bool = True) -> int:
    """Only the Calendar (``--only calendar``): docs/calendar_week.png and its Korean twin;
    ``--only bookings`` adds Find a slot, My bookings, Approvals and Rules."""
    return _in_each_language(
        out,
        lambda app, lab, lang, folder: shoot_bookings(
            app, lab, lang, folder, calendar_only=calendar_only
        ),
    )


def take_offload(out: Path) -> int:
    """Only the offload screenshots (``--only offload``)."""
    from labgpu.gui.shell.app import make_application

    app = make_application()
    QCoreApplication.setApplicationName("labgpu")
    lab = prepare_demo()  # builds the demo lab (a few seconds)
    try:
        lab.act_as(most_varied_offloader(lab))
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
    parser.add_argument(
        "--only",
        choices=[
            "live",
            "shell",
            "calendar",
            "bookings",
            "connect",
            "members",
            "offload",
            "usage",
            "report",
            "preparing",
        ],
        help="take only these screenshots",
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
        if args.only == "offload":
            return take_offload(args.out)
        if args.only == "usage":
            return take_usage(args.out)
        if args.only == "report":
            return take_report(args.out)
        if args.only == "live":
            return take_live(args.out)
        if args.only == "shell":  # Live, Servers, Settings, the bell's list, Add server
            return _in_each_language(args.out, shoot)
        if args.only == "preparing":
            return take_preparing(args.out)
        if args.only in ("calendar", "bookings"):
            return take_calendar(args.out, calendar_only=args.only == "calendar")
        if args.only is not None:
            from labgpu.gui.shell.app import make_application

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
    from labgpu.gui.shell.app import make_application

    app = make_application()
    QCoreApplication.setApplicationName("labgpu")
    out.mkdir(parents=True, exist_ok=True)
    empty = Labgpu()
    empty.open()
    try:
        shoot_welcome(app, empty, out)
    finally:
        QThreadPool.globalInstance().waitForDone()
        empty.close()
    for lang in ("en", "ko"):
        shoot_preparing(app, lang, out)
    demo = prepare_demo()  # builds the demo lab (a few seconds)
    try:
        for lang in ("en", "ko"):
            shoot(app, demo, lang, out)
        for lang in ("en", "ko"):
            shoot_bookings(app, demo, lang, out)
        for lang in ("en", "ko"):
            shoot_connect(app, lang, out)
            shoot_members(app, demo, lang, out)
        demo.act_as(most_varied_offloader(demo))
        for lang in ("en", "ko"):
            shoot_offload(app, demo, lang, out)
        demo.act_as(demo_pi())  # the Usage page is the PI's
        for lang in ("en", "ko"):
            shoot_usage(app, demo, lang, out)
    finally:
        QThreadPool.globalInstance().waitForDone()
        demo.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
