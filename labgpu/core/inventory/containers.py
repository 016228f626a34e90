"""Who really holds a GPU process that runs in a container, from what the probe read on the host.

The probe prints, per GPU pid, the first line of ``/proc/PID/cgroup`` that looks like a
container's and the first line of ``/proc/PID/uid_map``; where the monitoring account may run
``docker``/``podman``, one ``inspect`` of the containers found (id, name, owner label); and the
host accounts (``getent passwd``) of the names and uids it needs. From those, pure functions
here decide the owner. The rule is *never a wrong member*:

1. the container runs in a user namespace whose root is a host user (rootless Docker/Podman):
   that user — the kernel's word, so it comes first;
2. the container's owner label (``labgpu.user`` unless set otherwise) names an account of that
   server other than root: that account;
3. otherwise the owner is unknown and the container is shown by name (or short id). The uid
   ``ps`` shows for a process in a rootful container is the container's own uid, which may
   belong to anyone on the host, so it is never taken as the owner. A label naming no account
   of the server is ignored the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

DEFAULT_OWNER_LABEL = "labgpu.user"

#: A container label name labgpu accepts (it goes into a Go template and a shell command).
LABEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,127}", re.ASCII)
_ID = re.compile(r"[0-9a-f]{64}", re.ASCII)
#: The prefix of a ``<prefix>-<id>.scope`` (systemd) or ``<prefix>-<id>`` (cgroupfs) component.
_SCOPE_RUNTIMES = {
    "docker": "docker",
    "cri-containerd": "containerd",
    "nerdctl": "containerd",
    "crio": "cri-o",
    "crio-conmon": "cri-o",
    "libpod": "podman",
    "libpod-conmon": "podman",
}
#: A parent folder whose child is a bare container id (cgroup v1 and cgroupfs drivers).
_PARENT_RUNTIMES = {"docker": "docker", "libpod_parent": "podman", "podman": "podman"}
_IDENTITY_MAP = (0, 0, 4294967295)
SHORT_ID = 12


@dataclass(frozen=True, slots=True)
class ContainerRef:
    """A container found in a process's cgroup path."""

    id: str  # 64 hex digits
    runtime: str  # docker, containerd, cri-o, podman, kubernetes

    @property
    def short_id(self) -> str:
        """The first 12 digits, as ``docker ps`` shows it."""
        return self.id[:SHORT_ID]


@dataclass(frozen=True, slots=True)
class Inspected:
    """What ``docker inspect`` said of one container: its name and its owner label's value."""

    name: str
    label: str


@dataclass(frozen=True, slots=True)
class ProcessPlace:
    """One pid's line of the probe's containers section."""

    pid: int
    container: ContainerRef | None
    namespace_owner_uid: int | None  # the host uid of a user namespace's root, if not init's
    in_user_namespace: bool


@dataclass(frozen=True, slots=True)
class Attribution:
    """Who owns one process in a container: ``user`` None means *owner unknown*."""

    container: str  # the container's name, else its short id
    runtime: str
    user: str | None


def valid_label_name(name: str) -> bool:
    """True if ``name`` may be used as the owner label (letters, digits, ``._/-``)."""
    return LABEL_NAME.fullmatch(name) is not None


def parse_cgroup_line(line: str) -> ContainerRef | None:
    """The container of one ``/proc/PID/cgroup`` line (v1 ``N:controllers:/path`` or v2
    ``0::/path``), or None when the path is not a container's.

    The innermost component that holds a 64-digit id decides: ``docker-<id>.scope``,
    ``cri-containerd-<id>.scope``, ``crio-<id>.scope``, ``libpod-<id>.scope`` (also under a
    rootless user's ``user@UID.service``), ``nerdctl-<id>.scope``; or a bare id under
    ``docker/``, ``libpod_parent/`` or anywhere below ``kubepods``.
    """
    parts = line.split(":", 2)
    if len(parts) != 3:
        return None
    components = [c for c in parts[2].split("/") if c]
    kubernetes = any(c.startswith("kubepods") for c in components)
    for pos in range(len(components) - 1, -1, -1):
        found = _component(components, pos, kubernetes)
        if found is not None:
            return found
    return None


def _component(components: list[str], pos: int, kubernetes: bool) -> ContainerRef | None:
    name = components[pos].removesuffix(".scope")
    prefix, _, tail = name.rpartition("-")
    if prefix and _ID.fullmatch(tail):
        runtime = _SCOPE_RUNTIMES.get(prefix)
        if runtime is None:
            return None
        return ContainerRef(tail, "kubernetes" if kubernetes and runtime == "docker" else runtime)
    if not _ID.fullmatch(name):
        return None
    parent = components[pos - 1] if pos else ""
    if parent in _PARENT_RUNTIMES:
        return ContainerRef(name, _PARENT_RUNTIMES[parent])
    if kubernetes:
        return ContainerRef(name, "kubernetes")
    return None


def parse_uid_map(first_line: str) -> tuple[bool, int | None]:
    """``(in a user namespace, host uid of its root)`` from the first line of a uid_map.

    ``0 0 4294967295`` is the host's own namespace. ``0 1000 1`` is a rootless container of
    uid 1000. A map that does not start at 0 (or is unreadable, ``-``) gives no owner.
    """
    fields = first_line.split()
    if len(fields) != 3 or not all(f.isdigit() for f in fields):
        return (False, None)
    inside, outside, count = (int(f) for f in fields)
    if (inside, outside, count) == _IDENTITY_MAP:
        return (False, None)
    return (True, outside if inside == 0 and outside != 0 else None)


def parse_place(line: str) -> ProcessPlace | None:
    """One line ``PID INSIDE OUTSIDE COUNT CGROUP-LINE`` (``-`` for what could not be read)."""
    fields = line.split(None, 4)
    if len(fields) != 5 or not fields[0].isdigit():
        return None
    userns, owner = parse_uid_map(" ".join(fields[1:4]))
    container = None if fields[4] == "-" else parse_cgroup_line(fields[4])
    return ProcessPlace(int(fields[0]), container, owner, userns)


def parse_inspect_line(line: str) -> tuple[str, Inspected] | None:
    """``ID NAME [LABEL]`` as the probe's ``inspect --format`` prints it; Docker's names
    start with ``/``, Podman's do not; a missing label reads empty (or ``<no value>``)."""
    fields = line.split(None, 2)
    if len(fields) < 2 or not _ID.fullmatch(fields[0]):
        return None
    label = fields[2].strip() if len(fields) == 3 else ""
    if label == "<no value>":
        label = ""
    return fields[0], Inspected(fields[1].lstrip("/"), label)


def parse_account_line(line: str) -> tuple[str, int] | None:
    """``(name, uid)`` of one ``getent passwd`` line."""
    fields = line.split(":")
    if len(fields) < 3 or not fields[2].isdigit() or not fields[0]:
        return None
    return fields[0], int(fields[2])


def attribute(
    place: ProcessPlace,
    inspected: Mapping[str, Inspected],
    accounts: Iterable[tuple[str, int]],
) -> Attribution | None:
    """The owner of a process in a container by the rules of this module; None when the
    process is not in a container (its ``ps`` user stands)."""
    ref = place.container
    if ref is None:
        return None
    by_name = {name: uid for name, uid in accounts}
    by_uid = {uid: name for name, uid in by_name.items()}
    seen = inspected.get(ref.id)
    name = seen.name if seen is not None and seen.name else ref.short_id
    user: str | None = None
    if place.namespace_owner_uid is not None:
        user = by_uid.get(place.namespace_owner_uid)
    if user is None and seen is not None and by_name.get(seen.label, 0) != 0:
        user = seen.label
    return Attribution(name, ref.runtime, user)
