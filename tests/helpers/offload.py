"""Helpers for offload tests: a service wired to the real Slurm's login node."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from labgpu.core.offload.jobs import Cluster, JobState, OffloadJob
from labgpu.remote.ssh import SshPool
from labgpu.services.offload.service import OffloadService
from labgpu.storage import Store
from tests.helpers.slurm import SlurmCluster


def slurm_cluster_settings(slurm: SlurmCluster, name: str = "neuron") -> Cluster:
    """The test Slurm as a registered cluster (reached with the fleet's client key)."""
    login = slurm.login.target
    return Cluster(
        name=name,
        host=login.host,
        user="labuser",
        scheduler="slurm",
        port=login.port,
        partition="debug",
        directives=("--comment=pytorch",),
        base_dir=slurm.work_base,
        max_hours=48,
        identity_file=login.identity_file,
    )


def make_pool(slurm: SlurmCluster, tmp: Path) -> SshPool:
    """A pool that trusts the login node's key and never reads the real ~/.ssh."""
    return SshPool(
        known_hosts=tmp / "labgpu_known_hosts",
        ssh_config=slurm.fleet.ssh_config,
        home=tmp / "home",
        user_known_hosts=slurm.fleet.known_hosts,
        use_agent=False,
    )


@contextmanager
def offload_service(slurm: SlurmCluster, tmp: Path, url: str) -> Iterator[OffloadService]:
    """An offload service (store upgraded, cluster ``neuron`` registered), closed after."""
    store = Store(url)
    store.upgrade()
    pool = make_pool(slurm, tmp)
    service = OffloadService(store, pool, "tester")
    if store.offload.get_cluster("neuron") is None:
        service.add_cluster(slurm_cluster_settings(slurm))
    try:
        yield service
    finally:
        pool.close_all()
        store.close()


def wait_for(
    service: OffloadService,
    job_id: int,
    done: Callable[[OffloadJob], bool],
    timeout: float = 60.0,
) -> OffloadJob:
    """Refresh once a second until ``done(job)``; fail with the last state otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        service.refresh()
        job = service.job(job_id)
        if done(job):
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} stuck: {job.state} {job.raw_state} {job.reason}")
        time.sleep(0.5)


def ended(job: OffloadJob) -> bool:
    """The job reached a final state."""
    return job.state.is_final


def running(job: OffloadJob) -> bool:
    """The job runs (or already ended)."""
    return job.state is JobState.RUNNING or job.state.is_final
