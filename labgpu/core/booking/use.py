"""Using a booking: where to log in, and the environment that shows a job exactly the booked
GPUs (issue 15, point 1).

CUDA numbers GPUs fastest first unless ``CUDA_DEVICE_ORDER=PCI_BUS_ID`` is set, so
``CUDA_VISIBLE_DEVICES=2,3`` can silently pick other cards than nvidia-smi's 2 and 3. The
booked GPUs are therefore named by their uuids, which CUDA accepts in ``CUDA_VISIBLE_DEVICES``
and which never change meaning. The login is the member's own (their key, agent and
``~/.ssh/config``), never the lab's monitoring account, so the ``ssh`` line names no user.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from labgpu.core.booking.bookings import BookingStatus
from labgpu.core.booking.rules import BookingGroupView
from labgpu.core.errors import RefusedError
from labgpu.core.i18n import N_, _
from labgpu.core.inventory.servers import Gpu, Server, SshTarget

#: Statuses of a booking whose GPUs can be used now or later.
USABLE = (BookingStatus.PENDING, BookingStatus.BOOKED, BookingStatus.ACTIVE)
#: Why a booking has nothing left to use, as a person reads it.
_OVER = {
    BookingStatus.FINISHED: N_("over"),
    BookingStatus.CANCELLED: N_("cancelled"),
    BookingStatus.RELEASED: N_("released"),
}


@dataclass(frozen=True, slots=True)
class UseOnServer:
    """The booked GPUs of one server and how to use them."""

    server: str
    host: str
    ssh: str  # the command line that logs the member in
    gpus: tuple[Gpu, ...]  # by index

    @property
    def environment(self) -> dict[str, str]:
        """What a job's environment needs to see exactly these GPUs, by uuid."""
        return {
            "CUDA_DEVICE_ORDER": "PCI_BUS_ID",
            "CUDA_VISIBLE_DEVICES": ",".join(g.uuid for g in self.gpus),
        }

    @property
    def exports(self) -> str:
        """The environment as one shell line (``export A=… B=…``)."""
        pairs = " ".join(f"{k}={shlex.quote(v)}" for k, v in self.environment.items())
        return f"export {pairs}"


@dataclass(frozen=True, slots=True)
class UsePlan:
    """A booking group and, per server, how to use its GPUs."""

    group: BookingGroupView
    servers: tuple[UseOnServer, ...]


def ssh_line(target: SshTarget, alias: str | None) -> str:
    """``ssh ALIAS`` when the member's own ssh config names the server, else ``ssh [-p PORT]
    [-J JUMP] HOST`` (no user: the member's own login, not the lab's monitoring account)."""
    if alias:
        return f"ssh {shlex.quote(alias)}"
    words = ["ssh"]
    if target.port not in (None, 22):
        words += ["-p", str(target.port)]
    if target.jump_host:
        words += ["-J", target.jump_host]
    words.append(target.host)
    return shlex.join(words)


def plan_use(
    group: BookingGroupView,
    gpus: Mapping[int, Gpu],
    servers: Sequence[Server],
    alias: Callable[[SshTarget], str | None],
    user: str,
) -> UsePlan:
    """How ``user`` uses ``group``'s GPUs, per server in name order. Only the holder uses a
    booking, and a booking that is over or was cancelled has nothing to use
    (``RefusedError``, exit 3)."""
    if group.user != user:
        raise RefusedError(
            _(
                "booking {id} is {holder}'s, not yours: only its holder uses its GPUs; "
                "`labgpu slots` shows when GPUs are free for you"
            ).format(id=group.group_id, holder=group.user)
        )
    if group.status not in USABLE:
        raise RefusedError(
            _("booking {id} is {status}: its GPUs are no longer yours to use; book again").format(
                id=group.group_id, status=_(_OVER.get(group.status, group.status.value))
            )
        )
    by_name = {s.name: s for s in servers}
    per_server: dict[str, list[Gpu]] = {}
    for view in group.gpus:
        gpu = gpus.get(view.gpu_id)
        if gpu is None or gpu.server_name not in by_name:
            raise RefusedError(
                _("GPU {gpu} of booking {id} is no longer registered; ask a lab manager").format(
                    gpu=view.gpu_label, id=group.group_id
                )
            )
        per_server.setdefault(gpu.server_name, []).append(gpu)
    uses = []
    for name in sorted(per_server):
        target = by_name[name].target
        booked = tuple(sorted(per_server[name], key=lambda g: g.index))
        uses.append(UseOnServer(name, target.host, ssh_line(target, alias(target)), booked))
    return UsePlan(group, tuple(uses))
