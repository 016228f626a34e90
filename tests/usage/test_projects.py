"""Projects (issue 16, point 4) on SQLite and PostgreSQL: managers keep the list, a member's
default project, bookings, searches and offloaded jobs for a project, an unknown or retired
project refused before anything is written, and ``usage --by project`` hand-computed."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from labgpu.core.booking.bookings import BookingStatus, Window
from labgpu.core.errors import RefusedError, UsageError
from labgpu.core.inventory.servers import SshTarget
from labgpu.core.offload.jobs import JobState, OffloadJob
from labgpu.core.usage.figures import SlotRequest
from labgpu.core.usage.projects import NO_PROJECT, PROJECT_COLUMNS, Project
from labgpu.services.booking.service import BookingService
from labgpu.services.usage.projects import ProjectsService
from labgpu.services.usage.service import UsageService
from labgpu.storage import Store
from tests.helpers.booking_lab import A40, NOW, Clock, clock, gpus, kim, me, store
from tests.helpers.usage_data import A4000, BASE, END, _minute, _reading

__all__ = ["clock", "gpus", "kim", "me", "store"]  # the fixtures
H = timedelta(hours=1)
M = timedelta(minutes=1)


def projects_of(service: BookingService) -> ProjectsService:
    return ProjectsService(service)


def job(user: str, submitted: datetime, project: str | None, gpus: int = 1) -> OffloadJob:
    return OffloadJob(
        id=0,
        name=f"{user}-{uuid.uuid4().hex[:8]}",
        cluster="neuron",
        user_name=user,
        state=JobState.SUBMITTING,
        gpus=gpus,
        gpu_type="",
        hours=1.0,
        command="true",
        local_dir="/l",
        remote_dir="/r",
        job_dir="/j",
        script="#!",
        submitted_at=submitted,
        project=project,
    )


def counts(store: Store) -> tuple[int, int, int, int]:
    """Bookings, slot requests, offloaded jobs and audit lines."""
    far = timedelta(days=400)
    return (
        len(store.bookings.list_bookings()),
        len(store.usage.requests(NOW - far, NOW + far)),
        len(store.offload.list_jobs()),
        len(store.list_audit(1000)),
    )


# -- the list -------------------------------------------------------------------------------------


def test_managers_add_retire_reactivate_and_retitle_audited(me: BookingService) -> None:
    projects = projects_of(me)  # the single seat's user manages
    added = projects.add("nrf-2026.a_1", "  NRF grant 2026  ")
    assert (added.name, added.title, added.active) == ("nrf-2026.a_1", "NRF grant 2026", True)
    projects.add("kaist")
    assert [p.name for p in projects.list()] == ["kaist", "nrf-2026.a_1"]
    assert projects.retire("kaist").active is False
    assert [p.name for p in projects.list(include_retired=False)] == ["nrf-2026.a_1"]
    assert projects.retire("kaist").active is False  # again: nothing written
    assert projects.reactivate("kaist").active is True
    assert projects.set_title("kaist", "KAIST").title == "KAIST"
    lines = reversed(me.store.list_audit(10))
    actions = [(a.action, a.subject, a.detail) for a in lines if a.action.startswith("project.")]
    assert actions == [
        ("project.add", "nrf-2026.a_1", "NRF grant 2026"),
        ("project.add", "kaist", ""),
        ("project.retire", "kaist", ""),
        ("project.reactivate", "kaist", ""),
        ("project.title", "kaist", "- → KAIST"),
    ]


@pytest.mark.parametrize("name", ["", "NRF", "a b", "x/y", "é", "a" * 65])
def test_a_bad_name_is_a_usage_error(me: BookingService, name: str) -> None:
    with pytest.raises(UsageError, match="not a usable project name") as info:
        projects_of(me).add(name)
    assert info.value.exit_code == 2


def test_a_name_is_taken_once_and_titles_are_one_line(me: BookingService) -> None:
    projects = projects_of(me)
    projects.add("p1")
    with pytest.raises(RefusedError, match="exists already"):  # a conflict: exit 3
        projects.add("p1", "again")
    with pytest.raises(UsageError, match="one line"):
        projects.add("p2", "two\nlines")
    with pytest.raises(UsageError, match="unknown project 'p3'"):
        projects.retire("p3")
    assert [(p.name, p.title) for p in projects.list()] == [("p1", "")]


def test_only_managers_change_the_list(store: Store, gpus: dict[str, int], clock: Clock) -> None:
    ProjectsService(BookingService(store, "boss", clock, role=lambda: "manager")).add("p1")
    for role in ("student", "pi"):
        member = ProjectsService(BookingService(store, "kim", clock, role=lambda r=role: r))
        for change in (
            lambda m=member: m.add("p2"),
            lambda m=member: m.retire("p1"),
            lambda m=member: m.reactivate("p1"),
            lambda m=member: m.set_title("p1", "mine"),
        ):
            with pytest.raises(RefusedError, match="only a lab manager") as info:
                change()
            assert info.value.exit_code == 3
        assert [(p.name, p.active, p.title) for p in member.list()] == [("p1", True, "")]


# -- bookings, searches and jobs for a project ---------------------------------------------------


def test_booking_and_searching_for_a_project_and_the_default(
    me: BookingService, kim: BookingService, gpus: dict[str, int], clock: Clock
) -> None:
    projects = projects_of(me)
    projects.add("p1")
    projects.add("p2")
    assert projects.default() is None
    group = me.book([gpus["gpu-01:0"]], NOW + H, NOW + 3 * H, "", "p1")
    assert group.project == "p1"
    assert {b.project for b in me.store.bookings.list_bookings()} == {"p1"}
    assert projects.of_group(group.group_id) == "p1"
    assert projects.default() == "p1"
    assert projects.default("kim") is None  # another member's default is their own
    clock.now = NOW + 5 * M
    earliest = me.book_earliest("A40", 1, 2 * H, project="p2")
    assert earliest.project == "p2"
    assert projects.default() == "p2"
    clock.now = NOW + 10 * M
    me.find_slots("A4000", 2, H, project="p1")  # a search records its project
    model = kim.book_model("A4000", 1, NOW + 4 * H, NOW + 5 * H, project="p1")
    assert (model.project, projects.default("kim")) == ("p1", "p1")
    asked = me.store.usage.requests(NOW - H, NOW + H)
    assert [(r.user_name, r.model, r.project) for r in asked] == [
        ("tester", A40, "p2"),
        ("tester", A4000, "p1"),
    ]
    # A newer offloaded job that names a project makes it the default; "" names none.
    me.store.offload.add_job(job("tester", NOW + 20 * M, "p1"))
    assert projects.default() == "p1"
    assert me.book([gpus["gpu-02:0"]], NOW + H, NOW + 2 * H, "", "").project is None
    assert projects.default() == "p1"  # a booking naming none does not change it
    projects.retire("p1")
    assert projects.default() is None  # a retired project is nobody's default


@pytest.mark.parametrize("retired", [False, True])
def test_an_unknown_or_retired_project_writes_nothing(
    me: BookingService, gpus: dict[str, int], retired: bool
) -> None:
    projects = projects_of(me)
    projects.add("live")
    name = "nope"
    if retired:
        projects.add("ended")
        projects.retire("ended")
        name = "ended"
    before = counts(me.store)
    expected = "is retired" if retired else "unknown project"
    attempts = [
        lambda: me.book([gpus["gpu-01:0"]], NOW + H, NOW + 2 * H, "", name),
        lambda: me.book_earliest("A4000", 1, H, project=name),
        lambda: me.book_model("A4000", 1, NOW + H, NOW + 2 * H, project=name),
        lambda: me.find_slots("A4000", 1, H, project=name),
        lambda: me.store.offload.add_job(job("tester", NOW, name)),
        lambda: projects.check(name),
    ]
    for attempt in attempts:
        with pytest.raises(UsageError, match=expected) as info:
            attempt()
        assert info.value.exit_code == 2
    assert counts(me.store) == before


# -- usage --by project ------------------------------------------------------------------------


@pytest.fixture
def usage_lab(db_url: str) -> Iterator[Store]:
    store = Store(db_url)
    store.upgrade()
    seed_projects(store)
    yield store
    store.close()


def seed_projects(store: Store) -> None:
    """``tests/helpers/usage_data``'s two hours of use, with bookings, requests and offloaded
    jobs for projects (see ``test_usage_by_project_hand_computed``), in an empty lab."""
    store.inventory.register_server(
        "gpu-01",
        SshTarget("h1"),
        [_reading(0, "GPU-a", A4000, 0), _reading(1, "GPU-b", A4000, 0)],
        "admin",
    )
    store.inventory.register_server("gpu-02", SshTarget("h2"), [_reading(0, "GPU-c", A40, 0)], "a")
    ids = {f"{g.server_name}/{g.index}": g.id for g in store.inventory.list_gpus() if g.id}
    for m in range(120):
        _minute(store, m)
    for name, title, active in (
        ("nrf", "NRF", True),
        ("kaist", "KAIST grant", True),
        ("idle", "", True),
        ("old", "", False),
    ):
        store.projects.add(Project(name, title), "admin")
        if not active:
            store.projects.set_active(name, False, "admin")
    for user, gpu, hours, project in (
        ("amy", "gpu-01/0", 2, "nrf"),
        ("bo", "gpu-01/1", 1, "kaist"),
    ):
        store.bookings.create_bookings(
            str(uuid.uuid4()),
            [ids[gpu]],
            user,
            Window(BASE, BASE + hours * H),
            BookingStatus.BOOKED,
            "",
            user,
            project=project,
        )

    def ask(user: str, at: int, count: int, hours: float, wait: float | None, **kw: str) -> None:
        asked = BASE + at * M
        earliest = None if wait is None else asked + wait * H
        store.usage.add_request(
            SlotRequest(user, A4000, count, hours, asked, asked, earliest, **kw)  # type: ignore[arg-type]
        )

    ask("amy", 10, 2, 8.0, None, project="nrf")  # no slot: unmet 16 GPU-h
    ask("amy", 30, 1, 2.0, 1.0, project="nrf")  # waits 1 h: unmet 2 GPU-h
    ask("bo", 20, 1, 96.0, None, refused_rule="max_hours", project="kaist")  # a rule: apart
    ask("bo", 21, 1, 1.0, 0.0, project="kaist")
    ask("bo", 22, 1, 1.0, 0.25, project="kaist")
    ask("bo", 23, 1, 3.0, 2.0, project="kaist")  # unmet, but bo offloaded at +40 min
    ask("cy", 60, 1, 1.0, None)  # no project, no slot: unmet 1 GPU-h
    for user, at, n, elapsed, project in (
        ("bo", BASE + 40 * M, 2, 1800, "kaist"),  # 1 GPU-h
        ("cy", BASE + 50 * M, 1, 7200, None),  # 2 GPU-h, before cy asked: not a follow-up
        ("bo", END + H, 1, 3600, "kaist"),  # after the range: not counted
    ):
        added = store.offload.add_job(job(user, at, project, n))
        store.offload.update_job(added.id, state=JobState.COMPLETED, elapsed_s=elapsed)
    store.usage.rollup(END + H)


def test_usage_by_project_hand_computed(usage_lab: Store) -> None:
    """Over the two hours: amy's process ran on gpu-01/0 all through her nrf booking (2 h);
    bo booked gpu-01/1 for kaist the first hour but ran only in the second, without a booking
    (no project), as amy did on the A40 the first hour. Waits: kaist's answered requests waited
    0, 0.25 and 2 h (nearest-rank median 0.25); its 2-hour wait was followed by bo's offloaded
    job, so it is not unmet. nrf's: 16 + 2 GPU-h unmet. The retired project with nothing is
    left out; the active one with nothing is shown."""
    usage = UsageService(usage_lab, clock=lambda: datetime(2026, 12, 1, tzinfo=UTC))
    table = usage.table("project", BASE, END)
    assert table.columns == PROJECT_COLUMNS
    assert table.rows == [
        ("idle", "", 0.0, 0.0, 0, None, 0.0, 0.0),
        ("kaist", "KAIST grant", 1.0, 0.0, 4, 0.25, 1.0, 0.0),
        ("nrf", "NRF", 2.0, 2.0, 2, 1.0, 0.0, 18.0),
        (NO_PROJECT, "", 0.0, 2.0, 1, None, 2.0, 1.0),
    ]
    # The first hour only: bo's process had not started; cy's job and request are in it.
    first = usage.table("project", BASE, BASE + H)
    assert first.rows == [
        ("idle", "", 0.0, 0.0, 0, None, 0.0, 0.0),
        ("kaist", "KAIST grant", 1.0, 0.0, 4, 0.25, 1.0, 0.0),
        ("nrf", "NRF", 1.0, 1.0, 2, 1.0, 0.0, 18.0),
        (NO_PROJECT, "", 0.0, 1.0, 0, None, 2.0, 0.0),
    ]
