"""The demo lab: its own SQLite file, built from the seeded model, and a lab object over it.

``labgpu --demo`` opens a SQLite file in ``<data dir>/demo/`` (the one ``labgpu-demo.json``
names), never the user's database. It is built on first use, and again when the generator
changed, when it is older than ``MAX_AGE``, or on ``reset``. Everything is written through the
store and booking service the real app uses, so the booking rules and the no-double-booking
check accept every generated booking (a refusal is a bug of the model and stops the build).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from labgpu.core.booking.bookings import BookingStatus
from labgpu.core.booking.rules import BookingRules
from labgpu.core.inventory.servers import (
    Gpu,
    GpuReading,
    LabUser,
    SshTarget,
)
from labgpu.core.usage.figures import SlotRequest as Unmet
from labgpu.core.usage.figures import UsageBucket, UserSeconds
from labgpu.core.usage.projects import Project
from labgpu.demo.feed import (
    BUILD_HISTORY,
    HISTORY_WINDOW,
    write_history,
)
from labgpu.demo.model import (
    A40,
    A4000,
    DEFAULT_SEED,
    GENERATOR_VERSION,
    SAMPLES_PER_HOUR,
    DemoLab,
    JobKind,
    booked_jobs,
    generate_lab,
    hour_usage,
    servers_of,
)
from labgpu.demo.offload import write_offloaded_jobs
from labgpu.demo.reference import PROJECTS, cancelled_at, decided_at
from labgpu.demo.requests import booking_requests
from labgpu.services.booking.policy import RulesService
from labgpu.services.booking.service import BookingService
from labgpu.services.platform import paths

if TYPE_CHECKING:
    from labgpu.storage import Store

log = logging.getLogger(__name__)

Gpus = dict[int, Gpu]
DB_NAME = "labgpu-demo.db"  # before the first build; every build gets a name of its own
INFO_NAME = "labgpu-demo.json"
#: A demo older than this is rebuilt, so "now" stays inside its bookings.
MAX_AGE = timedelta(days=3)
#: The lab's default rules, spelled out: the model plans every booking within them.
DEMO_RULES = BookingRules(
    max_hours=72.0,
    horizon_days=14.0,
    max_gpus_at_once=4,
    approval_models=("A40",),
    model_weights=(("A40", 3.0),),
)
#: What a build is doing, in order, as ``build_database`` reports it to ``progress``: members,
#: projects, prices, servers, rules and maintenance; the bookings through the booking service;
#: the offloaded jobs; the usage history; the slot requests and the last samples.
BUILD_STEPS = ("members", "bookings", "offloaded", "usage", "samples")
#: A build's progress: called with each of ``BUILD_STEPS`` as it begins, on the building thread.
Progress = Callable[[str], None]
#: Example prices (USD), round figures of the kind a PI would look up, not quotes: a cloud
#: GPU-hour, the national cluster's rate per GPU-hour, and one GPU bought with its share of a
#: server.
DEMO_PRICES: dict[str, dict[str, float]] = {
    A4000: {"cloud_per_gpu_h": 0.76, "cluster_per_gpu_h": 0.35, "purchase_per_gpu": 2500.0},
    A40: {"cloud_per_gpu_h": 1.30, "cluster_per_gpu_h": 0.80, "purchase_per_gpu": 9000.0},
}
REJECTIONS = (
    "the A40s are kept for the deadline runs this week",
    "please try on two A4000s first",
    "too long for the A40s; split it into shorter runs",
)


def demo_dir() -> Path:
    """``<data dir>/demo``: the demo's own folder, apart from the user's database."""
    path = paths.data_dir() / "demo"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def sqlite_url(path: Path) -> str:
    """The URL of the SQLite file at ``path``."""
    return f"sqlite:///{path.as_posix()}"


@dataclass(frozen=True, slots=True)
class DemoInfo:
    """What the current demo database is (its file name in the folder) and was built from.

    Kept beside it as JSON, written last: a build that stops half-way is never used.
    """

    generator: int
    seed: int
    now: datetime
    database: str = DB_NAME

    def write(self, path: Path) -> None:
        raw = {
            "generator": self.generator,
            "seed": self.seed,
            "now": self.now.isoformat(),
            "database": self.database,
        }
        partial = path.with_name(path.name + ".partial")
        partial.write_text(json.dumps(raw), encoding="utf-8")
        os.replace(partial, path)

    @staticmethod
    def read(path: Path) -> DemoInfo | None:
        """The info at ``path``, or ``None`` if absent or unreadable."""
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            now = datetime.fromisoformat(raw["now"])
            database = Path(str(raw.get("database", DB_NAME))).name  # never outside the folder
            return DemoInfo(int(raw["generator"]), int(raw["seed"]), now, database)
        except (OSError, ValueError, KeyError, TypeError):
            return None


@dataclass(frozen=True, slots=True)
class DemoBuild:
    """A demo database ready to open: its file, its lab, and whether it was just built."""

    path: Path
    lab: DemoLab
    built: bool

    @property
    def url(self) -> str:
        return sqlite_url(self.path)


def is_current(info: DemoInfo | None, seed: int, now: datetime) -> bool:
    """True if a demo built as ``info`` may be reused at ``now``."""
    return (
        info is not None
        and info.generator == GENERATOR_VERSION
        and info.seed == seed
        and timedelta(0) <= now - info.now < MAX_AGE
    )


def reusable(folder: Path, seed: int, now: datetime) -> DemoInfo | None:
    """The info of the demo database in ``folder`` if it may be reused at ``now``, else ``None``
    (``ensure_demo`` would build one: it reads one small JSON file, nothing else)."""
    info = DemoInfo.read(folder / INFO_NAME)
    if info is not None and (folder / info.database).exists() and is_current(info, seed, now):
        return info
    return None


# -- building -------------------------------------------------------------------------------


def ensure_demo(
    folder: Path | None = None,
    *,
    seed: int = DEFAULT_SEED,
    now: datetime | None = None,
    rebuild: bool = False,
    progress: Progress | None = None,
) -> DemoBuild:
    """Make sure ``folder`` holds a current demo database (build one if not) and return it.

    A rebuild writes a *new* file and then points the JSON at it, so a window still reading
    the previous file (a refresh in flight during *Reset demo*) never sees it replaced or
    deleted under it; earlier files are removed when nothing holds them any more. A build
    reports its ``BUILD_STEPS`` to ``progress``.
    """
    folder = folder or demo_dir()
    now = now or datetime.now(UTC)
    info = None if rebuild else reusable(folder, seed, now)
    if info is not None:
        return DemoBuild(folder / info.database, generate_lab(info.seed, info.now), False)
    lab = generate_lab(seed, now)
    path = _new_database_path(folder, lab.now)
    name = path.name
    build_database(sqlite_url(path), lab, progress=progress)
    DemoInfo(GENERATOR_VERSION, seed, lab.now, name).write(folder / INFO_NAME)
    remove_old_databases(folder, keep=name)
    return DemoBuild(path, lab, True)


def _new_database_path(folder: Path, now: datetime) -> Path:
    """A file name of its own (two demo windows starting at once never build into one file)."""
    stem = f"labgpu-demo-{now:%Y%m%d-%H%M}-{os.getpid()}"
    path, n = folder / f"{stem}.db", 1
    while any(Path(f"{path}{suffix}").exists() for suffix in ("", "-wal", "-journal")):
        n += 1
        path = folder / f"{stem}-{n}.db"
    return path


def remove_old_databases(folder: Path, keep: str) -> None:
    """Delete demo database files other than ``keep`` (those still open stay until next time)."""
    for path in folder.glob("labgpu-demo*.db"):
        if path.name != keep:
            try:
                _remove_database(path)
            except OSError:  # open elsewhere (Windows): removed by a later build
                log.debug("demo database %s is still in use", path)


def _remove_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def build_database(
    url: str, lab: DemoLab, history: timedelta | None = None, progress: Progress | None = None
) -> None:
    """Write the whole demo lab into the (empty) database at ``url``, with ``history`` of raw
    samples before ``lab.now`` (default ``BUILD_HISTORY``; the feed fills the rest); each of
    ``BUILD_STEPS`` is reported to ``progress`` as it begins."""
    history = BUILD_HISTORY if history is None else history
    step = progress or _no_progress
    from labgpu.storage import Store

    store = Store(url)
    try:
        step("members")
        store.upgrade()
        manager = next(m.name for m in lab.members if m.role == "manager")
        for member in lab.members:
            store.add_user(LabUser(member.name, member.display_name, member.role), manager)
        write_projects(store, manager)
        write_prices(store, manager)
        gpu_ids = _register_servers(store, lab, manager)
        admin = BookingService(store, manager, clock=_fixed(lab.now - timedelta(days=91)))
        rules = RulesService(admin)
        rules.save(DEMO_RULES)
        for block in lab.maintenance:
            ids = [gpu_ids[g] for g in block.gpus]
            rules.add_maintenance(ids, block.start, block.end, block.reason)
        step("bookings")
        write_bookings(store, lab, gpu_ids)
        step("offloaded")
        write_offloaded_jobs(store, lab)
        step("usage")
        write_usage_history(store, lab, gpu_ids, usage_history_end(lab))
        step("samples")
        write_requests(store, lab)
        write_history(store, lab, lab.now - history, lab.now)
    finally:
        store.close()


def _no_progress(_step: str) -> None:
    pass


def _register_servers(store: Store, lab: DemoLab, actor: str) -> list[int]:
    """Register the 13 servers; returns the database id of each GPU of ``lab.gpus``."""
    for server, positions in servers_of(lab).items():
        readings = [
            GpuReading(g.index, g.uuid, g.model, g.memory_mb, None, None, None, None)
            for g in (lab.gpus[i] for i in positions)
        ]
        store.inventory.register_server(server, SshTarget(f"{server}.lab.example"), readings, actor)
    by_uuid = {g.uuid: g.id for g in store.inventory.list_gpus()}
    return [int(by_uuid[g.uuid] or 0) for g in lab.gpus]


def _fixed(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment


class _BuildService(BookingService):
    """The real booking service, reading the (unchanging) inventory once for the whole build."""

    def __init__(self, store: Store, user: str, clock: Callable[[], datetime], gpus: Gpus) -> None:
        super().__init__(store, user, clock)
        self._gpus = gpus

    def gpus(self) -> dict[int, Gpu]:
        return self._gpus


def write_bookings(store: Store, lab: DemoLab, gpu_ids: Sequence[int]) -> int:
    """Book every planned booking as its member, at the time they asked, through the real
    booking service (rules, approval, conflicts); then approve, reject, cancel or release it.
    Returns the number of booking groups."""
    pi = next(m.name for m in lab.members if m.role == "pi")
    gpus = BookingService(store, pi).gpus()

    def acting(user: str, moment: datetime) -> BookingService:
        return _BuildService(store, user, _fixed(moment), gpus)

    jobs = booked_jobs(lab)
    for job in jobs:
        member = acting(job.member, job.requested_at)
        ids = [gpu_ids[g] for g in job.gpus]
        group = member.book(ids, job.start, job.end, job.note, project=job.project)
        if group.status is BookingStatus.PENDING and job.kind is not JobKind.PENDING:
            decider = acting(pi, decided_at(job.requested_at, job.start, lab.now))
            if job.kind is JobKind.REJECTED:
                decider.reject(group.group_id, REJECTIONS[job.key % len(REJECTIONS)])
                continue
            decider.approve(group.group_id)
        if job.kind is JobKind.CANCELLED:
            acting(job.member, cancelled_at(job.requested_at, job.start)).cancel(group.group_id)
        elif job.kind is JobKind.RELEASED and job.released_at is not None:
            acting(job.member, job.released_at).end_early(group.group_id)
    return len(jobs)


def usage_history_end(lab: DemoLab) -> datetime:
    """Where the model's hourly history stops and the rollup of the feed's samples takes over:
    the start of the hour ``HISTORY_WINDOW`` before ``lab.now`` (the feed keeps a day of raw
    samples)."""
    return (lab.now - HISTORY_WINDOW).replace(minute=0, second=0, microsecond=0)


def write_usage_history(store: Store, lab: DemoLab, gpu_ids: Sequence[int], end: datetime) -> int:
    """Store the model's hourly usage from the start of its history up to ``end`` as the
    rollups the collector would have made, and let the rollup go on from ``end``.
    Returns the hour rows stored."""
    rows: list[UsageBucket] = []
    users: list[UserSeconds] = []
    n = SAMPLES_PER_HOUR
    for hour in hour_usage(lab, lab.start, end):
        start, gpu_id = int(hour.start.timestamp()), gpu_ids[hour.gpu]
        rows.append(
            UsageBucket(
                start=start,
                length=3600,
                gpu_id=gpu_id,
                samples=n,
                util_n=n,
                util_sum=hour.util_mean * n,
                util_max=hour.util_max,
                mem_n=n,
                mem_sum=hour.mem_mean_mb * n,
                mem_max=hour.mem_max_mb,
                observed_s=3600.0,
                busy_s=hour.busy_s,
            )
        )
        users.extend(UserSeconds(start, gpu_id, user, seconds) for user, seconds in hour.users)
    return store.usage.import_hours(rows, users, int(end.timestamp()))


def write_requests(store: Store, lab: DemoLab) -> int:
    """Record the slot searches of the model: those behind its bookings (asked when booked,
    wanted when the member wanted the GPUs, offered the booking's start), and those the lab did
    not serve, asked when wanted, with the lab's earliest slot where there was one (none:
    nothing within 48 hours) or the rule that refused them. Returns the requests recorded."""
    requests = [
        Unmet(
            user_name=request.member,
            model=request.model,
            count=request.count,
            hours=float(request.hours),
            asked_at=request.asked_at or min(request.wanted_at, lab.now),
            wanted_at=request.wanted_at,
            earliest_at=request.earliest_at,
            refused_rule=request.refused_rule,
            project=request.project,
        )
        for request in [*booking_requests(lab), *lab.unmet]
    ]
    store.usage.add_requests(requests)
    return len(requests)


def write_projects(store: Store, manager: str) -> None:
    """The lab's projects and grants, kept by its manager."""
    for name, title in PROJECTS:
        store.projects.add(Project(name, title), manager)


def write_prices(store: Store, manager: str) -> None:
    """Example prices for both models, as a manager would set them (``DEMO_PRICES``)."""
    for model, prices in DEMO_PRICES.items():
        store.prices.set(model, {"currency": "USD", **prices}, manager)
