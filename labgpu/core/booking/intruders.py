"""A GPU used by someone other than its holder (issue 15, point 5): who, where, since when, and
what the lab's rule does about it.

An *intrusion* is a process on a GPU held by a live, started booking whose owner is not the
holder. A process whose owner labgpu does not know (a container without an owner) is shown to
the holder as used by someone unknown, but nothing is ever done to it: a message or a signal
could reach the wrong person. ``root`` is never messaged or stopped either (its processes on a
GPU are the system's: persistence daemons, the driver's helpers).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from labgpu.core.booking.bookings import Booking
from labgpu.core.inventory.servers import Gpu, GpuStatus, ServerState

#: What the lab does about an intrusion, in increasing order.
SHOW = "show"  # the holder is told, the Live view and calendar flag it (the default)
MESSAGE = "message"  # also a message on the intruder's terminals on that server
STOP = "stop"  # also SIGTERM to the intruding processes after the grace, SIGKILL after another
ACTIONS = (SHOW, MESSAGE, STOP)
#: Never messaged or stopped, whatever the rule.
UNTOUCHABLE = frozenset({"root"})


@dataclass(frozen=True, slots=True)
class Intrusion:
    """Processes of one user (or of an unknown owner) on one GPU held by someone else."""

    gpu_id: int
    gpu_label: str  # "gpu05:2"
    server: str
    group_id: str
    holder: str
    user: str | None  # None: the owner is unknown (a container)
    pids: tuple[int, ...]
    container: str | None = None
    since: datetime | None = None  # when the oldest of the processes started, if ps said

    @property
    def key(self) -> tuple[int, str, str]:
        """What identifies one intrusion from sweep to sweep."""
        return (self.gpu_id, self.group_id, self.user or f"container:{self.container}")

    @property
    def actionable(self) -> bool:
        """True when a message or a signal may be sent: the owner is known, not root."""
        return self.user is not None and self.user not in UNTOUCHABLE


def find_intrusions(
    statuses: Iterable[GpuStatus],
    gpus_by_uuid: Mapping[str, Gpu],
    active: Sequence[Booking],
    now: datetime,
) -> list[Intrusion]:
    """The intrusions on GPUs held now by a started booking (servers that answer only)."""
    held = {b.gpu_id: b for b in active if b.window.contains(now)}
    found: list[Intrusion] = []
    for status in statuses:
        gpu = gpus_by_uuid.get(status.uuid)
        if gpu is None or gpu.id is None or gpu.id not in held:
            continue
        if status.server_state is not ServerState.ONLINE:
            continue
        booking = held[gpu.id]
        by_owner: dict[tuple[str | None, str | None], list[int]] = {}
        elapsed: dict[tuple[str | None, str | None], int] = {}
        for proc in status.processes:
            if proc.user == booking.user_name:
                continue
            if proc.user is None and proc.container is None:
                continue  # exited between the two queries
            owner = (proc.user, proc.container if proc.user is None else None)
            by_owner.setdefault(owner, []).append(proc.pid)
            if proc.elapsed_s:
                elapsed[owner] = max(elapsed.get(owner, 0), proc.elapsed_s)
        taken = status.sampled_at or now
        for (user, container), pids in by_owner.items():
            seconds = elapsed.get((user, container))
            found.append(
                Intrusion(
                    gpu_id=gpu.id,
                    gpu_label=f"{gpu.server_name}:{gpu.index}",
                    server=gpu.server_name,
                    group_id=booking.group_id,
                    holder=booking.user_name,
                    user=user,
                    pids=tuple(sorted(pids)),
                    container=container,
                    since=taken - timedelta(seconds=seconds) if seconds else None,
                )
            )
    return found


def due_signal(action: str, first_seen: datetime, now: datetime, grace: timedelta) -> str | None:
    """The signal a ``stop`` rule sends now: TERM once the intrusion is ``grace`` old, KILL
    once it is twice that; None before (or under another rule)."""
    if action != STOP:
        return None
    age = now - first_seen
    if age >= 2 * grace:
        return "KILL"
    if age >= grace:
        return "TERM"
    return None
