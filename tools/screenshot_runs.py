"""The README's screenshots of running work on a booking (issue 15, point 2), for
``tools/screenshots.py --only bookings``: docs/run_booking.png (*Run on this booking…* filled
in) and docs/booking_jobs.png (*Jobs on my bookings* with jobs in several states), each + ``_ko``.

The demo's servers are simulated, so nothing is started: the dialog is shot before Start, and the
jobs shown are rows written straight into the demo's ``lab_jobs`` table, removed afterwards.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from PySide6.QtWidgets import QWidget

from labgpu.core.booking.rules import BookingGroupView
from labgpu.core.booking.run import LabJob, new_run_name
from labgpu.core.offload.jobs import JobState
from labgpu.gui.booking.my_bookings import MyBookingsPage
from labgpu.gui.booking.run_dialog import RunDialog
from labgpu.services import Labgpu

#: (state, command, exit code, booking given back) of each job shown, newest first.
PICTURED = [
    (JobState.QUEUED, "python train.py --config vit_b16.yaml --epochs 90", None, False),
    (JobState.RUNNING, "torchrun --nproc_per_node=2 finetune.py --lr 3e-5", None, False),
    (JobState.COMPLETED, "python eval.py --ckpt runs/vit_b16/best.pt", 0, True),
    (JobState.FAILED, "bash sweep.sh lr=1e-3", 1, True),
    (JobState.TIMEOUT, "python pretrain.py --resume", 143, False),
    (JobState.CANCELLED, "python train.py --debug", 143, False),
]


def fill_run_dialog(page: MyBookingsPage, group: BookingGroupView) -> RunDialog:
    """*Run on this booking…* on ``group``, filled in as a member would (not started)."""
    page.select(group.group_id)
    dialog = page.run_selected()
    assert isinstance(dialog, RunDialog)
    dialog.folder.setText(f"/home/{page.labgpu.user}/projects/vit-pretrain")
    dialog.command.setText("python train.py --config vit_b16.yaml --epochs 90")
    dialog.results.setText("runs/vit_b16, metrics.csv")
    return dialog


def pictured_jobs(lab: Labgpu, groups: list[BookingGroupView]) -> list[int]:
    """Write the pictured jobs on the member's bookings (ahead, now, then past); their ids."""
    now = datetime.now(UTC)
    ahead = [g for g in groups if g.window.start > now]
    current = [g for g in groups if g.window.start <= now < g.window.end]
    past = [g for g in groups if g.window.end <= now]
    chosen = (ahead[:1] or groups[:1]) + (current[:1] or groups[:1]) + (past[-4:] or groups[:1])
    ids: list[int] = []
    for number, (state, command, code, given_back) in enumerate(PICTURED):
        group = chosen[min(number, len(chosen) - 1)]
        submitted = min(group.window.start, now) - timedelta(minutes=7 + number)
        server = group.gpus[0].server
        job = LabJob(
            id=0,
            name=new_run_name(lab.user, submitted, f"{number:06d}"),
            group_id=group.group_id,
            server=server,
            user_name=lab.user,
            state=JobState.SUBMITTING,
            command=command,
            local_dir="",
            remote_dir="",
            job_dir="",
            submitted_at=submitted,
            starts_at=group.window.start,
            ends_at=group.window.end,
        )
        job = lab.store.lab_jobs.add(replace(job, job_dir=f".labgpu/jobs/{job.name}"))
        ended = min(group.window.end, now) - timedelta(minutes=40) if code is not None else None
        lab.store.lab_jobs.update(
            job.id,
            state=state,
            exit_code=code,
            started_at=group.window.start if state is not JobState.QUEUED else None,
            ended_at=ended,
            released_at=ended if given_back else None,
        )
        ids.append(job.id)
    return ids


def shoot_runs(
    page: MyBookingsPage,
    lab: Labgpu,
    save: Callable[[QWidget, Path], None],
    settle: Callable[[Callable[[], bool]], None],
    window: QWidget,
    out: Path,
    suffix: str,
) -> None:
    """docs/run_booking{suffix}.png and docs/booking_jobs{suffix}.png."""
    usable = [g for g in page.groups if g.status.value in ("booked", "active")]
    if not usable:
        return
    dialog = fill_run_dialog(page, usable[0])
    settle(lambda: "—" in dialog.at_end.text())
    save(dialog, out / f"run_booking{suffix}.png")
    dialog.close()
    ids = pictured_jobs(lab, page.groups)
    try:
        page.jobs.reload()
        settle(lambda: len(page.jobs.jobs) == len(ids))
        page.jobs.select(ids[1])
        settle(lambda: True)
        save(window, out / f"booking_jobs{suffix}.png")
    finally:
        for job_id in ids:
            lab.store.lab_jobs.delete(job_id, lab.user, "screenshot")
