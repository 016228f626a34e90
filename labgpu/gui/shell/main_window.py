"""The main window: navigation on the left (Live, bookings, Servers, Settings), pages right.

The navigation's pages and shortcuts are in ``navigation``; what the window says while the lab
opens, and the demo lab's second process, in ``opening``; the Servers page's removals in
``server_actions``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, cast

import shiboken6
from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from labgpu.gui.booking.approvals import ApprovalsPage
from labgpu.gui.booking.calendar_data import LiveMarks, load_live_marks
from labgpu.gui.booking.calendar_view import CalendarPage
from labgpu.gui.booking.my_bookings import MyBookingsPage
from labgpu.gui.booking.rules_page import RulesPage
from labgpu.gui.inventory.add_server_dialog import AddServerDialog
from labgpu.gui.inventory.live_view import LivePage
from labgpu.gui.inventory.servers_view import ServersView
from labgpu.gui.members.members_page import MembersPage
from labgpu.gui.offload.offload_page import OffloadPage
from labgpu.gui.shell import opening, resources, server_actions
from labgpu.gui.shell import settings as prefs
from labgpu.gui.shell.demo_banner import DemoBanner
from labgpu.gui.shell.errors import handle_error
from labgpu.gui.shell.lazy_page import LazyPage
from labgpu.gui.shell.navigation import (
    APPROVALS,
    CALENDAR,
    LIVE,
    MEMBERS,
    MY_BOOKINGS,
    OFFLOAD,
    PAGE_KEYS,
    RULES,
    USAGE,
    make_nav,
    show_pages_for,
    show_pending_count,
)
from labgpu.gui.shell.navigation import SERVERS as SERVERS  # the pages, for callers of show_page
from labgpu.gui.shell.navigation import SETTINGS as SETTINGS
from labgpu.gui.shell.notices import Notices
from labgpu.gui.shell.session import (
    ConnectionBanner,
    Identity,
    is_connection_trouble,
    read_identity,
    signed_in_text,
)
from labgpu.gui.shell.settings_page import SettingsPage
from labgpu.gui.shell.snapshot import Snapshot, take_snapshot
from labgpu.gui.shell.worker import run_task
from labgpu.gui.widgets import text
from labgpu.services import Labgpu

if TYPE_CHECKING:
    from labgpu.gui.usage.usage_page import UsagePage


class MainWindow(QMainWindow):
    """Shows the lab; every read and write goes through ``run_task`` (never on this thread)."""

    # A step of a long open (the demo's build): its name, number and the count, emitted on
    # the building worker.
    build_step = Signal(str, int, int)

    def __init__(self, labgpu: Labgpu, settings: QSettings, demo: bool = False) -> None:
        super().__init__()
        self.labgpu = labgpu
        self.settings = settings
        self.snapshot: Snapshot | None = None
        self.identity: Identity | None = None
        self._refreshing = False
        self._refresh_failure = ""  # the status bar's line while the refresh fails
        self.demo = demo
        self._preparing = ""  # the status bar's headline while the lab is prepared
        self.build_step.connect(self._build_step)
        labgpu.progress = self._emit_build_step
        self.setWindowTitle(self.tr("labgpu — Demo lab") if demo else "labgpu")
        self.setWindowIcon(resources.icon("labgpu"))
        self.notices = Notices(self.labgpu, self.settings, self)
        self.notifier = self.notices.notifier
        self._make_pages()
        self._make_status_bar()
        self._make_actions()
        self.notifier.message.connect(lambda text_: self.statusBar().showMessage(text_, 30_000))
        self.notices.message.connect(lambda text_: self.statusBar().showMessage(text_, 30_000))
        self.notices.settings_requested.connect(lambda: self.show_page(SETTINGS))
        self.offload_page.notify.connect(self._offload_notice)
        self.my_bookings_page.jobs.notify.connect(self._job_notice)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.refresh)
        self.set_refresh_interval(prefs.refresh_interval_s(settings))
        self._restore_geometry()

    def _make_usage_page(self) -> UsagePage:
        from labgpu.gui.usage.usage_page import UsagePage

        page = UsagePage(self.labgpu, self.settings)
        page.exported.connect(lambda line: self.statusBar().showMessage(line, 10_000))
        return page

    @property
    def usage_page(self) -> UsagePage:
        """The Usage page (made now if it was not shown yet)."""
        return cast("UsagePage", self.usage_slot.page())

    def _make_pages(self) -> None:
        self.live_page = LivePage()
        self.calendar_page = CalendarPage(self.labgpu, self.settings)
        self.my_bookings_page = MyBookingsPage(self.labgpu)
        self.offload_page = OffloadPage(self.labgpu)
        self.usage_slot = LazyPage(self._make_usage_page)  # built when first shown
        self.approvals_page = ApprovalsPage(self.labgpu)
        self.rules_page = RulesPage(self.labgpu)
        self.members_page = MembersPage(self.labgpu)
        self.servers_page = ServersView()
        self.settings_page = SettingsPage(
            self.settings, text.safe_url(self.labgpu.db_url), self.labgpu.user
        )
        self.pages = QStackedWidget()
        self.nav = make_nav()
        for page in (
            self.live_page,
            self.calendar_page,
            self.my_bookings_page,
            self.offload_page,
            self.usage_slot,
            self.approvals_page,
            self.rules_page,
            self.members_page,
            self.servers_page,
            self.settings_page,
        ):
            self.pages.addWidget(page)
        self.nav.currentRowChanged.connect(self.pages.setCurrentIndex)
        self.nav.currentRowChanged.connect(self._page_shown)
        for page in (self.calendar_page, self.my_bookings_page, self.approvals_page):
            page.changed.connect(self.bookings_changed)
        self.approvals_page.pending_count.connect(self._pending_count)
        self.rules_page.changed.connect(self.calendar_page.reload)
        self.calendar_page.exported.connect(lambda line: self.statusBar().showMessage(line, 10_000))
        self.nav.setCurrentRow(LIVE)
        self.nav.item(MEMBERS).setHidden(True)  # until a manager signs in to a lab database
        self.live_page.add_server_requested.connect(self.open_add_server)
        self.servers_page.add_requested.connect(self.open_add_server)
        self.servers_page.remove_requested.connect(self.remove_server)
        self.servers_page.forget_key_requested.connect(self.forget_host_key)
        self.settings_page.refresh_interval_changed.connect(self.set_refresh_interval)
        self.live_page.demo_requested.connect(self.open_demo)
        self.banner = ConnectionBanner()
        right = QVBoxLayout()
        right.setContentsMargins(0, 0, 0, 0)
        self.demo_banner: DemoBanner | None = None
        if self.demo:
            self.demo_banner = DemoBanner(self.labgpu.user)
            self.demo_banner.reset_requested.connect(self._confirm_reset)
            right.addWidget(self.demo_banner)
        right.addWidget(self.banner)
        right.addWidget(self.pages, 1)
        central = QWidget()
        layout = QHBoxLayout(central)
        left = QVBoxLayout()
        left.setSpacing(0)
        left.addWidget(self.nav, 1)
        left.addWidget(self.notices.bell)
        layout.addLayout(left)
        layout.addLayout(right, 1)
        self.setCentralWidget(central)

    def _make_status_bar(self) -> None:
        self.db_label = QLabel()
        self.show_database()
        self.user_label = QLabel(self.tr("User: {user}").format(user=self.labgpu.user))
        self.refresh_label = QLabel(self.tr("Not refreshed yet"))
        for label in (self.db_label, self.user_label, self.refresh_label):
            self.statusBar().addPermanentWidget(label)

    def _make_actions(self) -> None:
        shortcuts: list[tuple[str, str, Callable[[], object]]] = [
            (self.nav.item(page).text(), PAGE_KEYS[page], partial(self.show_page_key, page))
            for page in range(self.nav.count())
        ]
        shortcuts += [
            (self.tr("Refresh"), "F5", self.refresh_now),
            (self.tr("Add server…"), "Ctrl+N", self.open_add_server),
            (self.tr("Quit"), "Ctrl+Q", self.close),
        ]
        for label, keys, slot in shortcuts:
            action = QAction(label, self)
            action.setShortcut(QKeySequence(keys))
            action.triggered.connect(slot)
            self.addAction(action)
            if keys == "Ctrl+N":
                self.add_server_action = action
            elif keys == "Ctrl+Q":
                self.quit_action = action

    # -- pages -----------------------------------------------------------------------------

    def show_page(self, page: int) -> None:
        """Switch to a page: LIVE, CALENDAR, MY_BOOKINGS, OFFLOAD, USAGE, APPROVALS, RULES, …"""
        self.nav.setCurrentRow(page)

    def show_page_key(self, page: int) -> None:
        """A page's shortcut: switch to it unless the signed-in role does not see it."""
        if not self.nav.item(page).isHidden():
            self.show_page(page)

    def _page_shown(self, page: int) -> None:
        if page == CALENDAR:
            self.calendar_page.reload()
        elif page == MY_BOOKINGS:
            self.my_bookings_page.reload()
        elif page == OFFLOAD:
            self.offload_page.reload()
        elif page == USAGE:
            self.usage_page.reload()
        elif page == APPROVALS:
            self.approvals_page.reload()
        elif page == RULES:
            self.rules_page.reload()
        elif page == MEMBERS:
            self.members_page.reload()

    def bookings_changed(self) -> None:
        """A booking was made or changed: re-read the pages that show bookings."""
        self.calendar_page.reload()
        self.my_bookings_page.reload()
        self.approvals_page.reload()
        self.refresh_marks()

    def _offload_notice(self, line: str, key: str = "") -> None:
        """An offloaded job ended and its results are home: kept, tray (if any), status bar."""
        self.notices.tell(self.tr("Offloaded job finished"), line, key)

    def _job_notice(self, line: str, key: str = "") -> None:
        """A job on a booking ended: kept, tray (if any), status bar."""
        self.notices.tell(self.tr("Job ended"), line, key)

    def refresh_now(self) -> None:
        """F5: read servers and GPUs now, and the jobs on my bookings when they are shown."""
        self.refresh()
        if self.my_bookings_page.jobs.isVisible():
            self.my_bookings_page.jobs.reload()

    def _pending_count(self, count: int) -> None:
        show_pending_count(self.nav, count)

    def _identity_read(self, identity: Identity | None, error: BaseException | None) -> None:
        if error is not None or identity is None:
            if error is not None:
                handle_error(self, error)  # a known error shows with the next refresh
            return
        self.identity = identity
        self.user_label.setText(signed_in_text(identity))
        if self.demo_banner is not None:
            self.demo_banner.set_user(identity.user)
        show_pages_for(self.nav, identity)
        # The database refuses anyway; these only spare a student the refusal.
        for button in (
            self.servers_page.add_button,
            self.servers_page.remove_button,
            self.servers_page.forget_key_button,
        ):
            button.setVisible(identity.can_manage)
        # The demo's servers are simulated: nothing to connect to.
        self.servers_page.add_button.setVisible(identity.can_manage and not self.demo)
        self.servers_page.forget_key_button.setVisible(identity.can_manage and not self.demo)
        self.add_server_action.setEnabled(identity.can_manage and not self.demo)
        self.offload_page.show_all_allowed(identity.can_approve)
        if identity.can_approve:
            self.approvals_page.reload()

    def show_database(self) -> None:
        """Name the open database in the status bar and on the Settings page."""
        url = self.labgpu.db_url
        self.db_label.setText(self.tr("Database: {url}").format(url=text.short_db(url)))
        self.db_label.setToolTip(text.safe_url(url))
        self.settings_page.set_database(text.safe_url(url))

    def current_page(self) -> int:
        """The page shown now."""
        return self.pages.currentIndex()

    def set_refresh_interval(self, seconds: int) -> None:
        """Refresh every ``seconds``."""
        self.timer.setInterval(seconds * 1000)

    # -- opening ---------------------------------------------------------------------------

    def show_opening(self) -> None:
        """Say what happens until the lab is open and its Live view read — the demo generated
        (with its steps and the seconds so far), or the database opened — in the Live page and
        the status bar; the pages and shortcuts wait for ``start`` (Quit does not).

        Call it before ``labgpu.open`` runs on a worker."""
        title, detail = opening.opening_text(
            self.labgpu.will_prepare(), self.demo, self.db_label.text()
        )
        self._preparing = title
        self.statusBar().showMessage(title)
        self.live_page.show_preparing(title, detail)
        self._set_pages_enabled(False)

    def _set_pages_enabled(self, enabled: bool) -> None:
        self.nav.setEnabled(enabled)
        for action in self.actions():
            if action is not self.quit_action:
                action.setEnabled(enabled)
        if self.demo_banner is not None:
            self.demo_banner.reset_button.setEnabled(enabled)

    def _emit_build_step(self, step: str, number: int, total: int) -> None:
        """The demo's build reports a step (on its worker): on to the GUI thread."""
        if shiboken6.isValid(self):
            self.build_step.emit(step, number, total)

    def _build_step(self, step: str, number: int, total: int) -> None:
        line = opening.build_step_text(step, number, total)
        self.live_page.preparing.set_step(line, number, total)
        if self._preparing:
            self.statusBar().showMessage(
                self.tr("{title} {step}").format(title=self._preparing, step=line)
            )

    # -- refreshing ------------------------------------------------------------------------

    def start(self) -> None:
        """Refresh now, then every few seconds (call once the database is open)."""
        self._preparing = ""
        self._set_pages_enabled(True)
        if self.live_page.showing_preparing():
            self.live_page.preparing.set_step(self.tr("Reading the servers and GPUs…"))
        self.show_database()  # the demo lab's file is known once it is open
        self.refresh()
        self.timer.start()
        self.calendar_page.start()
        self.offload_page.start()
        self.notices.start(self.labgpu)
        self.settings_page.open_lab(self.labgpu, self.demo)
        self.read_identity()

    def read_identity(self) -> None:
        """Ask the database who is signed in and what their role allows (on a worker)."""
        run_task(lambda: read_identity(self.labgpu), self._identity_read, context=self)

    def refresh(self) -> None:
        """Read servers and GPUs on a worker; skipped while the previous read is running."""
        if self._refreshing:
            return
        self._refreshing = True
        run_task(lambda: take_snapshot(self.labgpu), self._refreshed, context=self)
        self.refresh_marks()

    def refresh_marks(self) -> None:
        """Re-read who has booked each GPU (the Live view's *Booked by* column) on a worker."""
        run_task(lambda: load_live_marks(self.labgpu), self._marks_read, context=self)

    def _refreshed(self, snapshot: Snapshot | None, error: BaseException | None) -> None:
        self._refreshing = False
        if error is not None:
            message = handle_error(self, error)
            if message and is_connection_trouble(error):
                self.banner.lost(message)  # the refresh timer keeps trying
                self.statusBar().showMessage(self.tr("Reconnecting to the database…"))
            elif message:
                self._refresh_failure = self.tr("Refresh failed: {message}").format(message=message)
                self.statusBar().showMessage(self._refresh_failure)
            if message and self.live_page.showing_preparing():
                self.live_page.preparing.fail(message)  # the next refresh may still show the lab
            return
        if self._refresh_failure and self.statusBar().currentMessage() == self._refresh_failure:
            self.statusBar().clearMessage()  # the same rule as the pages' inline errors
        self._refresh_failure = ""
        if self.banner.back():
            self.statusBar().showMessage(self.tr("Reconnected to the database."), 10_000)
            self.bookings_changed()
            self.read_identity()
        if snapshot is not None:
            self.snapshot = snapshot
            self.live_page.set_snapshot(snapshot)
            self.servers_page.set_snapshot(snapshot)
            self.refresh_label.setText(
                self.tr("Last refresh: {time}").format(time=text.local_time(snapshot.taken_at))
            )

    def _marks_read(self, marks: LiveMarks | None, error: BaseException | None) -> None:
        if error is not None:
            handle_error(self, error)  # a known error shows with the next refresh
        elif marks is not None:
            self.live_page.live.model.set_marks(marks)

    def is_refreshing(self) -> bool:
        """True while a refresh is in flight."""
        return self._refreshing

    # -- servers ---------------------------------------------------------------------------

    def open_add_server(self) -> AddServerDialog:
        """Open the *Add server* dialog (window-modal); returns it."""
        dialog = AddServerDialog(self.labgpu, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.registered.connect(self._server_registered)
        dialog.open()
        return dialog

    def _server_registered(self, name: str) -> None:
        self.statusBar().showMessage(self.tr("Server {name} added.").format(name=name), 10_000)
        self.refresh()

    def remove_server(self, name: str) -> None:
        """Remove a server (already confirmed) on a worker, then refresh."""
        server_actions.remove_server(self, name)

    def forget_host_key(self, name: str) -> None:
        """Forget a server's known host key (already confirmed) on a worker."""
        server_actions.forget_host_key(self, name)

    # -- demo lab ---------------------------------------------------------------------------

    def open_demo(self) -> bool:
        """Open the demo lab in a second labgpu process (this window stays on the real lab)."""
        return opening.open_demo(self)

    def _confirm_reset(self) -> None:
        if opening.ask_reset(self):
            self.reset_demo()

    def reset_demo(self) -> None:
        """Rebuild the demo database on a worker (already confirmed), then re-read everything."""
        if not self.demo or self.demo_banner is None:
            return
        self.demo_banner.reset_button.setEnabled(False)
        self._preparing = self.tr("Generating the demo lab again…")
        self.statusBar().showMessage(self._preparing)
        run_task(self.labgpu.reset, self._demo_reset, context=self)

    def _demo_reset(self, _result: None, error: BaseException | None) -> None:
        self._preparing = ""
        if self.demo_banner is not None:
            self.demo_banner.reset_button.setEnabled(True)
        if error is not None:
            message = handle_error(self, error) or ""
            self.statusBar().showMessage(
                self.tr("The demo lab was not reset: {message}").format(message=message)
            )
            return
        self.statusBar().showMessage(self.tr("The demo lab was generated again."), 10_000)
        self.show_database()
        self.bookings_changed()
        self.rules_page.reload()
        self.refresh()

    # -- geometry --------------------------------------------------------------------------

    def _restore_geometry(self) -> None:
        geometry = self.settings.value("window/geometry")
        state = self.settings.value("window/state")
        if isinstance(geometry, QByteArray) and self.restoreGeometry(geometry):
            if isinstance(state, QByteArray):
                self.restoreState(state)
        else:
            self.resize(1180, 720)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self.timer.stop()
        self.calendar_page.tick.stop()
        self.offload_page.stop()
        self.notices.stop()
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.settings.sync()
        super().closeEvent(event)
