"""The rest of issue 17's events on a single seat's SQLite file: a job (on a booking or on a
cluster) turning final is told to its member with that change and once; someone on a GPU you
hold and the idle rule's warning are told by the collector once, across a restart that made it
forget; and the app's notification list reads what each member would be sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from labgpu.core.booking.rules import BookingRules
from labgpu.core.booking.run import LabJob
from labgpu.core.inventory.servers import GpuProcess, LabUser, ProbeResult
from labgpu.core.notify import events as ev
from labgpu.core.offload.jobs import JobState, OffloadJob
from labgpu.services.booking.intruders import IntruderWatch
from labgpu.services.booking.policy import RulesService
from labgpu.services.booking.reality import AutoReleaser
from labgpu.services.booking.service import BookingService
from labgpu.services.notify.member import NotifyService
from labgpu.storage import Store
from labgpu.storage import offload as offload_rows
from tests.helpers.booking_lab import A4000, NOW, Clock, H, clock, gpus, kim, me, readings
from tests.notify.test_events_sqlite import outbox, store

__all__ = ["clock", "gpus", "kim", "me", "store"]  # the fixtures

MIN = timedelta(minutes=1)


def lab_job(name: str, user: str = "kim") -> LabJob:
    return LabJob(
        id=0, name=name, group_id="g-1", server="gpu-01", user_name=user,
        state=JobState.RUNNING, command="python train.py", local_dir="", remote_dir="w",
        job_dir=f".labgpu/jobs/{name}", submitted_at=NOW, starts_at=NOW, ends_at=NOW + 2 * H,
    )  # fmt: skip


def cluster_job(name: str, project: str | None = None) -> OffloadJob:
    return OffloadJob(
        id=0, name=name, cluster="neuron", user_name="kim", state=JobState.QUEUED, gpus=1,
        gpu_type="A100", hours=2.0, command="python x.py", local_dir="/l", remote_dir="/r",
        job_dir="/j", script="#!/bin/sh", submitted_at=NOW, project=project,
    )  # fmt: skip


# -- jobs ---------------------------------------------------------------------------------------


def test_a_lab_job_that_ends_is_told_once_and_a_failed_one_as_failed(store: Store) -> None:
    ok = store.lab_jobs.add(lab_job("run-kim-ok"))
    bad = store.lab_jobs.add(lab_job("run-kim-bad"))
    store.lab_jobs.update(ok.id, pid=4242, started_at=NOW + 5 * MIN)  # still running: nothing
    assert outbox(store) == []
    ended_at = datetime(2026, 12, 2, 10, 15, 42, 123456, tzinfo=UTC)
    store.lab_jobs.update(ok.id, state=JobState.COMPLETED, exit_code=0, ended_at=ended_at)
    store.lab_jobs.update(
        bad.id, state=JobState.FAILED, exit_code=3, reason="exit status 3", ended_at=ended_at
    )
    # A second poll that stores something else of a finished job tells nothing new.
    store.lab_jobs.update(ok.id, state=JobState.COMPLETED, fetched_at=ended_at + MIN)
    store.lab_jobs.update(ok.id, released_at=ended_at + MIN)
    rows = outbox(store)
    assert [(k, a, u, d) for k, a, u, d, _p in rows] == [
        ("job_ended", "member", "kim", "job:lab:run-kim-ok:completed"),
        ("job_failed", "member", "kim", "job:lab:run-kim-bad:failed"),
    ]
    assert rows[0][4] == {
        "job": "run-kim-ok",
        "id": ok.id,
        "on": "lab",
        "where": "gpu-01",
        "user": "kim",
        "state": "completed",
        "exit_code": 0,
        "started": "2026-12-02T09:05:00+00:00",
        "ended": "2026-12-02T10:15:42+00:00",
        "project": None,
        "reason": "",
    }
    assert rows[1][4]["exit_code"] == 3
    assert rows[1][4]["reason"] == "exit status 3"


def test_a_cluster_job_turning_final_is_told_with_its_project(store: Store) -> None:
    from labgpu.core.usage.projects import Project

    store.projects.add(Project("vit-grant", "ViT grant"), "tester")
    done = store.offload.add_job(cluster_job("kim-1", project="vit-grant"))
    gone = store.offload.add_job(cluster_job("kim-2"))
    store.offload.update_job(done.id, state=JobState.RUNNING, remote_id="811")
    store.offload.update_job(done.id, state=JobState.COMPLETED, exit_code=0)
    store.offload.update_job(done.id, state=JobState.COMPLETED, exit_code=0)  # polled again
    store.offload.update_job(gone.id, state=JobState.CANCELLED, raw_state="CANCELLED by 1001")
    store.offload.update_job(gone.id, state=JobState.UNKNOWN)  # never a final state again...
    store.offload.update_job(gone.id, state=JobState.CANCELLED)  # ...so no second event
    rows = outbox(store)
    assert [(k, d) for k, _a, _u, d, _p in rows] == [
        ("job_ended", "job:cluster:kim-1:completed"),
        ("job_failed", "job:cluster:kim-2:cancelled"),
    ]
    assert rows[0][4]["where"] == "neuron"
    assert rows[0][4]["project"] == "vit-grant"
    assert rows[1][4]["exit_code"] is None


def test_a_job_turned_final_in_a_rolled_back_transaction_enqueues_nothing(store: Store) -> None:
    job = store.offload.add_job(cluster_job("kim-3"))

    def fail_after_the_change() -> None:
        with store._write() as s:  # noqa: SLF001 — the change and the event in one transaction
            offload_rows.update_job(s, job.id, state=JobState.FAILED, exit_code=1)
            assert s.execute(text("SELECT count(*) FROM outbox")).scalar() == 1  # written with it
            raise RuntimeError("the transaction fails after the change")

    with pytest.raises(RuntimeError):
        fail_after_the_change()
    assert store.offload.get_job(job.id).state is JobState.QUEUED  # type: ignore[union-attr]
    assert outbox(store) == []


# -- the collector's rules ---------------------------------------------------------------------


def hold(service: BookingService, clock: Clock, gpu: int) -> str:
    """``service``'s member holds ``gpu`` from an hour before ``NOW`` to two hours after."""
    clock.now = NOW - H
    try:
        return service.book([gpu], NOW - H, NOW + 2 * H).group_id
    finally:
        clock.now = NOW


def probe(store: Store, at: datetime, procs: tuple[GpuProcess, ...], util: float = 50.0) -> None:
    result = ProbeResult("gpu-01", at, tuple(readings(A4000, 4, "gpu-01", util)), procs)
    store.inventory.store_probe("gpu-01", result)


def no_ssh() -> object:
    raise AssertionError("the rule 'show' never reaches a server")


def test_someone_on_a_held_gpu_is_told_to_the_holder_once(
    store: Store, gpus: dict[str, int], kim: BookingService, clock: Clock
) -> None:
    group = hold(kim, clock, gpus["gpu-01:0"])
    gpu = gpus["gpu-01:0"]
    lee = GpuProcess("gpu-01-0", 4242, 900, "python", "lee", 600, "python steal.py")
    box = GpuProcess("gpu-01-0", 4300, 900, "python", None, 120, "python vit.py", "vit-train")
    probe(store, NOW, (lee, box))
    watch = IntruderWatch(kim, no_ssh)  # type: ignore[arg-type]
    watch.run(NOW)
    watch.run(NOW)  # the next minute: seen already
    # A restarted collector forgets what it saw; the next sweep reads the processes' age a
    # second short (ps and the sample are a moment apart): still the same intrusion.
    later = (
        GpuProcess("gpu-01-0", 4242, 900, "python", "lee", 600 + 59, "python steal.py"),
        GpuProcess("gpu-01-0", 4300, 900, "python", None, 120 + 60, "python vit.py", "vit-train"),
    )
    probe(store, NOW + MIN, later)
    IntruderWatch(kim, no_ssh).run(NOW + MIN)  # type: ignore[arg-type]
    rows = outbox(store)
    assert [(k, a, u, d) for k, a, u, d, _p in rows] == [
        ("gpu_intruder", "member", "kim",
         f"gpu_intruder:{group}:{gpu}:lee:2026-12-02T08:50:00+00:00"),
        ("gpu_intruder", "member", "kim",
         f"gpu_intruder:{group}:{gpu}:container:vit-train:2026-12-02T08:58:00+00:00"),
    ]  # fmt: skip
    assert rows[0][4] == {
        "gpu": "gpu-01:0",
        "server": "gpu-01",
        "group": group,
        "holder": "kim",
        "intruder": "lee",
        "container": None,
        "who": "lee",
        "pids": [4242],
        "since": "2026-12-02T08:50:00+00:00",
    }
    assert rows[1][4]["who"] == "unknown (container vit-train)"
    assert rows[1][4]["intruder"] is None
    # Gone, then back twenty minutes later: a new intrusion, told again.
    probe(store, NOW + 2 * MIN, ())
    watch.run(NOW + 2 * MIN)
    again = GpuProcess("gpu-01-0", 5000, 900, "python", "lee", 30, "python steal.py")
    probe(store, NOW + 20 * MIN, (again,))
    watch.run(NOW + 20 * MIN)
    assert outbox(store)[-1][3] == f"gpu_intruder:{group}:{gpu}:lee:2026-12-02T09:19:30+00:00"
    assert len(outbox(store)) == 3


def test_a_long_container_name_keeps_the_key_within_its_column(
    store: Store, gpus: dict[str, int], kim: BookingService, clock: Clock
) -> None:
    hold(kim, clock, gpus["gpu-01:0"])
    name = "k8s_train_" + "x" * 240  # Kubernetes' container names run long
    box = GpuProcess("gpu-01-0", 4300, 900, "python", None, 120, "python vit.py", name)
    probe(store, NOW, (box,))
    IntruderWatch(kim, no_ssh).run(NOW)  # type: ignore[arg-type]
    IntruderWatch(kim, no_ssh).run(NOW)  # type: ignore[arg-type]
    [(kind, _a, _u, key, payload)] = outbox(store)
    assert kind == "gpu_intruder"
    assert len(key) <= 200  # outbox.dedup_key is VARCHAR(200): PostgreSQL refuses more
    assert payload["container"] == name


def test_the_idle_warning_is_told_once_per_warning(
    store: Store, gpus: dict[str, int], me: BookingService, kim: BookingService, clock: Clock
) -> None:
    RulesService(me).save(
        BookingRules(auto_release=True, auto_release_minutes=60, release_warning_minutes=15)
    )
    group = hold(kim, clock, gpus["gpu-01:0"])
    for minutes in range(0, 61, 5):  # idle since 08:00
        probe(store, NOW - H + minutes * MIN, (), util=0.0)
    releaser = AutoReleaser(me)
    releaser.run(NOW - 20 * MIN)  # idle 40 min: not yet warned (60 - 15 min)
    assert outbox(store) == []
    releaser.run(NOW)  # idle 60 min: warned
    releaser.run(NOW + MIN)
    AutoReleaser(me).run(NOW + 2 * MIN)  # a restarted collector warns again, tells nothing new
    rows = outbox(store)
    assert [(k, a, u, d) for k, a, u, d, _p in rows] == [
        ("booking_idle", "member", "kim", f"booking_idle:{group}:2026-12-02T09:00:00+00:00")
    ]
    assert rows[0][4] == {
        "group": group,
        "user": "kim",
        "gpus": ["gpu-01:0"],
        "start": "2026-12-02T08:00:00+00:00",
        "end": "2026-12-02T11:00:00+00:00",
        "since": "2026-12-02T08:00:00+00:00",
        "release": "2026-12-02T09:15:00+00:00",
    }
    # Busy again, then idle again: a new spell, a new warning, told again.
    probe(store, NOW + 5 * MIN, (), util=90.0)
    releaser.run(NOW + 5 * MIN)
    for minutes in range(10, 61, 5):
        probe(store, NOW + minutes * MIN, (), util=0.0)
    releaser.run(NOW + 60 * MIN)
    assert [d for _k, _a, _u, d, _p in outbox(store)][1:] == [
        f"booking_idle:{group}:2026-12-02T10:00:00+00:00"
    ]


# -- the app's notification list ----------------------------------------------------------------


def test_the_inbox_gives_each_member_what_they_would_be_sent(
    store: Store, gpus: dict[str, int], kim: BookingService
) -> None:
    store.add_user(LabUser("pia", "Pia", "pi"), "admin")
    store.add_user(LabUser("mona", "Mona", "manager"), "admin")
    store.add_user(LabUser("kim", "Kim", "student"), "admin")
    store.add_user(LabUser("lee", "Lee", "student"), "admin")
    request = kim.book([gpus["gpu-03:0"]], NOW + 2 * H, NOW + 3 * H)  # pending: to deciders
    own = store.lab_jobs.add(lab_job("run-kim-4"))
    store.lab_jobs.update(own.id, state=JobState.FAILED, exit_code=1)
    store.lab_jobs.add(lab_job("run-lee-1", user="lee"))
    store.lab_jobs.update(store.lab_jobs.list(user="lee")[0].id, state=JobState.COMPLETED)
    store.notify.enqueue(
        [
            ev.Event(
                ev.SERVER_OFFLINE, ev.MANAGERS, "gpu-02", "offline:gpu-02:x", {"server": "gpu-02"}
            )
        ]
    )
    store.notify.enqueue(
        [ev.Event(ev.REQUEST_PENDING, ev.DECIDERS, "pia", "request_pending:pia", {"user": "pia"})]
    )

    def kinds(user: str, after: int = 0) -> list[tuple[str, str]]:
        return [(e.kind, e.user) for e in NotifyService(store, user).inbox(after)]

    assert kinds("kim") == [("job_failed", "kim")]  # not their own request: it waits for others
    assert kinds("lee") == [("job_ended", "lee")]
    assert kinds("pia") == [("request_pending", "kim")]  # not their own request
    assert kinds("mona") == [
        ("request_pending", "kim"), ("server_offline", "gpu-02"), ("request_pending", "pia")
    ]  # fmt: skip
    entries = NotifyService(store, "mona").inbox()
    assert [e.id for e in entries] == sorted(e.id for e in entries)  # newest last
    assert entries[0].payload["group"] == request.group_id
    assert entries[0].created_at.tzinfo is not None
    assert kinds("mona", after=entries[1].id) == [("request_pending", "pia")]
    assert [e.kind for e in store.notify.inbox("mona", limit=2)] == [
        "server_offline", "request_pending"
    ]  # the newest two  # fmt: skip
