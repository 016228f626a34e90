"""Who holds a GPU process in a container: the real probe over a real sshd host, against real
processes placed in real cgroups with container-like names (cgroup v1 and v2).

No Docker or Podman daemon runs here, so ``docker inspect`` is answered by a stand-in first on
the host's PATH (``tests/helpers/docker_standin.py``); everything else is real: the cgroup
files, the user namespace of the rootless process, ``ps``, ``getent``.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from labgpu.core.inventory.servers import GpuProcess, ProbeResult
from labgpu.remote import probe
from labgpu.remote.ssh import SshPool
from tests.helpers.cgroups import CgroupLab, container_id
from tests.helpers.docker_standin import DockerStandIn, FakeContainer, installed
from tests.helpers.nvidia_smi_standin import FakeApp
from tests.helpers.sshd import Fleet, SshdHost, start_sshd_hosts
from tests.helpers.sshd_support import REMOTE_USER

LONG = "86400"


@dataclass
class ContainerHost:
    """One sshd GPU server whose GPU processes live in container cgroups."""

    fleet: Fleet
    host: SshdHost
    docker: DockerStandIn
    pids: dict[str, int]
    ids: dict[str, str]

    def pool(self, base: Path) -> SshPool:
        return SshPool(
            base / "known_hosts",
            ssh_config=self.fleet.ssh_config,
            home=base / "home",
            user_known_hosts=self.fleet.known_hosts,
            use_agent=False,
            connect_timeout=10.0,
        )

    def default_containers(self) -> list[FakeContainer]:
        return [
            FakeContainer(self.ids["labelled"], "vit-train", {"labgpu.user": REMOTE_USER}),
            FakeContainer(self.ids["unlabelled"], "notebook"),
            FakeContainer(self.ids["stranger"], "bobs-job", {"labgpu.user": "bob.nobody"}),
            FakeContainer(self.ids["root_label"], "sneaky", {"labgpu.user": "root"}),
            FakeContainer(self.ids["other_label"], "custom", {"lab.owner": REMOTE_USER}),
        ]


@pytest.fixture(scope="module")
def container_host() -> Iterator[ContainerHost]:
    """Processes of labuser in: a labelled Docker scope (v2), an unlabelled Docker group (v1),
    a rootless Podman scope inside a user namespace, a Kubernetes cri-containerd scope, a
    container labelled with a name no account has, one labelled ``root``, one labelled under
    another label name; and one process outside any container."""
    cgroups = CgroupLab()
    base = Path(tempfile.mkdtemp(prefix="labgpu-ctr-"))
    fleet: Fleet | None = None
    try:
        ids = {
            name: container_id()
            for name in (
                "labelled",
                "unlabelled",
                "rootless",
                "kube",
                "stranger",
                "root_label",
                "other_label",
            )
        }
        pod = str(uuid.uuid4()).replace("-", "_")
        sleep = ["sleep", LONG]
        pids = {
            "labelled": cgroups.spawn(
                sleep, cgroups.v2(f"system.slice/docker-{ids['labelled']}.scope")
            ),
            "unlabelled": cgroups.spawn(sleep, cgroups.v1_pids(f"docker/{ids['unlabelled']}")),
            "rootless": cgroups.spawn(
                ["unshare", "--user", "--map-root-user", *sleep],
                cgroups.v2(
                    "user.slice/user-1001.slice/user@1001.service/user.slice/"
                    f"libpod-{ids['rootless']}.scope/container"
                ),
            ),
            "kube": cgroups.spawn(
                sleep,
                cgroups.v2(
                    "kubepods.slice/kubepods-besteffort.slice/"
                    f"kubepods-besteffort-pod{pod}.slice/cri-containerd-{ids['kube']}.scope"
                ),
            ),
            "stranger": cgroups.spawn(
                sleep, cgroups.v2(f"system.slice/docker-{ids['stranger']}.scope")
            ),
            "root_label": cgroups.spawn(
                sleep, cgroups.v2(f"system.slice/docker-{ids['root_label']}.scope")
            ),
            "other_label": cgroups.spawn(
                sleep, cgroups.v2(f"system.slice/docker-{ids['other_label']}.scope")
            ),
            "plain": cgroups.spawn(sleep),
        }
        fleet = start_sshd_hosts(1, base, prefix="ctr")
        host = next(iter(fleet.hosts.values()))
        assert host.standin is not None
        gpus = host.standin.gpus
        apps = [
            FakeApp(gpus[i % len(gpus)].uuid, pid, "1000", "python")
            for i, pid in enumerate(pids.values())
        ]
        host.standin.set_state(gpus, apps)
        docker = installed(host.standin.bin_dir, host.standin.state_dir)
        lab = ContainerHost(fleet, host, docker, pids, ids)
        docker.set_containers(lab.default_containers())
        yield lab
    finally:
        if fleet is not None:
            fleet.stop()
        cgroups.cleanup()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def pool(container_host: ContainerHost, tmp_path: Path) -> Iterator[SshPool]:
    pool = container_host.pool(tmp_path)
    yield pool
    pool.close_all()


@pytest.fixture
def docker(container_host: ContainerHost) -> Iterator[DockerStandIn]:
    """The host's docker stand-in, back to its default containers after the test."""
    yield container_host.docker
    container_host.docker.install()
    container_host.docker.set_containers(container_host.default_containers())


ByName = Callable[[str], GpuProcess]


def by_name(host: ContainerHost, result: ProbeResult) -> ByName:
    procs = {p.pid: p for p in result.processes}
    return lambda name: procs[host.pids[name]]


def test_probe_names_the_real_owner_of_each_container(
    container_host: ContainerHost, pool: SshPool, docker: DockerStandIn
) -> None:
    proc = by_name(container_host, probe(pool, container_host.host.target))
    ids = container_host.ids
    labelled = proc("labelled")
    assert (labelled.user, labelled.container, labelled.container_runtime) == (
        REMOTE_USER,
        "vit-train",
        "docker",
    )
    assert labelled.owner_known
    assert labelled.command == f"sleep {LONG}"
    # ps says labuser, but a rootful container's uid may be anyone's: never taken as owner.
    unlabelled = proc("unlabelled")
    assert (unlabelled.user, unlabelled.container) == (None, "notebook")
    assert not unlabelled.owner_known
    assert unlabelled.owner_unknown_container
    rootless = proc("rootless")  # the host user behind the user namespace's root
    assert (rootless.user, rootless.container, rootless.container_runtime) == (
        REMOTE_USER,
        ids["rootless"][:12],
        "podman",
    )
    kube = proc("kube")
    assert (kube.user, kube.container, kube.container_runtime) == (
        None,
        ids["kube"][:12],
        "containerd",
    )
    assert (proc("stranger").user, proc("stranger").container) == (None, "bobs-job")
    assert (proc("root_label").user, proc("root_label").container) == (None, "sneaky")
    assert proc("other_label").user is None  # labelled, but not with the configured label
    plain = proc("plain")
    assert (plain.user, plain.container, plain.container_runtime) == (REMOTE_USER, None, None)
    (call,) = docker.calls()  # one inspect for every container found
    assert set(call.split()) == set(ids.values())


def timeless(result: ProbeResult) -> tuple[GpuProcess, ...]:
    """A probe's processes without their elapsed seconds, which tick between two probes."""
    return tuple(replace(p, elapsed_s=0) for p in result.processes)


def test_later_probes_reuse_what_inspect_and_getent_said(
    container_host: ContainerHost, pool: SshPool, docker: DockerStandIn
) -> None:
    """A steady lab pays for inspect and getent once per container, not every sweep: the
    answers (and the containers inspect did not know) are kept per host for a while."""
    first = timeless(probe(pool, container_host.host.target))
    again = timeless(probe(pool, container_host.host.target))
    assert again == first
    assert len(docker.calls()) == 1
    # Another pool (another collector) asks afresh.
    other = container_host.pool(Path(tempfile.mkdtemp(prefix="labgpu-pool-")))
    try:
        assert timeless(probe(other, container_host.host.target)) == first
    finally:
        other.close_all()
    assert len(docker.calls()) == 2


def test_owner_label_name_is_configurable(
    container_host: ContainerHost, pool: SshPool, docker: DockerStandIn
) -> None:
    proc = by_name(container_host, probe(pool, container_host.host.target, owner_label="lab.owner"))
    assert (proc("other_label").user, proc("other_label").container) == (REMOTE_USER, "custom")
    assert proc("labelled").user is None  # its labgpu.user label is not the one asked for


def test_inspect_refused_leaves_owners_unknown_never_wrong(
    container_host: ContainerHost, pool: SshPool, docker: DockerStandIn
) -> None:
    docker.set_containers(container_host.default_containers(), deny=True)
    proc = by_name(container_host, probe(pool, container_host.host.target))
    labelled = proc("labelled")
    assert (labelled.user, labelled.container) == (None, container_host.ids["labelled"][:12])
    assert proc("rootless").user == REMOTE_USER  # the kernel's word needs no inspect
    assert proc("plain").user == REMOTE_USER


def test_no_docker_on_path_still_probes(
    container_host: ContainerHost, pool: SshPool, docker: DockerStandIn
) -> None:
    """Without the stand-in the host's PATH finds /usr/local/bin/docker, a client without a
    daemon (or nothing at all): the probe still answers, owners unknown but the rootless one."""
    docker.remove()
    proc = by_name(container_host, probe(pool, container_host.host.target))
    assert proc("labelled").user is None
    assert proc("labelled").container == container_host.ids["labelled"][:12]
    assert proc("rootless").user == REMOTE_USER
    assert proc("plain").user == REMOTE_USER
