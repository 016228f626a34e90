"""Reading a process's container and owner from what the probe printed (pure functions)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from labgpu.core.inventory import nvidia_smi
from labgpu.core.inventory.containers import (
    ContainerRef,
    Inspected,
    ProcessPlace,
    attribute,
    parse_cgroup_line,
    parse_inspect_line,
    parse_place,
    parse_uid_map,
    valid_label_name,
)

ID = "3f4e" * 16
KUBE_POD = "pod7c9a2b1e_5d3f_4c2a_9e8b_1a2b3c4d5e6f"


@pytest.mark.parametrize(
    ("line", "runtime"),
    [
        (f"0::/system.slice/docker-{ID}.scope", "docker"),  # v2, systemd driver
        (f"12:pids:/docker/{ID}", "docker"),  # v1, cgroupfs driver
        (f"1:name=systemd:/docker/{ID}", "docker"),
        (f"0::/docker/{ID}", "docker"),  # v2, cgroupfs driver
        (f"0::/system.slice/docker-{ID}.scope/init.scope", "docker"),  # systemd inside
        (f"0::/system.slice/containerd.service/default/{ID}", None),  # nerdctl v1-style: no
        (f"0::/system.slice/nerdctl-{ID}.scope", "containerd"),
        (
            f"0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-{KUBE_POD}.slice/"
            f"cri-containerd-{ID}.scope",
            "containerd",
        ),
        (f"11:memory:/kubepods/burstable/{KUBE_POD}/{ID}", "kubernetes"),  # v1 kubelet
        (f"0::/kubepods.slice/kubepods-pod{KUBE_POD}.slice/crio-{ID}.scope", "cri-o"),
        (f"0::/machine.slice/libpod-{ID}.scope", "podman"),  # rootful podman
        (f"0::/machine.slice/libpod-{ID}.scope/container", "podman"),
        (
            "0::/user.slice/user-1000.slice/user@1000.service/user.slice/"
            f"libpod-{ID}.scope/container",
            "podman",
        ),  # rootless podman
        (f"5:pids:/libpod_parent/libpod-{ID}", "podman"),  # v1, cgroupfs manager
        (
            "0::/user.slice/user-1000.slice/user@1000.service/app.slice/"
            f"docker.service/docker/{ID}",
            "docker",
        ),  # rootless docker
    ],
)
def test_container_cgroup_lines(line: str, runtime: str | None) -> None:
    found = parse_cgroup_line(line)
    if runtime is None:
        assert found is None
    else:
        assert found == ContainerRef(ID, runtime)
        assert found.short_id == ID[:12]


@pytest.mark.parametrize(
    "line",
    [
        "0::/",
        "0::/system.slice/docker.service",  # the daemon itself
        "0::/user.slice/user-1000.slice/session-3.scope",
        "4:memory:/process_api/2a8fabeb731559c63baa3ceb1e4ff0fb",
        f"0::/system.slice/docker-{ID[:60]}.scope",  # not a full id
        f"0::/system.slice/unknown-{ID}.scope",
        f"0::/somewhere/{ID}",  # a bare id with no runtime around it
        "garbage",
    ],
)
def test_lines_that_are_not_containers(line: str) -> None:
    assert parse_cgroup_line(line) is None


def test_uid_maps() -> None:
    assert parse_uid_map("0 0 4294967295") == (False, None)  # the host's namespace
    assert parse_uid_map("0 1000 1") == (True, 1000)  # rootless: uid 1000's container
    assert parse_uid_map("0 100000 65536") == (True, 100000)  # userns-remap: no account
    assert parse_uid_map("1234 0 1") == (True, None)  # maps root in: no owner
    assert parse_uid_map("- - -") == (False, None)  # unreadable (gone)


def test_place_and_inspect_lines() -> None:
    place = parse_place(f"4242 0 1000 1 0::/machine.slice/libpod-{ID}.scope")
    assert place == ProcessPlace(4242, ContainerRef(ID, "podman"), 1000, True)
    assert parse_place("4242 - - - -") == ProcessPlace(4242, None, None, False)
    assert parse_place("nonsense") is None
    assert parse_inspect_line(f"{ID} /vit-train kim.minjun") == (
        ID,
        Inspected("vit-train", "kim.minjun"),
    )
    assert parse_inspect_line(f"{ID} vit-train") == (ID, Inspected("vit-train", ""))
    assert parse_inspect_line(f"{ID} /x <no value>") == (ID, Inspected("x", ""))
    assert parse_inspect_line("Error: No such object") is None


ACCOUNTS = [("kim.minjun", 1000), ("root", 0), ("lee", 1001)]


def _place(uid: int | None = None) -> ProcessPlace:
    return ProcessPlace(7, ContainerRef(ID, "docker"), uid, uid is not None)


@pytest.mark.parametrize(
    ("place", "label", "user"),
    [
        (_place(), "kim.minjun", "kim.minjun"),  # label names an account
        (_place(), "", None),  # no label: owner unknown
        (_place(), "bob", None),  # label names nobody on the server: never guessed
        (_place(), "root", None),  # root is nobody's
        (_place(1001), "", "lee"),  # rootless: the user behind the namespace
        (_place(1001), "kim.minjun", "lee"),  # the kernel's word before a label
        (_place(100000), "", None),  # userns-remap's subordinate uid: nobody
    ],
)
def test_owner_rule(place: ProcessPlace, label: str, user: str | None) -> None:
    found = attribute(place, {ID: Inspected("vit-train", label)}, ACCOUNTS)
    assert found is not None
    assert (found.container, found.runtime, found.user) == ("vit-train", "docker", user)


def test_not_in_a_container_keeps_ps_user() -> None:
    assert attribute(ProcessPlace(7, None, None, False), {}, ACCOUNTS) is None


def test_uninspected_container_is_shown_by_short_id() -> None:
    found = attribute(_place(), {}, ACCOUNTS)
    assert found is not None
    assert (found.container, found.user) == (ID[:12], None)


def test_label_names() -> None:
    assert valid_label_name("labgpu.user")
    assert valid_label_name("org.example/owner-name_2")
    for bad in ("", "a b", 'x"}}', "$(id)", "-x", "a" * 200):
        assert not valid_label_name(bad)


def _output(containers: str, labels: str | None, accounts: str | None) -> str:
    parts = [
        nvidia_smi.HEADER,
        nvidia_smi.GPUS,
        "0, GPU-a, NVIDIA A40, 46068, 9000, 80, 60, 200.0",
        nvidia_smi.APPS,
        "GPU-a, 11, 4000, python",
        "GPU-a, 12, 4000, python",
        nvidia_smi.PS,
        "11 root 100 python train.py",
        "12 kim.minjun 50 python eval.py",
        nvidia_smi.CONTAINERS,
        containers,
    ]
    if labels is not None:
        parts += [nvidia_smi.LABELS, labels]
    if accounts is not None:
        parts += [nvidia_smi.ACCOUNTS, accounts]
    parts += [f"{nvidia_smi.EXIT_PREFIX}0", nvidia_smi.END]
    return "\n".join(parts) + "\n"


def test_probe_output_with_containers() -> None:
    text = _output(
        f"11 0 0 4294967295 0::/system.slice/docker-{ID}.scope\n12 0 0 4294967295 -",
        f"{ID} /vit-train kim.minjun",
        "kim.minjun:x:1000:1000::/home/kim.minjun:/bin/bash",
    )
    result = nvidia_smi.parse_probe_output("h", text, datetime.now(UTC))
    boxed, plain = result.processes
    assert (boxed.user, boxed.container, boxed.container_runtime) == (
        "kim.minjun",
        "vit-train",
        "docker",
    )
    assert (plain.user, plain.container) == ("kim.minjun", None)


def test_probe_output_container_owner_unknown() -> None:
    text = _output(f"11 0 0 4294967295 12:pids:/docker/{ID}\n12 - - - -", None, None)
    boxed, plain = nvidia_smi.parse_probe_output("h", text, datetime.now(UTC)).processes
    assert (boxed.user, boxed.container, boxed.owner_known) == (None, ID[:12], False)
    assert plain.user == "kim.minjun"


def test_probe_output_without_container_sections_is_unchanged() -> None:
    text = _output("11 0 0 4294967295 -\n12 0 0 4294967295 -", None, None)
    text = text.replace(nvidia_smi.CONTAINERS + "\n", "").replace("11 0 0 4294967295 -\n", "")
    text = text.replace("12 0 0 4294967295 -\n", "")
    boxed, plain = nvidia_smi.parse_probe_output("h", text, datetime.now(UTC)).processes
    assert (boxed.user, boxed.container, plain.user) == ("root", None, "kim.minjun")
