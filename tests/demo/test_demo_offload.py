"""The demo lab's offloaded jobs: planned from its unmet requests, stored as the app stores
them, followed without ever connecting to the simulated cluster."""

from __future__ import annotations

import json
import socket
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from labgpu.core.errors import LabgpuError
from labgpu.core.offload.jobs import FINAL_STATES, JobRequest, JobState
from labgpu.core.offload.jobscript import script_job_name
from labgpu.demo.lab import build_database, sqlite_url
from labgpu.demo.model import DEFAULT_SEED, DemoLab, SlotRequest, generate_lab
from labgpu.demo.offload import DemoOffloadService
from labgpu.demo.offload_model import DEMO_CLUSTER, plan_offload, status_at
from labgpu.demo.setup import demo_lab
from labgpu.remote import SshPool
from labgpu.storage import Store

NOW = datetime(2026, 3, 11, 14, 30, tzinfo=UTC)


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every attempt to open a connection, recorded and refused."""
    attempts: list[object] = []

    def refuse(*args: object, **_kwargs: object) -> None:
        attempts.append(args)
        raise AssertionError(f"the demo tried to connect: {args}")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    import paramiko

    monkeypatch.setattr(paramiko.Transport, "__init__", refuse)
    return attempts


def busy_lab() -> DemoLab:
    """The reference lab with many unmet requests in the last days: every state occurs now."""
    lab = generate_lab(DEFAULT_SEED, NOW)
    members = [m.name for m in lab.members]
    unmet = tuple(
        SlotRequest(
            members[i % len(members)], "NVIDIA A40" if i % 3 == 0 else "NVIDIA RTX A4000",
            1 + i % 4, 6 + (i * 7) % 80, NOW - timedelta(hours=2 + 5 * i),
        )
        for i in range(40)
    )  # fmt: skip
    return replace(lab, unmet=unmet)


def built(tmp_path: Path, lab: DemoLab) -> Store:
    url = sqlite_url(tmp_path / "demo.db")
    build_database(url, lab, history=timedelta(minutes=5))
    store = Store(url)
    store.upgrade()
    return store


# -- the plan ---------------------------------------------------------------------------------


def test_unmet_requests_lie_in_the_past_and_become_one_job_each() -> None:
    lab = generate_lab(DEFAULT_SEED, NOW)
    assert lab.unmet
    assert all(u.wanted_at <= lab.now for u in lab.unmet)  # the horizon is not unmet demand
    jobs = plan_offload(lab)
    assert jobs == plan_offload(generate_lab(DEFAULT_SEED, NOW))
    taken = [u for u in lab.unmet if u.offloaded]  # every unmet one, some refused ones
    assert all(u.offloaded for u in lab.unmet if u.no_capacity)
    assert len(jobs) == len(taken) == len({j.name for j in jobs})
    assert Counter(j.member for j in jobs) == Counter(u.member for u in taken)
    for job in jobs:
        assert job.submitted_at <= lab.now
        assert job.name.startswith("labgpu-")
        assert job.remote_id.isdigit()
        assert job.hours <= 48
    ids = [int(j.remote_id) for j in jobs]
    assert ids == sorted(ids)  # Slurm's counter only goes up


def test_states_follow_the_time() -> None:
    lab = busy_lab()
    at_now = Counter(status_at(j, lab.now).state for j in plan_offload(lab))
    assert at_now[JobState.QUEUED]
    assert at_now[JobState.RUNNING]
    assert {JobState.COMPLETED, JobState.FAILED} <= set(at_now)
    for job in plan_offload(lab):
        status = status_at(job, lab.now)
        if status.state is JobState.QUEUED:
            assert status.reason in ("Priority", "Resources")
        if status.state in FINAL_STATES:
            assert job.ended_at <= lab.now
            assert status.exit_code is not None
        later = status_at(job, job.ended_at + timedelta(seconds=1))
        assert later.state is job.final


# -- the database -----------------------------------------------------------------------------


def test_demo_database_holds_the_offloaded_jobs(
    demo_template: tuple[Path, DemoLab], tmp_path: Path
) -> None:
    folder, lab = demo_template
    info = json.loads((folder / "labgpu-demo.json").read_text())
    store = Store(sqlite_url(folder / info["database"]))
    try:
        [cluster] = store.offload.list_clusters()
        assert (cluster.host, cluster.scheduler, cluster.login) == (
            "neuron.example.org", "slurm", "interactive",
        )  # fmt: skip
        assert cluster.directives == ("--comment=pytorch",)
        jobs = store.offload.list_jobs()
        plans = {p.name: p for p in plan_offload(lab)}
        assert {j.name for j in jobs} == set(plans)
        for job in jobs:
            plan = plans[job.name]
            assert job.state is status_at(plan, lab.now).state
            assert job.remote_id == plan.remote_id
            assert script_job_name(job.script) == job.name
            assert "#SBATCH --comment=pytorch" in job.script
            assert f"#SBATCH --partition={plan.partition}" in job.script
            assert job.remote_dir.startswith(f"/scratch/{job.user_name}/labgpu/work/")
            if job.state.is_final:
                assert job.ended_at is not None
                assert job.fetched_at is not None
    finally:
        store.close()


def test_usage_is_the_sum_over_the_jobs(tmp_path: Path) -> None:
    store = built(tmp_path, busy_lab())
    try:
        totals: dict[tuple[str, str, str], float] = defaultdict(float)
        counts: Counter[tuple[str, str, str]] = Counter()
        for job in store.offload.list_jobs():
            key = (f"{job.submitted_at:%Y-%m}", job.user_name, job.cluster)
            totals[key] += job.gpus * (job.elapsed_s or 0) / 3600
            counts[key] += 1
        rows = store.offload.usage()
        assert {(r.month, r.user_name, r.cluster) for r in rows} == set(totals)
        for row in rows:
            key = (row.month, row.user_name, row.cluster)
            assert row.gpu_hours == pytest.approx(totals[key])
            assert row.jobs == counts[key]
        assert sum(r.gpu_hours for r in rows) > 0
    finally:
        store.close()


# -- following without connecting -------------------------------------------------------------


def test_refresh_moves_jobs_on_without_connecting(tmp_path: Path, no_network: list[object]) -> None:
    lab = busy_lab()
    store = built(tmp_path, lab)
    try:
        live = [j for j in store.offload.list_jobs() if not j.state.is_final]
        assert live
        service = DemoOffloadService(store, _pool(tmp_path), live[0].user_name, lab)
        before = service.jobs()
        assert service.pollable_clusters() == [DEMO_CLUSTER.name]
        with pytest.raises(LabgpuError, match="never connects"):
            service.cancel(live[0].id)
        service.clock = lambda: lab.now
        assert not service.refresh().changed  # at the build's own moment nothing changes
        service.clock = lambda: lab.now + timedelta(days=20)
        report = service.refresh()
        assert {j.id for j in report.finished} == {j.id for j in before if not j.state.is_final}
        plans = {p.name: p for p in plan_offload(lab)}
        for job in service.jobs():
            assert job.state is plans[job.name].final
            assert job.elapsed_s == plans[job.name].elapsed_s
        assert service.fetch_finished() == []
    finally:
        store.close()
    assert no_network == []


def test_demo_offload_refuses_everything_remote(
    demo_folder: Path, tmp_path: Path, no_network: list[object]
) -> None:
    lab = demo_lab()
    try:
        lab.open()
        service = lab.offload
        assert isinstance(service, DemoOffloadService)
        service.refresh()
        # The demo member's job if the plan gave them one today, else anyone's.
        job = (service.jobs() or service.jobs(mine=False))[0]
        (tmp_path / "project").mkdir()
        request = JobRequest("neuron", str(tmp_path / "project"), "python train.py", 1, 1.0)
        attempts = [
            lambda: service.login("neuron"),
            lambda: service.trust_host_key("neuron", "SHA256:x"),
            lambda: service.prepare(request),
            lambda: service.tail(job.id),
            lambda: service.fetch(job.id),
            lambda: service.resubmit(job.id),
            lambda: service.estimate("neuron", 2, 3.0),
        ]
        for attempt in attempts:
            with pytest.raises(LabgpuError, match="never connects"):
                attempt()
        assert not service.is_logged_in("neuron")
        with pytest.raises(LabgpuError, match="never connects|already ended|only they can"):
            service.cancel(job.id)
    finally:
        lab.close()
    assert no_network == []


def test_cli_lists_the_demos_jobs(
    demo_folder: Path, capsys: pytest.CaptureFixture[str], no_network: list[object]
) -> None:
    from labgpu.cli.main import main

    assert main(["--demo", "offload", "list", "--all", "--json"]) == 0
    jobs = json.loads(capsys.readouterr().out)
    assert jobs
    assert {j["cluster"] for j in jobs} == {"neuron"}
    assert main(["--demo", "offload", "usage", "--json"]) == 0
    usage = json.loads(capsys.readouterr().out)
    assert sum(r["jobs"] for r in usage) == len(jobs)
    assert sum(r["gpu_hours"] for r in usage) == pytest.approx(
        sum(j["gpu_hours"] for j in jobs), abs=0.01
    )
    assert main(["--demo", "offload", "status", str(jobs[0]["id"]), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["id"] == jobs[0]["id"]
    assert main(["--demo", "offload", "fetch", str(jobs[0]["id"])]) == 1
    assert "never connects" in capsys.readouterr().err
    assert no_network == []


def _pool(folder: Path) -> SshPool:
    return SshPool(folder / "known_hosts", home=folder)
