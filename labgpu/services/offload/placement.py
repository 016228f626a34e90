"""Where a job would start first (issue 15, point 3): on the lab's free GPUs now, at the lab's
earliest slot, or on each cluster by its own estimate — side by side, then done as picked.

The lab's answer is the slot finder's (the member's own rules, servers that answer); a lab
option that does not start now is booked and the job waits on the server for the booking's
start (``labgpu run``). A cluster is asked only where no login prompt is needed now (a key
login, or one this session already holds); the others say so and are asked once the member
logs in. Nothing is booked or submitted until the member picks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from labgpu.core.booking.run import LabJob, RunRequest
from labgpu.core.booking.slots import SlotOption
from labgpu.core.errors import LabgpuError
from labgpu.core.i18n import _
from labgpu.services.app import Labgpu

#: A lab slot starting within this is "now".
NOW_SLACK = timedelta(minutes=2)


@dataclass(frozen=True, slots=True)
class Placement:
    """What the member wants run, wherever it runs."""

    command: str
    local_dir: str
    gpus: int
    hours: float
    model: str | None = None  # the lab's model (``A40``); None: any
    gpu_type: str = ""  # the cluster's GPU type (``a100``)
    results: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Option:
    """One place the job could run, and when it would start there."""

    where: str  # "lab" or a cluster's name
    start: datetime | None  # None: not known (see ``note``)
    note: str  # the GPUs, or why there is no estimate
    slot: SlotOption | None = None  # the lab's slot (None: the lab cannot serve it)
    lab: bool = False  # the lab's own GPUs (else a cluster)

    @property
    def is_lab(self) -> bool:
        """True for the lab's own GPUs."""
        return self.lab

    @property
    def runnable(self) -> bool:
        """True when *Run there* can do something: a lab slot, or a cluster (asked there)."""
        return self.slot is not None if self.lab else True


def lab_option(lab: Labgpu, placement: Placement, now: datetime) -> Option:
    """The lab's earliest slot for ``placement`` (its refusal as the note when there is none)."""
    try:
        slots = lab.bookings.find_slots(
            placement.model,
            placement.gpus,
            timedelta(hours=placement.hours),
            same_server=True,  # one job, one server
            alternatives=1,
        )
    except LabgpuError as exc:
        return Option("lab", None, str(exc), lab=True)
    if not slots:
        return Option("lab", None, _("no slot within the booking horizon"), lab=True)
    slot = slots[0]
    gpus = lab.bookings.gpus()
    labels = ", ".join(f"{gpus[i].server_name}:{gpus[i].index}" for i in slot.gpu_ids if i in gpus)
    if slot.start <= now + NOW_SLACK:
        return Option("lab", slot.start, _("free now: {gpus}").format(gpus=labels), slot, True)
    return Option("lab", slot.start, _("earliest slot: {gpus}").format(gpus=labels), slot, True)


def cluster_options(lab: Labgpu, placement: Placement) -> list[Option]:
    """Each cluster's own start estimate, where it can be asked without a login prompt."""
    offload = lab.offload
    askable = set(offload.pollable_clusters())
    found = []
    for cluster in offload.list_clusters():
        if cluster.name not in askable:
            found.append(Option(cluster.name, None, _("log in to ask for its estimate")))
            continue
        try:
            start = offload.estimate(
                cluster.name, placement.gpus, placement.hours, placement.gpu_type
            )
        except LabgpuError as exc:
            found.append(Option(cluster.name, None, str(exc)))
            continue
        note = _("its own estimate") if start else _("no estimate (it does not give one)")
        found.append(Option(cluster.name, start, note))
    return found


def compare(lab: Labgpu, placement: Placement, now: datetime) -> list[Option]:
    """Every option, the earliest start first (those without one last, in name order)."""
    options = [lab_option(lab, placement, now), *cluster_options(lab, placement)]
    return sorted(options, key=lambda o: (o.start is None, o.start or now, not o.is_lab, o.where))


def run_in_lab(
    lab: Labgpu,
    placement: Placement,
    option: Option,
    progress: Callable[[int, int], None] | None = None,
) -> LabJob:
    """Book the lab option's GPUs (the earliest slot again, if someone took it meanwhile) and
    start the job on the booking; it waits on the server for a later start."""
    if option.slot is None:
        raise LabgpuError(_("only a lab option is run on the lab's GPUs"))
    if lab.runs.simulated:  # nothing booked for a job that cannot start
        raise LabgpuError(lab.runs.simulated)
    slot = option.slot
    try:
        # No note: the calendar is the whole lab's, and a command line may hold secrets.
        group = lab.bookings.book(list(slot.gpu_ids), slot.start, slot.end)
    except LabgpuError:
        group = lab.bookings.book_earliest(
            placement.model,
            placement.gpus,
            timedelta(hours=placement.hours),
            same_server=True,
            after=slot.start,
        )
    servers: Sequence[str] = sorted({v.server for v in group.gpus})
    request = RunRequest(
        group.group_id,
        placement.command,
        local_dir=placement.local_dir,
        results=placement.results,
        server=servers[0] if len(servers) == 1 else "",
    )
    try:
        return lab.runs.start(request, progress)
    except BaseException as exc:  # no booking left behind for a job that did not start
        lab.bookings.cancel(group.group_id)
        if not isinstance(exc, LabgpuError):
            raise
        raise LabgpuError(
            _("{error} (the booking made for it was cancelled again)").format(error=exc)
        ) from exc
