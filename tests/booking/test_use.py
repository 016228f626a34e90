"""Using a booking (issue 15, point 1): ``labgpu use ID`` gives, per server, the member's own
``ssh`` line (their ssh config's name for the server when they have one) and the environment
that shows a job exactly the booked GPUs, by uuid in PCI bus order; booking JSON names each
GPU's host, index and uuid."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from labgpu.core.booking.bookings import Booking, BookingStatus, Window
from labgpu.core.booking.rules import BookingGroupView, BookingView
from labgpu.core.booking.use import plan_use, ssh_line
from labgpu.core.errors import ConfigError, RefusedError
from labgpu.core.inventory.servers import Gpu, Server, SshTarget
from labgpu.remote.ssh_config import alias_for
from tests.helpers.booking_lab import lab_url, run, run_json

__all__ = ["lab_url"]  # a fixture

H = timedelta(hours=1)
T0 = datetime(2031, 5, 4, 9, 0, tzinfo=UTC)


def gpu(gpu_id: int, server: str, index: int) -> Gpu:
    return Gpu(server, index, f"GPU-{server}-{index}", "NVIDIA RTX A4000", 16376, id=gpu_id)


def group(status: BookingStatus, *gpus: Gpu) -> BookingGroupView:
    window = Window(T0, T0 + 2 * H)
    views = tuple(
        BookingView(
            Booking(g.id, "g-1", g.id or 0, "kim", window, status),
            status,
            f"{g.server_name}:{g.index}",
            g.model,
            g.server_name,
        )
        for g in gpus
    )
    return BookingGroupView("g-1", "kim", window, status, "", views)


# -- the plan, as values ----------------------------------------------------------------------


def test_ssh_line_names_no_user_and_keeps_port_and_jump() -> None:
    assert ssh_line(SshTarget("gpu05.lab", user="monitor"), None) == "ssh gpu05.lab"
    assert ssh_line(SshTarget("gpu05.lab", port=2222), None) == "ssh -p 2222 gpu05.lab"
    assert ssh_line(SshTarget("gpu05", jump_host="gate.lab"), None) == "ssh -J gate.lab gpu05"
    assert ssh_line(SshTarget("gpu05.lab", port=2222), "g5") == "ssh g5"  # the member's name


def test_the_environment_names_the_booked_gpus_by_uuid_in_index_order() -> None:
    servers = [Server("gpu05", SshTarget("gpu05.lab")), Server("gpu07", SshTarget("gpu07.lab"))]
    gpus = {1: gpu(1, "gpu05", 3), 2: gpu(2, "gpu05", 2), 3: gpu(3, "gpu07", 0)}
    plan = plan_use(
        group(BookingStatus.BOOKED, *gpus.values()), gpus, servers, lambda _t: None, "kim"
    )
    assert [u.server for u in plan.servers] == ["gpu05", "gpu07"]
    first = plan.servers[0]
    assert first.environment == {
        "CUDA_DEVICE_ORDER": "PCI_BUS_ID",
        "CUDA_VISIBLE_DEVICES": "GPU-gpu05-2,GPU-gpu05-3",  # index 2 then 3, not booking order
    }
    assert first.exports == (
        "export CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=GPU-gpu05-2,GPU-gpu05-3"
    )
    assert plan.servers[1].ssh == "ssh gpu07.lab"


@pytest.mark.parametrize(
    ("status", "word"),
    [
        (BookingStatus.CANCELLED, "cancelled"),
        (BookingStatus.RELEASED, "released"),
        (BookingStatus.FINISHED, "over"),
    ],
)
def test_a_booking_that_is_over_has_nothing_to_use(status: BookingStatus, word: str) -> None:
    gpus = {1: gpu(1, "gpu05", 0)}
    servers = [Server("gpu05", SshTarget("gpu05.lab"))]
    with pytest.raises(RefusedError, match=f"booking g-1 is {word}: its GPUs are no longer"):
        plan_use(group(status, *gpus.values()), gpus, servers, lambda _t: None, "kim")


def test_only_the_holder_uses_a_booking() -> None:
    gpus = {1: gpu(1, "gpu05", 0)}
    servers = [Server("gpu05", SshTarget("gpu05.lab"))]
    with pytest.raises(RefusedError, match="booking g-1 is kim's, not yours: only its holder"):
        plan_use(group(BookingStatus.ACTIVE, *gpus.values()), gpus, servers, lambda _t: None, "lee")


# -- the member's own ssh config ----------------------------------------------------------------


def test_alias_is_the_members_own_name_for_the_server(tmp_path: Path) -> None:
    config = tmp_path / "config"
    assert alias_for(SshTarget("gpu05.lab"), config) is None  # no config at all
    config.write_text(
        "Host g5\n  HostName gpu05.lab\n"
        "Host g7\n  HostName gpu07.lab\n  Port 2200\n"
        "Host gpu09\n  User kim\n"
        "Host *.lab\n  User kim\n"
    )
    assert alias_for(SshTarget("gpu05.lab"), config) == "g5"
    assert alias_for(SshTarget("gpu07.lab", port=2200), config) == "g7"
    assert alias_for(SshTarget("gpu07.lab", port=22), config) is None  # another port
    assert alias_for(SshTarget("gpu09"), config) == "gpu09"  # the host is itself a Host name
    assert alias_for(SshTarget("gpu11.lab"), config) is None  # a pattern is not a name


def test_a_broken_ssh_config_is_a_clear_error(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text("Host g5\n  HostName gpu05.lab\n  Port twenty-two\n")
    with pytest.raises(ConfigError, match="cannot read this ssh config"):
        alias_for(SshTarget("gpu05.lab"), config)


# -- the command line ---------------------------------------------------------------------------


def book_two(capsys: pytest.CaptureFixture[str], url: str) -> dict[str, Any]:
    start = (datetime.now(UTC) + 2 * H).replace(minute=0, second=0, microsecond=0)
    return run_json(  # type: ignore[no-any-return]
        capsys,
        url,
        "book",
        "--gpu",
        "gpu-01:3",
        "--gpu",
        "gpu-01:1",
        "--start",
        start.isoformat(),
        "--hours",
        "2",
    )


def test_use_prints_the_ssh_line_and_the_environment(
    lab_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    booked = book_two(capsys, lab_url)
    assert [g["host"] for g in booked["gpus"]] == ["gpu-01", "gpu-01"]  # booking JSON: host too
    used = run_json(capsys, lab_url, "use", booked["group_id"][:8])
    assert used["group_id"] == booked["group_id"]
    [server] = used["servers"]
    assert server["server"] == "gpu-01"
    assert server["ssh"] == "ssh gpu-01"
    uuids = [g["uuid"] for g in server["gpus"]]
    assert [g["index"] for g in server["gpus"]] == [1, 3]
    assert server["environment"] == {
        "CUDA_DEVICE_ORDER": "PCI_BUS_ID",
        "CUDA_VISIBLE_DEVICES": ",".join(uuids),
    }
    code, out, _err = run(capsys, lab_url, "use", booked["group_id"])
    assert code == 0
    assert "    ssh gpu-01\n" in out
    assert f"CUDA_VISIBLE_DEVICES={','.join(uuids)}" in out
    assert "gpu-01 (gpu-01:1, gpu-01:3):" in out


def test_use_takes_the_members_ssh_alias(lab_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    ssh = Path.home() / ".ssh"  # the test's own HOME (conftest)
    ssh.mkdir()
    (ssh / "config").write_text("Host lab1\n  HostName gpu-01\n")
    booked = book_two(capsys, lab_url)
    [server] = run_json(capsys, lab_url, "use", booked["group_id"])["servers"]
    assert server["ssh"] == "ssh lab1"


def test_use_of_a_cancelled_booking_is_refused_and_changes_nothing(
    lab_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    booked = book_two(capsys, lab_url)
    assert run(capsys, lab_url, "cancel", booked["group_id"])[0] == 0
    code, out, err = run(capsys, lab_url, "use", booked["group_id"])
    assert code == 3
    assert out == ""
    assert "is cancelled: its GPUs are no longer yours to use; book again" in err
    [listed] = run_json(capsys, lab_url, "bookings", "--all")
    assert listed["status"] == "cancelled"


def test_use_of_an_unknown_booking_says_so(
    lab_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _out, err = run(capsys, lab_url, "use", "nosuchbooking")
    assert code == 1
    assert "see `labgpu bookings`" in err
