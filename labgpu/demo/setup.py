"""The demo lab's parts, made through the lab's own ``Setup`` interface: its database is
generated (``labgpu.demo.lab``), its servers' readings come from the simulated feed, its
cluster is simulated, and its members' roles are the model's — enforced as the lab database
enforces them.

``demo_lab()`` is a ``Labgpu`` like any other; nothing outside this package asks whether a lab
is the demo.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from labgpu.core.errors import LabgpuError, RefusedError
from labgpu.core.i18n import N_, _
from labgpu.core.inventory.servers import ProbeResult, ServerState, SshTarget
from labgpu.demo import lab as demo_build
from labgpu.demo.feed import SimulatedFeed
from labgpu.demo.lab import (
    BUILD_STEPS,
    DB_NAME,
    INFO_NAME,
    DemoInfo,
    demo_dir,
    reusable,
    sqlite_url,
)
from labgpu.demo.model import DEFAULT_SEED, DEMO_USER, DemoLab, reference_members, servers_of
from labgpu.demo.offload import DemoOffloadService
from labgpu.services.app import Labgpu, Progress, Setup
from labgpu.services.inventory.collector import Collector, SweepOutcome
from labgpu.services.inventory.servers import InventoryService
from labgpu.services.members.identity import current_user

if TYPE_CHECKING:
    from labgpu.services.booking.run import RunService
    from labgpu.services.offload.service import OffloadService
    from labgpu.services.usage.service import UsageService

log = logging.getLogger(__name__)

_NO_SERVERS = (
    "the demo lab's servers are simulated and cannot be probed or added to; start labgpu "
    "without --demo to work with your own lab"
)


def demo_lab(folder: Path | None = None, seed: int = DEFAULT_SEED, rebuild: bool = False) -> Labgpu:
    """The demo lab (not opened yet: ``open`` builds or reuses its database).

    ``rebuild``: throw an existing demo database away when ``open`` is called."""
    return Labgpu(setup=DemoSetup(folder, seed, rebuild))


def demo_user() -> str:
    """``LABGPU_USER`` if it names a member of the demo lab, else the demo's student (a
    student's *My bookings* is the fullest).

    The demo acts as the lab database would for that member's role: a student books and
    changes their own bookings only; a PI also decides on requests; the manager does all.
    """
    wanted = current_user()
    return wanted if any(m.name == wanted for m in reference_members()) else DEMO_USER


def role_of(member: str) -> str:
    """A demo member's role in the generated lab."""
    return next((m.role for m in reference_members() if m.name == member), "student")


class DemoSetup(Setup):
    """How the demo lab's parts are made: a generated SQLite database, the simulated feed
    instead of the SSH collector, the simulated cluster, the model's roles."""

    simulated = True

    def __init__(
        self, folder: Path | None = None, seed: int = DEFAULT_SEED, rebuild: bool = False
    ) -> None:
        self.folder = folder or demo_dir()
        self.seed = seed
        self._rebuild = rebuild
        #: The model the database was built from (known once the lab is open).
        self.lab: DemoLab | None = None
        self.built = False  # the last ``prepare`` built the database (not reused it)
        self.build_s = 0.0
        self._caught_up = False
        self._catch_up_lock = threading.Lock()

    @property
    def title(self) -> str:  # type: ignore[override]
        """The demo's name in reports and titles."""
        return _("Demo lab")

    def database_url(self, given: str | None) -> str:
        """The demo's own file (the one its JSON names); ``given`` is not used."""
        info = DemoInfo.read(self.folder / INFO_NAME)
        return sqlite_url(self.folder / (info.database if info else DB_NAME))

    def user(self) -> str:
        return demo_user()

    def will_prepare(self) -> bool:
        """True if ``prepare`` will build the demo database (first start, a demo too old or
        made by another generator, or a rebuild): seconds, not a blink. Reads one small file."""
        return self._rebuild or reusable(self.folder, self.seed, datetime.now(UTC)) is None

    def prepare(self, progress: Progress | None, rebuild: bool) -> str | None:
        """Build the demo database if needed (each of ``BUILD_STEPS`` told to ``progress``)."""
        started = time.perf_counter()
        step = None if progress is None else _numbered(progress)
        build = demo_build.ensure_demo(  # through the module: tests hold the build there
            self.folder, seed=self.seed, rebuild=rebuild or self._rebuild, progress=step
        )
        self._rebuild = False
        self.lab, self.built = build.lab, build.built
        self.build_s = time.perf_counter() - started
        self._caught_up = False
        log.info("demo lab %s in %.1f s", "built" if build.built else "reused", self.build_s)
        return sqlite_url(build.path)

    def role(self, lab: Labgpu) -> Callable[[], str]:
        """The demo member's role, enforced as the lab database enforces it."""
        return lambda: role_of(lab.user)

    def check_member(self, name: str) -> None:
        if not any(m.name == name for m in reference_members()):
            raise LabgpuError(f"{name!r} is not a member of the demo lab")

    def inventory(self, lab: Labgpu) -> InventoryService:
        return DemoInventory(lab, self._model())

    def offload(self, lab: Labgpu) -> OffloadService:
        """The demo's offloaded jobs, followed from the seeded plan; no cluster is asked."""
        return DemoOffloadService(lab.store, lab.pool, lab.user, self._model())

    def runs(self, lab: Labgpu) -> RunService:
        """Jobs on bookings: listed, but none is started (the demo's servers are simulated)."""
        service = super().runs(lab)
        service.simulated = _(
            "the demo lab's servers are simulated: nothing can run on them; Use… "
            "(`labgpu use ID`) shows what a booking in a real lab gives"
        )
        return service

    def usage(self, lab: Labgpu) -> UsageService:
        """Usage history; without the feed running (the CLI), the recent past is first filled
        and rolled up once, so reports reach up to now."""
        service = super().usage(lab)
        with self._catch_up_lock:  # a second reader waits for the first one's catch-up
            if not lab.inventory.collecting() and not self._caught_up:
                SimulatedFeed(lab.store, self._model()).backfill()
                service.rollup()
                self._caught_up = True
        return service

    def _model(self) -> DemoLab:
        if self.lab is None:
            raise LabgpuError("open the demo lab before reading it")
        return self.lab


def _numbered(progress: Progress) -> Callable[[str], None]:
    """A build's step names told to ``progress`` with their number and the count."""
    return lambda step: progress(step, BUILD_STEPS.index(step) + 1, len(BUILD_STEPS))


class DemoInventory(InventoryService):
    """The demo's servers: read from the simulated feed, never over SSH; changing them is the
    manager's, as in the lab database."""

    def __init__(self, lab: Labgpu, model: DemoLab) -> None:
        super().__init__(lab.store, lambda: lab.pool, lab.user, None, lab.housekeeping)
        self.role = lambda: role_of(lab.user)
        self.model = model
        self._feed: SimulatedFeed | None = None
        self._feed_lock = threading.Lock()

    @property
    def feed(self) -> SimulatedFeed | None:
        """The running simulated feed, if any."""
        return self._feed

    def remove_server(self, name: str) -> None:
        """Forget a simulated server: the manager only, as in the lab database."""
        self._require_manager()
        super().remove_server(name)

    def forget_host_key(self, name: str) -> int:
        """Forget a simulated server's host key: the manager only, as in the lab database."""
        self._require_manager()
        return super().forget_host_key(name)

    def _require_manager(self) -> None:
        if self.role() != "manager":
            raise RefusedError(
                _("permission denied: only a lab manager can {what}").format(
                    what=_(N_("change servers"))
                )
            )

    def discover(self, target: SshTarget, trust_fingerprint: str | None = None) -> ProbeResult:
        """Refused: the demo never connects to a server."""
        raise LabgpuError(_NO_SERVERS)

    def make_collector(self, interval_s: float = 5.0) -> Collector:
        """Refused: the demo lab has no servers to probe."""
        raise LabgpuError(_NO_SERVERS)

    def sweep(self) -> list[SweepOutcome]:
        """One reading of every simulated server now (``labgpu --demo status --probe``)."""
        feed = self._feed or SimulatedFeed(self.store, self.model)
        feed.backfill()
        feed.tick()
        return [SweepOutcome(name, ServerState.ONLINE, "", 4) for name in servers_of(self.model)]

    def start_collector(self, interval_s: float = 5.0) -> None:
        """Start the simulated feed (it first fills the time since the demo was last open)."""
        with self._feed_lock:
            if self._feed is not None:
                return
            self._feed = SimulatedFeed(
                self.store, self.model, interval_s, housekeeping=self._housekeeping
            )
        self._feed.start()

    def collecting(self) -> bool:
        return self._feed is not None

    def request_stop(self) -> None:
        """Nothing to tell: the feed stores only what it makes up itself."""

    def stop_collector(self) -> None:
        """Stop the simulated feed if it runs."""
        with self._feed_lock:
            feed, self._feed = self._feed, None
        if feed is not None:
            feed.stop()
