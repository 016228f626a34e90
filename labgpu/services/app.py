"""The lab as one object, the composition root the desktop app and the CLI use (one per
process; ``labgpu.launch.open_lab`` opens it).

A ``Labgpu`` holds the lab's parts, each named by its noun: ``inventory`` (servers, GPUs,
probes, the collector), ``bookings``, ``rules``, ``members``, ``offload`` and ``usage``. Its
``Setup`` makes them, on first use (no SQLAlchemy or paramiko at import), and ``_drop_parts``
drops them all whenever what they were made for changes: another login signs in, a new
password, ``close``, the demo generated again. The demo is a ``Setup`` of its
own; nothing here asks whether the lab is the demo.

Every part's method may block on SQL or SSH; the GUI calls them from worker threads only. The
parts are thread-safe: the store opens one short session per call and the SSH pool keeps one
transport per host behind a per-host lock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from labgpu.core.errors import LabgpuError
from labgpu.core.i18n import N_, _
from labgpu.services.members.identity import current_user
from labgpu.services.platform import paths

if TYPE_CHECKING:  # SQLAlchemy, Alembic and paramiko load on first use, off the GUI's start
    from labgpu.remote import SshPool
    from labgpu.services.booking.intruders import IntruderWatch
    from labgpu.services.booking.policy import RulesService
    from labgpu.services.booking.reality import AutoReleaser
    from labgpu.services.booking.run import RunService
    from labgpu.services.booking.service import BookingService
    from labgpu.services.inventory.host_keys import LabHostKeys
    from labgpu.services.inventory.servers import InventoryService
    from labgpu.services.members.service import MembersService
    from labgpu.services.notify.member import NotifyService
    from labgpu.services.notify.watch import NotifyWatch
    from labgpu.services.offload.service import OffloadService
    from labgpu.services.usage.projects import ProjectsService
    from labgpu.services.usage.service import UsageService
    from labgpu.storage import Store

log = logging.getLogger(__name__)

P = TypeVar("P")

#: Told which step a long ``open`` has begun (the demo's build: each of its steps), with its
#: number and how many there are, on ``open``'s thread.
Progress = Callable[[str, int, int], None]


class Setup:
    """How a lab's parts are made: this one's are the real lab's (a database at a URL, servers
    and clusters over SSH). The demo brings its own (a generated database, a simulated
    feed and cluster), through the same methods."""

    #: What the lab is called where its database's name would say nothing (None: the
    #: database names it).
    title: str | None = None
    #: True when the lab's servers are simulated: nothing to connect to or add.
    simulated = False

    def database_url(self, given: str | None) -> str:
        """The database to open: ``given``, else the configured one; a lab database with the
        member's remembered password."""
        url = paths.resolve_database_url(given)
        if not url.startswith("sqlite"):
            from labgpu.services.members.credentials import with_remembered_password

            url = with_remembered_password(url)
        return url

    def user(self) -> str:
        """Who uses labgpu before the database says (a lab database: its login)."""
        return current_user()

    def will_prepare(self) -> bool:
        """True if ``prepare`` will take seconds, not a blink (the window then says so)."""
        return False

    def prepare(self, progress: Progress | None, rebuild: bool) -> str | None:
        """Make the database ready before its schema is checked; returns its URL if it was
        (re)built, else None. ``rebuild``: generate it again (only a generated lab can)."""
        if rebuild:
            raise LabgpuError(_("only the demo lab can be generated again"))
        return None

    def role(self, lab: Labgpu) -> Callable[[], str] | None:
        """The signed-in member's role, if not the database's to say (None: it is)."""
        return None

    def check_member(self, name: str) -> None:
        """Refuse to act as ``name``: in a real lab the database says who is signed in."""
        raise LabgpuError(_("only the demo lab can be shown as another member"))

    def inventory(self, lab: Labgpu) -> InventoryService:
        """Servers and GPUs over SSH."""
        from labgpu.services.inventory.servers import InventoryService

        return InventoryService(
            lab.store, lambda: lab.pool, lab.user, lab.host_key_pins(), lab.housekeeping
        )

    def offload(self, lab: Labgpu) -> OffloadService:
        """Clusters and offloaded jobs over this lab's SSH pool (one login per cluster)."""
        from labgpu.services.offload.service import OffloadService

        return OffloadService(lab.store, lab.pool, lab.user)

    def runs(self, lab: Labgpu) -> RunService:
        """Jobs on the member's bookings, over their own SSH login to the booked server."""
        from labgpu.services.booking.run import RunService

        return RunService(lab.store, lambda: lab.pool, lab.bookings)

    def usage(self, lab: Labgpu) -> UsageService:
        """Usage history: rollups, retention, and the PI's graphs and reports."""
        from labgpu.services.usage.service import UsageService

        return UsageService(lab.store)

    def projects(self, lab: Labgpu) -> ProjectsService:
        """The lab's projects and grants, as the member whose bookings name them."""
        from labgpu.services.usage.projects import ProjectsService

        return ProjectsService(lab.bookings)

    def notify(self, lab: Labgpu) -> NotifyService:
        """The member's notification settings, test message and kept messages."""
        from labgpu.services.notify.member import NotifyService

        return NotifyService(lab.store, lab.user)


class Labgpu:
    """One lab, opened from one database URL, seen by one member."""

    def __init__(self, db_url: str | None = None, *, setup: Setup | None = None) -> None:
        self.setup = setup or Setup()
        self.db_url = self.setup.database_url(db_url)
        self.user = self.setup.user()
        self._store: Store | None = None
        self._pool: SshPool | None = None
        self._parts: dict[str, Any] = {}
        self._lock = threading.RLock()
        self._closed = False
        #: Told what ``open`` is doing when it takes long (see ``Progress``).
        self.progress: Progress | None = None
        #: The CLI's: SSH goes first through the cluster logins the member's agent holds
        #: (``services/offload/agent.py``); the desktop app keeps its logins in its process.
        self.relay_logins = False

    @property
    def title(self) -> str | None:
        """What the lab is called to people where its database's name would say nothing."""
        return self.setup.title

    def will_prepare(self) -> bool:
        """True if ``open`` will take seconds, not a blink (the demo's first start builds it)."""
        return self.setup.will_prepare()

    @property
    def is_single_seat(self) -> bool:
        """True for the embedded SQLite shape, where the app runs the collector itself."""
        return self.db_url.startswith("sqlite")

    # -- the parts --------------------------------------------------------------------------

    @property
    def inventory(self) -> InventoryService:
        """Servers, GPUs, probes and the collector."""
        return self._part("inventory", lambda: self.setup.inventory(self))

    @property
    def bookings(self) -> BookingService:
        """Booking, slot search, changes, approvals, reminders, reality checks."""
        from labgpu.services.booking.service import BookingService

        return self._part(
            "bookings", lambda: BookingService(self.store, self.user, role=self.setup.role(self))
        )

    @property
    def rules(self) -> RulesService:
        """The booking rules, maintenance windows and bookable GPUs."""
        from labgpu.services.booking.policy import RulesService

        return self._part("rules", lambda: RulesService(self.bookings))

    @property
    def members(self) -> MembersService:
        """Who is signed in, their role, and the lab database's members."""
        from labgpu.services.members.service import MembersService

        return self._part("members", lambda: MembersService(self.store, self.setup.role(self)))

    @property
    def offload(self) -> OffloadService:
        """Clusters and offloaded jobs, as this member."""
        return self._part("offload", lambda: self.setup.offload(self))

    @property
    def runs(self) -> RunService:
        """Jobs run on this member's bookings, on the lab's own servers."""
        return self._part("runs", lambda: self.setup.runs(self))

    @property
    def usage(self) -> UsageService:
        """Usage history: rollups, retention, and the PI's graphs and reports."""
        return self._part("usage", lambda: self.setup.usage(self))

    @property
    def projects(self) -> ProjectsService:
        """The lab's projects and grants (managers change the list)."""
        return self._part("projects", lambda: self.setup.projects(self))

    @property
    def notify(self) -> NotifyService:
        """This member's mail and chat notifications (issue 17)."""
        return self._part("notify", lambda: self.setup.notify(self))

    def _part(self, name: str, make: Callable[[], P]) -> P:
        """The part ``name``, made on first use."""
        with self._lock:
            if name not in self._parts:
                self._parts[name] = make()  # after ``close``, the store refuses
            return cast(P, self._parts[name])

    def _drop_parts(self) -> None:
        """Forget every part (the one place they are dropped); a running collector stops.

        Called when what they were made for changes; tasks still holding one finish on it.
        """
        with self._lock:
            inventory = self._parts.get("inventory")
        if inventory is not None:  # its housekeeping in flight still uses the other parts
            inventory.stop_collector()
        with self._lock:
            self._parts = {}

    # -- what the parts share ---------------------------------------------------------------

    @property
    def store(self) -> Store:
        """The database, created on first use (no engine at import time)."""
        with self._lock:
            if self._store is None:
                self._refuse_if_closed(N_("database"))  # a late worker must not reopen (leak) it
                from labgpu.storage import Store

                self._store = Store(self.db_url)
            return self._store

    @property
    def pool(self) -> SshPool:
        """The SSH connections, one persistent transport per host."""
        with self._lock:
            if self._pool is None:
                self._refuse_if_closed(N_("SSH connections"))
                from labgpu.remote import SshPool

                if self.relay_logins:
                    from labgpu.services.offload.agent import relay_pool

                    self._pool = relay_pool(self.host_key_pins())
                else:
                    self._pool = SshPool(
                        known_hosts=paths.known_hosts_path(),
                        ssh_config=paths.ssh_config_path(),
                        pins=self.host_key_pins(),
                    )
            return self._pool

    def host_key_pins(self) -> LabHostKeys | None:
        """The lab database's pinned host keys (never for SQLite: known_hosts only)."""
        if self.is_single_seat:
            return None
        return self._part("pins", self._new_pins)

    def _new_pins(self) -> LabHostKeys:
        from labgpu.services.inventory.host_keys import LabHostKeys

        return LabHostKeys(self._open_store, lambda: self.user)

    def _open_store(self) -> Store:
        """The store, without taking the lock while it is open: a connect reads the pinned
        keys holding its host's lock, which ``close`` waits for while holding ours."""
        store = self._store
        return store if store is not None else self.store

    def housekeeping(self) -> list[str]:
        """The collector's minute job: usage rollups (and retention), then the idle rule and the
        intruder rule; returns the groups the idle rule released."""
        try:
            self.usage.housekeep()
        except LabgpuError as exc:  # the idle rule still runs
            log.warning("usage rollup: %s", exc)
        # One releaser per lab, so a warning is remembered between sweeps.
        released = self._part("releaser", self._new_releaser).run()
        try:  # one watch per lab, so an intrusion is acted on once
            acted = self._part("intruders", self._new_intruder_watch).run()
        except LabgpuError as exc:
            log.warning("intruder rule: %s", exc)
            acted = []
        for line in acted:
            log.info("intruder rule: %s", line)
        try:  # one watch per lab: it remembers which channels are failing (issue 17)
            self._part("notify_watch", self._new_notify_watch).run()
        except LabgpuError as exc:
            log.warning("notifications: %s", exc)
        return released

    def _new_notify_watch(self) -> NotifyWatch:
        from labgpu.services.notify.watch import NotifyWatch

        return NotifyWatch(self.store)

    def _new_intruder_watch(self) -> IntruderWatch:
        from labgpu.services.booking.intruders import IntruderWatch

        return IntruderWatch(self.bookings, lambda: self.pool)

    def _new_releaser(self) -> AutoReleaser:
        from labgpu.services.booking.reality import AutoReleaser

        return AutoReleaser(self.bookings)

    # -- lifecycle --------------------------------------------------------------------------

    def _refuse_if_closed(self, what: str) -> None:
        if self._closed:
            raise LabgpuError(
                _("labgpu was closed; open the lab again to use its {what}").format(what=_(what))
            )

    def open(self) -> None:
        """Prepare the database (the demo builds it), bring it to the current schema, and
        refuse one newer than this program.

        In a lab database (``labgpu lab init``) the member is the PostgreSQL login
        (``current_user``), never a name the client supplies.
        """
        with self._lock:
            self._closed = False
        self._prepare(rebuild=False)
        self.store.upgrade()
        if not self.is_single_seat and self.store.lab.is_lab():
            user = self.store.lab.current_user()
            if user != self.user:
                self._switch(user=user)

    def reset(self) -> None:
        """Generate the lab again and go on (the demo: its changes are thrown away)."""
        running = "inventory" in self._parts and self.inventory.collecting()
        self._prepare(rebuild=True)
        self.store.upgrade()
        if running:
            self.inventory.start_collector()

    def _prepare(self, rebuild: bool) -> None:
        url = self.setup.prepare(self.progress, rebuild)
        if url is not None:  # (re)built: nothing made from the old one may be used
            self._switch(url=url)

    def act_as(self, member: str) -> None:
        """Show the lab as another of its members (the demo only; the screenshots pick one
        whose offloaded jobs are in the most states)."""
        self.setup.check_member(member)
        self._switch(user=member)

    def sign_in(self, password: str) -> None:
        """Use ``password`` for this lab database's login from now on (a sign-in after a
        refused or missing password)."""
        from labgpu.services.members.credentials import parse_lab_url

        connection, _old = parse_lab_url(self.db_url)
        self._switch(url=connection.url(password))

    def change_password(self, new_password: str) -> None:
        """Set this login's own password, replacing the one-time password.

        Later connections use the new password: the pooled ones keep working, but a reconnect
        with the old one would fail once the one-time password expires.
        """
        self.store.lab.change_password(new_password)
        self.sign_in(new_password)

    def _switch(self, *, url: str | None = None, user: str | None = None) -> None:
        """Point the lab at another database URL or member: its parts are dropped (the one
        place), the old store closed once a new URL is set."""
        self._drop_parts()
        with self._lock:
            if user is not None:
                self.user = user
            old = None
            if url is not None:
                old, self._store = self._store, None
                self.db_url = url
        if old is not None:
            old.close()

    def close(self) -> None:
        """Stop the collector, close SSH connections and the database."""
        with self._lock:
            inventory = self._parts.get("inventory")
        if inventory is not None:
            inventory.request_stop()  # what probes in flight still see is not stored
        with self._lock:
            self._closed = True
            pool = self._pool
        if pool is not None:
            pool.close_all()  # probes in flight fail at once
        self._drop_parts()  # waits for them: the database must not close under them
        with self._lock:
            if self._pool is not None:
                self._pool.close_all()  # and whatever a probe reconnected meanwhile
                self._pool = None
            if self._store is not None:
                self._store.close()
                self._store = None
