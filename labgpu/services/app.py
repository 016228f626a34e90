"""The facade the desktop app and the CLI use: one ``Labgpu`` per process.

Every method may block on SQL or SSH; the GUI calls them from worker threads only. The object
is thread-safe: the store opens one short session per call and the SSH pool keeps one
transport per host behind a per-host lock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from labgpu.core.booking.bookings import LIVE_STATUSES
from labgpu.core.booking.rules import (
    BookingGroupView,
    BookingRules,
    BookingView,
    Maintenance,
    RealityReport,
    Reminder,
)
from labgpu.core.booking.slots import SlotOption
from labgpu.core.errors import AuthFailedError, HostKeyChangedError, LabgpuError
from labgpu.core.i18n import N_, _
from labgpu.core.inventory.servers import Gpu, GpuStatus, ProbeResult, Server, SshTarget
from labgpu.core.members.roles import Member
from labgpu.services.booking.service import BookingService
from labgpu.services.inventory.collector import Collector, SweepOutcome
from labgpu.services.members.identity import current_user
from labgpu.services.platform import paths

if TYPE_CHECKING:  # SQLAlchemy, Alembic and paramiko load on first use, off the GUI's start
    from labgpu.remote import SshPool
    from labgpu.services.booking.reality import AutoReleaser
    from labgpu.services.inventory.host_keys import LabHostKeys
    from labgpu.services.offload.service import OffloadService
    from labgpu.services.usage.service import UsageService
    from labgpu.storage import Store

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 20.0


@dataclass(frozen=True, slots=True)
class RegisterReport:
    """What registering a server did."""

    server: Server
    gpus: int
    added: tuple[str, ...]
    updated: tuple[str, ...]
    retired: tuple[str, ...]


class Labgpu:
    """One lab, opened from one database URL, seen by one user."""

    def __init__(self, db_url: str | None = None) -> None:
        url = paths.resolve_database_url(db_url)
        if not url.startswith("sqlite"):  # a lab database: the member's remembered password
            from labgpu.services.members.credentials import with_remembered_password

            url = with_remembered_password(url)
        self.db_url = url
        self.user = current_user()
        self._store: Store | None = None
        self._pool: SshPool | None = None
        self._pins: LabHostKeys | None = None
        self._collector: Collector | None = None
        self._lock = threading.RLock()
        self._bookings: BookingService | None = None
        self._releaser: AutoReleaser | None = None
        self._offload: OffloadService | None = None
        self._usage: UsageService | None = None
        self._closed = False
        #: Told what ``open`` is doing when it takes long (the demo's build: each of its
        #: steps), on ``open``'s thread. A database that opens at once says nothing.
        self.progress: Callable[[str], None] | None = None

    @property
    def title(self) -> str | None:
        """What the lab is called to people where its database's name would say nothing
        (the demo lab), else None: the database names it."""
        return None

    def will_prepare(self) -> bool:
        """True if ``open`` will take seconds, not a blink (the demo's first start builds
        it), so the window says so while it waits."""
        return False

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def store(self) -> Store:
        """The database, created on first use (no engine at import time)."""
        with self._lock:
            if self._store is None:
                self._refuse_if_closed(N_("database"))  # a late worker must not reopen (leak) it
                from labgpu.storage import Store

                self._store = Store(self.db_url)
            return self._store

    def _refuse_if_closed(self, what: str) -> None:
        if self._closed:
            raise LabgpuError(
                _("labgpu was closed; open the lab again to use its {what}").format(what=_(what))
            )

    @property
    def pool(self) -> SshPool:
        """The SSH connections, one persistent transport per host."""
        with self._lock:
            if self._pool is None:
                self._refuse_if_closed(N_("SSH connections"))
                from labgpu.remote import SshPool

                self._pool = SshPool(
                    known_hosts=paths.known_hosts_path(),
                    ssh_config=paths.ssh_config_path(),
                    pins=self._lab_pins(),
                )
            return self._pool

    def _lab_pins(self) -> LabHostKeys | None:
        """The lab database's pinned host keys (never for SQLite: known_hosts only)."""
        if self.is_single_seat:
            return None
        with self._lock:
            if self._pins is None:
                from labgpu.services.inventory.host_keys import LabHostKeys

                self._pins = LabHostKeys(self._open_store, lambda: self.user)
            return self._pins

    def _open_store(self) -> Store:
        """The store, without taking the lock while it is open: a connect reads the pinned
        keys holding its host's lock, which ``close`` waits for while holding ours."""
        store = self._store
        return store if store is not None else self.store

    def pins_host_keys(self) -> bool:
        """True in the lab-database shape: servers' host keys are pinned in the database."""
        pins = self._lab_pins()
        return pins is not None and pins.active()

    @property
    def is_single_seat(self) -> bool:
        """True for the embedded SQLite shape, where the app runs the collector itself."""
        return self.db_url.startswith("sqlite")

    def open(self) -> None:
        """Bring the database to the current schema; refuse one newer than this program.

        In a lab database (``labgpu lab init``) the user is the PostgreSQL login
        (``current_user``), never a name the client supplies.
        """
        with self._lock:
            self._closed = False
        self.store.upgrade()
        if not self.is_single_seat and self.store.lab.is_lab():
            user = self.store.lab.current_user()
            with self._lock:
                if user != self.user:
                    self.user = user
                    self._bookings = None
                    self._offload = None

    def close(self) -> None:
        """Stop the collector, close SSH connections and the database."""
        with self._lock:
            collector = self._collector
        if collector is not None:
            collector.request_stop()  # what probes in flight still see is not stored
        with self._lock:
            self._closed = True
            pool = self._pool
        if pool is not None:
            pool.close_all()  # probes in flight fail at once
        self.stop_collector()  # waits for them: the database must not close under them
        with self._lock:
            if self._pool is not None:
                self._pool.close_all()  # and whatever a probe reconnected meanwhile
                self._pool = None
            self._pins = None  # the next user may be someone else
            self._offload = None
            if self._store is not None:
                self._store.close()
                self._store = None
            # They hold the closed store; until open() again, nothing reopens it.
            self._bookings = None
            self._releaser = None
            self._usage = None

    # -- inventory --------------------------------------------------------------------------

    def discover(self, target: SshTarget, trust_fingerprint: str | None = None) -> ProbeResult:
        """Connect to a server and list its GPUs, without storing anything.

        An unknown host key raises ``HostKeyUnknownError`` carrying the fingerprint; ask the
        person, then call again with ``trust_fingerprint`` set to it (``HostKeyNotPinnedError``:
        only a lab manager may, so do not ask).
        """
        if trust_fingerprint:
            self.pool.trust_host_key(target, trust_fingerprint)
        return self._probe(target)

    def register_server(self, name: str, target: SshTarget, result: ProbeResult) -> RegisterReport:
        """Store a discovered server and its GPUs (again: update, noticing replaced GPUs).

        In the lab-database shape a manager also pins the server's host key: the key of the
        pooled connection discovery used (verified when it was opened), whether that
        connection was opened by this discovery or was already open.
        """
        name = name.strip()
        if not name:
            raise LabgpuError(_("a server needs a name; leave it empty to use the host name"))
        pins = self._lab_pins()
        pin = pins is not None and pins.active() and pins.may_pin()
        key = self.pool.host_key(target, timeout=PROBE_TIMEOUT_S) if pin else None
        server, report = self.store.register_server(name, target, result.gpus, self.user)
        if pins is not None and key is not None:
            pins.pin_server(name, key)
        self.store.store_probe(name, result)
        return RegisterReport(
            server=server,
            gpus=len(result.gpus),
            added=report.added,
            updated=report.updated,
            retired=report.retired,
        )

    def add_server(
        self, target: SshTarget, name: str | None = None, trust_fingerprint: str | None = None
    ) -> tuple[ProbeResult, RegisterReport]:
        """Discover and register in one go (``labgpu servers add``)."""
        try:
            result = self.discover(target, trust_fingerprint)
        except HostKeyChangedError as exc:  # name the registered server's real command
            known = self.store.get_server((name or target.host).strip())
            if known is None:
                raise
            raise exc.for_server(known.name) from exc
        return result, self.register_server(name or target.host, target, result)

    def add_server_unprobed(self, target: SshTarget, name: str | None = None) -> Server:
        """Register a server without connecting (``servers add --no-probe``: it may be down
        now); its GPUs are registered by the first sweep that reaches it."""
        name = (name or target.host).strip()
        if not name:
            raise LabgpuError(_("a server needs a name; leave it empty to use the host name"))
        return self.store.upsert_server(name, target, self.user)

    def list_servers(self) -> list[Server]:
        """Every registered server with its last known state."""
        return self.store.list_servers()

    def remove_server(self, name: str) -> None:
        """Forget a server, its GPUs and their history."""
        self.store.remove_server(name, self.user)

    def forget_host_key(self, name: str) -> int:
        """Forget the known host key of a registered server; returns how many were removed.

        In the lab-database shape the pinned key is deleted (a manager only; audited), and
        this account's own copy in labgpu's known_hosts with it.
        """
        server = self.store.get_server(name)
        if server is None:
            raise LabgpuError(
                _("no server named {name}; see `labgpu servers list`").format(name=repr(name))
            )
        if self.pins_host_keys():
            removed = self.store.host_keys.forget(name, self.user)
            self.pool.forget_host_key(server.target)
            return removed
        removed = self.pool.forget_host_key(server.target)
        self.store.audit(self.user, "server.forget_key", name, f"{removed} key(s)")
        return removed

    def has_servers(self) -> bool:
        """False on a fresh database (the app then shows its welcome screen)."""
        return self.store.has_servers()

    # -- monitoring -------------------------------------------------------------------------

    def _probe(self, target: SshTarget) -> ProbeResult:
        from labgpu.remote import probe

        try:
            return probe(self.pool, target, timeout=PROBE_TIMEOUT_S)
        except AuthFailedError:
            # The pool refuses to retry a failed login by itself; a lab server with key
            # auth may be fixed (authorized_keys) meanwhile, so the next sweep (after the
            # collector's back-off) tries afresh.
            self.pool.close(target)
            raise

    def make_collector(self, interval_s: float = 5.0) -> Collector:
        """A collector over this lab's servers (not started); it also runs the idle rule."""
        return Collector(self.store, self._probe, interval_s, housekeeping=self._housekeeping)

    def _housekeeping(self) -> list[str]:
        """The collector's minute job: usage rollups (and retention), then the idle rule."""
        try:
            self.usage.housekeep()
        except LabgpuError as exc:  # the idle rule still runs
            log.warning("usage rollup: %s", exc)
        return self._auto_release()

    def _auto_release(self) -> list[str]:
        # One releaser per lab object, so a warning is remembered between sweeps.
        with self._lock:
            if self._releaser is None:
                from labgpu.services.booking.reality import AutoReleaser

                self._releaser = AutoReleaser(self.booking_service)
            releaser = self._releaser
        return releaser.run()

    def sweep(self) -> list[SweepOutcome]:
        """Probe every server once, in parallel, and store the results."""
        collector = self.make_collector()
        try:
            return collector.sweep_once(timeout_s=PROBE_TIMEOUT_S * 3)
        finally:
            collector.stop()

    def status(self, probe_first: bool = False) -> list[GpuStatus]:
        """Every GPU with its latest reading; ``probe_first`` sweeps the servers before."""
        if probe_first:
            self.sweep()
        return self.store.latest_status()

    def start_collector(self, interval_s: float = 5.0) -> None:
        """Run the collector on a background thread (single-seat mode)."""
        with self._lock:
            if self._collector is None:
                self._collector = self.make_collector(interval_s)
                self._collector.start()

    def stop_collector(self) -> None:
        """Stop the background collector if it runs."""
        with self._lock:
            collector, self._collector = self._collector, None
        if collector is not None:
            collector.stop()

    # -- usage (issue 6; the work is in services/usage.py) ----------------------------------

    @property
    def usage(self) -> UsageService:
        """Usage history: rollups, retention, and the PI's graphs and reports."""
        with self._lock:
            if self._usage is None:
                from labgpu.services.usage.service import UsageService

                self._usage = UsageService(self.store)
            return self._usage

    # -- offload (issue 5; the work is in services/offload.py) ------------------------------

    @property
    def offload(self) -> OffloadService:
        """Clusters and offloaded jobs, as this user, over this app's SSH pool (one login per
        cluster per session)."""
        with self._lock:
            if self._offload is None:
                from labgpu.services.offload.service import OffloadService

                self._offload = OffloadService(self.store, self.pool, self.user)
            return self._offload

    # -- bookings (issue 3; the work is in services/booking.py) -----------------------------

    @property
    def booking_service(self) -> BookingService:
        """The booking use cases over this lab's store, as this user."""
        with self._lock:
            if self._bookings is None:
                self._bookings = BookingService(self.store, self.user)
            return self._bookings

    def can_approve(self) -> bool:
        """True if this user may approve or reject pending requests (single-seat: yes)."""
        if self.is_single_seat:
            return self.booking_service.can_approve()
        return self.role() in ("pi", "manager")

    def can_manage(self) -> bool:
        """True if this user may edit rules, maintenance and bookable GPUs (single-seat: yes)."""
        if self.is_single_seat:
            return self.booking_service.can_manage()
        return self.role() == "manager"

    # -- lab database: roles and members (issue 4; the work is in services/lab.py) -----------

    def init_lab(self) -> None:
        """Set up a PostgreSQL lab database (run as its administrator): schema, roles, RLS."""
        from labgpu.services.members.labdb import init_lab

        init_lab(self.store)

    def role(self) -> str:
        """ "student", "pi", "manager" or "collector" (single seat: "manager")."""
        return self.store.lab.role()

    def must_change_password(self) -> bool:
        """True while this login still has its one-time password (lab database only)."""
        return self.store.lab.must_change_password()

    def change_password(self, new_password: str) -> None:
        """Set this login's own password, replacing the one-time password.

        Later connections use the new password: the pooled ones keep working, but a reconnect
        with the old one would fail once the one-time password expires.
        """
        from labgpu.services.members.credentials import parse_lab_url

        self.store.lab.change_password(new_password)
        connection, _old = parse_lab_url(self.db_url)
        with self._lock:
            self.db_url = connection.url(new_password)
            if self._store is not None:
                self._store.close()
                self._store = None
            self._bookings = None
            self._usage = None
            self._releaser = None

    def add_member(self, name: str, role: str) -> str:
        """Create a member's login in ``role``; returns the one-time password (show it once)."""
        from labgpu.services.members.labdb import require_role

        return self.store.lab.add_member(name.strip(), require_role(role))

    def list_members(self) -> list[Member]:
        """Every member of the lab database with their role."""
        return self.store.lab.list_members()

    def set_member_role(self, name: str, role: str) -> None:
        """Move a member to another role."""
        from labgpu.services.members.labdb import require_role

        self.store.lab.set_member_role(name, require_role(role))

    def remove_member(self, name: str) -> None:
        """Drop a member's login; their bookings and audit lines stay."""
        self.store.lab.remove_member(name)

    def rules(self) -> BookingRules:
        """The lab's booking rules."""
        return self.booking_service.rules()

    def set_rules(self, rules: BookingRules) -> None:
        """Save the booking rules (audited; existing bookings are kept)."""
        self.booking_service.set_rules(rules)

    def holders_now(self) -> dict[str, BookingView]:
        """GPU uuid → the live booking holding it at this moment (``status`` "booked by")."""
        now = datetime.now(UTC)
        uuids = {g.id: g.uuid for g in self.store.list_gpus()}
        return {
            uuids[b.gpu_id]: b
            for b in self.bookings(now, now + timedelta(seconds=1))
            if b.status in LIVE_STATUSES and b.gpu_id in uuids
        }

    def bookings(
        self, start: datetime | None = None, end: datetime | None = None, mine: bool = False
    ) -> list[BookingView]:
        """Bookings overlapping ``[start, end)``, every status, by start then GPU."""
        return self.booking_service.bookings(start, end, mine)

    def book(
        self, gpu_ids: Sequence[int], start: datetime, end: datetime, note: str = ""
    ) -> BookingGroupView:
        """Book GPUs over ``[start, end)``; refusals raise ``RefusedError`` subclasses."""
        return self.booking_service.book(gpu_ids, start, end, note)

    def check_booking(self, gpu_ids: Sequence[int], start: datetime, end: datetime) -> None:
        """Dry run of ``book``: raises the same refusals, writes nothing."""
        self.booking_service.check(gpu_ids, start, end)

    def find_slots(
        self,
        model: str | None,
        count: int,
        duration: timedelta,
        *,
        min_memory_mb: int | None = None,
        after: datetime | None = None,
        deadline: datetime | None = None,
        same_server: bool = False,
    ) -> list[SlotOption]:
        """The earliest feasible windows (alternatives), booking nothing."""
        return self.booking_service.find_slots(
            model,
            count,
            duration,
            min_memory_mb=min_memory_mb,
            after=after,
            deadline=deadline,
            same_server=same_server,
        )

    def book_earliest(
        self,
        model: str | None,
        count: int,
        duration: timedelta,
        *,
        same_server: bool = False,
        after: datetime | None = None,
        note: str = "",
    ) -> BookingGroupView:
        """Book the earliest feasible slot."""
        return self.booking_service.book_earliest(
            model, count, duration, same_server=same_server, after=after, note=note
        )

    def book_model(
        self,
        model: str | None,
        count: int,
        start: datetime,
        end: datetime,
        *,
        same_server: bool = False,
        note: str = "",
    ) -> BookingGroupView:
        """Book ``count`` GPUs of ``model`` that are free over exactly ``[start, end)``."""
        return self.booking_service.book_model(
            model, count, start, end, same_server=same_server, note=note
        )

    def cancel(self, group_id: str) -> None:
        """Cancel a booking group (or end it now if it has started)."""
        self.booking_service.cancel(group_id)

    def end_early(self, group_id: str) -> None:
        """Release an active booking now."""
        self.booking_service.end_early(group_id)

    def extend(self, group_id: str, new_end: datetime) -> None:
        """Move a booking's end later, if free and within the rules."""
        self.booking_service.extend(group_id, new_end)

    def approve(self, group_id: str) -> None:
        """Approve a pending request."""
        self.booking_service.approve(group_id)

    def reject(self, group_id: str, reason: str) -> None:
        """Reject a pending request with a reason."""
        self.booking_service.reject(group_id, reason)

    def pending_approvals(self) -> list[BookingGroupView]:
        """Requests waiting for approval."""
        return self.booking_service.pending_approvals()

    def maintenance(
        self, start: datetime | None = None, end: datetime | None = None
    ) -> list[Maintenance]:
        """Maintenance windows overlapping ``[start, end)``."""
        return self.booking_service.maintenance(start, end)

    def add_maintenance(
        self, gpu_ids: Sequence[int], start: datetime, end: datetime, reason: str
    ) -> Maintenance:
        """Block GPUs for maintenance."""
        return self.booking_service.add_maintenance(gpu_ids, start, end, reason)

    def remove_maintenance(self, maintenance_id: int) -> None:
        """Delete a maintenance window."""
        self.booking_service.remove_maintenance(maintenance_id)

    def set_gpu_bookable(self, gpu_id: int, bookable: bool) -> None:
        """Make a GPU bookable or first-come."""
        self.booking_service.set_gpu_bookable(gpu_id, bookable)

    def list_gpus(self) -> list[Gpu]:
        """Every current GPU (with its id and whether it is bookable)."""
        return self.store.list_gpus()

    def reality(self, now: datetime | None = None) -> RealityReport:
        """Unbooked use and booked-but-idle GPUs, from the latest monitoring data."""
        from labgpu.services.booking.reality import check_reality

        return check_reality(self.booking_service, now)

    def export_ics(
        self,
        path: Path,
        mine: bool,
        start: datetime | None = None,
        end: datetime | None = None,
        reminder_lead: timedelta | None = None,
    ) -> int:
        """Write the bookings (mine or the lab's) to an .ics file; returns the event count.

        The lab's bookings from the current week on unless ``start`` is given; alarms
        ``reminder_lead`` before each start (the default lead if None)."""
        from labgpu.services.booking.calendar_export import DEFAULT_REMINDER_LEAD, export_ics

        lead = DEFAULT_REMINDER_LEAD if reminder_lead is None else reminder_lead
        return export_ics(self.booking_service, Path(path), mine, start, end, lead)

    def upcoming_reminders(self, now: datetime, lead: timedelta) -> list[Reminder]:
        """This user's bookings starting or ending within ``lead``, and idle-release warnings."""
        from labgpu.services.booking.reality import release_reminders

        reminders = self.booking_service.upcoming_reminders(now, lead)
        reminders += release_reminders(self.booking_service, now, lead)
        return sorted(reminders, key=lambda r: (r.at, r.group_id))
