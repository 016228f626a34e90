"""Fixtures for the desktop app's tests: an opened lab, a sample inventory, the main window."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QLocale, QThreadPool
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from labgpu.core.inventory.servers import (
    GpuProcess,
    GpuReading,
    ProbeResult,
    ServerState,
    SshTarget,
)
from labgpu.gui.shell import errors
from labgpu.gui.shell.gc_timer import MainThreadGc
from labgpu.gui.shell.main_window import MainWindow
from labgpu.gui.shell.settings import open_settings
from labgpu.gui.shell.worker import tasks_in_flight
from labgpu.services import Labgpu

pytestmark = pytest.mark.gui


def reading(server: str, index: int, model: str, total: int, used: int, util: float) -> GpuReading:
    """A GPU reading with a uuid derived from server and index."""
    uuid = f"GPU-{server}-{index:02d}-0000-0000-000000000000"
    return GpuReading(index, uuid, model, total, used, util, 40.0 + util / 3, 30.0 + util * 1.2)


def make_probe(server: str, model: str, total: int, busy: dict[int, str]) -> ProbeResult:
    """Four GPUs; those in ``busy`` run one process of that user."""
    gpus = tuple(
        reading(server, i, model, total, 9000 if i in busy else 3, 87.0 if i in busy else 0.0)
        for i in range(4)
    )
    procs = tuple(
        GpuProcess(gpus[i].uuid, 4000 + i, 8990, "python", user, 3600, f"python train.py --gpu {i}")
        for i, user in busy.items()
    )
    return ProbeResult("127.0.0.1", datetime.now(UTC), gpus, procs)


def settle_workers(timeout_ms: int = 30_000) -> None:
    """Wait until no worker runs and no result waits for delivery.

    ``waitForDone`` alone is not enough: a result delivered afterwards may start more work (an
    identity read reloads the approvals), which would then use a lab closed in the meantime.
    """
    pool = QThreadPool.globalInstance()
    for _ in range(50):
        pool.waitForDone(timeout_ms)
        QCoreApplication.processEvents()  # deliver queued results; they may start more tasks
        if tasks_in_flight() == 0 and pool.activeThreadCount() == 0:
            return
    raise AssertionError(f"workers did not settle: {tasks_in_flight()} still in flight")


def add_server(
    lab: Labgpu,
    name: str,
    probe: ProbeResult,
    state: ServerState = ServerState.ONLINE,
    reason: str = "",
) -> None:
    """Register ``name`` with ``probe`` and record its state as the collector would."""
    lab.inventory.register_server(name, SshTarget(f"{name}.lab.example.org", 22, "labuser"), probe)
    seen = probe.taken_at if state is ServerState.ONLINE else None
    lab.store.inventory.set_server_state(name, state, reason, seen)


@pytest.fixture
def lab() -> Iterator[Labgpu]:
    """A Labgpu on a fresh SQLite file in the test's data directory."""
    labgpu = Labgpu()
    labgpu.open()
    yield labgpu
    settle_workers()
    labgpu.close()


@pytest.fixture
def sample_lab(lab: Labgpu) -> Labgpu:
    """Three servers: two online (4× RTX A4000, 4× A40, some busy) and one offline."""
    add_server(
        lab, "gpu-01", make_probe("gpu-01", "NVIDIA RTX A4000", 16376, {0: "alice", 1: "bob"})
    )
    add_server(lab, "gpu-02", make_probe("gpu-02", "NVIDIA A40", 46068, {2: "carol"}))
    old = make_probe("gpu-03", "NVIDIA RTX A4000", 16376, {})
    add_server(
        lab,
        "gpu-03",
        replace(old, taken_at=old.taken_at - timedelta(hours=2)),
        ServerState.OFFLINE,
        "gpu-03: connection refused; is the server up?",
    )
    return lab


@pytest.fixture(autouse=True)
def gc_on_gui_thread() -> Iterator[None]:
    """As in the app (``labgpu.gui.shell.gc_timer``): no automatic garbage collection during a GUI
    test — a worker that happened to collect would destroy Qt objects off the GUI thread —
    and everything collected here, on the GUI thread, once the test's windows are gone."""
    gc.disable()
    yield
    QThreadPool.globalInstance().waitForDone(30_000)  # workers drop what they hold
    app = QApplication.instance()
    for timer in app.findChildren(MainThreadGc) if app is not None else []:
        timer.stop()  # a test that called make_application(): not for the next tests
        timer.setParent(None)
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    QCoreApplication.processEvents()
    gc.collect()  # what this test left behind is found now, in its own teardown
    gc.enable()


@pytest.fixture(autouse=True)
def system_locale() -> Iterator[None]:
    """Day and month names as the system says, after a test that chose a language."""
    yield
    QLocale.setDefault(QLocale.system())


@pytest.fixture(autouse=True)
def bugs(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[BaseException]]:
    """Unexpected errors the app would show in its crash dialog; a test fails if any occur."""
    seen: list[BaseException] = []
    monkeypatch.setattr(errors, "report_bug", lambda _parent, error: seen.append(error))
    yield seen
    assert not seen, f"the app hit unexpected errors: {seen!r}"


@pytest.fixture
def window(qtbot: QtBot, lab: Labgpu) -> Iterator[MainWindow]:
    """The main window on ``lab``, shown and refreshed once."""
    win = MainWindow(lab, open_settings())
    qtbot.addWidget(win)
    win.show()
    win.start()
    qtbot.waitUntil(lambda: win.snapshot is not None and not win.is_refreshing(), timeout=10_000)
    yield win
    win.timer.stop()
    qtbot.waitUntil(lambda: not win.is_refreshing(), timeout=10_000)
    QThreadPool.globalInstance().waitForDone(30_000)
