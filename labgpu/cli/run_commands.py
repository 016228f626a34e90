"""``labgpu run BOOKING_ID -- COMMAND…`` (issue 15, point 2): run work on a booking, detached on
the booked server under the member's own login (``labgpu jobs`` follows it: ``jobs_commands``)."""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from labgpu.cli import commands, output
from labgpu.cli.times import show_time
from labgpu.core.booking.run import LabJob, RunRequest
from labgpu.core.errors import UsageError
from labgpu.core.i18n import N_, _
from labgpu.services import Labgpu

Sub = Any  # argparse's _SubParsersAction is private

_minutes_arg = commands.bounded_arg(
    float,
    N_("a number of minutes"),
    lambda v: v >= 0,
    N_("--warn-before must be 0 minutes or more, not {text}"),
)


def register(sub: Sub) -> None:
    """Add ``run`` (``jobs`` is in ``jobs_commands``)."""
    p = sub.add_parser(
        "run",
        help="run a command detached on a booking's server, with exactly its GPUs",
        description=(
            "Stage --dir to the booked server (only changed files), then start COMMAND there "
            "under your own SSH login, detached: it survives the connection and this program. "
            "A booking that starts later makes the job wait on the server. When the job ends "
            "before the booking, the rest of the booking is given back."
        ),
    )
    p.add_argument("booking_id", metavar="BOOKING_ID", help="the booking (see `labgpu bookings`)")
    p.add_argument("--dir", type=Path, help="local folder to copy over; the command runs in it")
    p.add_argument(
        "--result", action="append", default=[], metavar="PATH",
        help="path (relative to --dir) to bring back with `labgpu jobs fetch` (repeatable)",
    )  # fmt: skip
    p.add_argument("--server", default="", help="which server, for a booking that spans several")
    p.add_argument(
        "--warn-before", type=_minutes_arg, default=10.0, metavar="MINUTES",
        help="write a warning into the job's log this long before the booking ends (default 10)",
    )  # fmt: skip
    p.add_argument("--json", action="store_true", help="print the job as JSON")
    p.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND...")
    p.set_defaults(handler=run_run, parser=p)


def _command(words: Sequence[str]) -> str:
    words = list(words)
    if words and words[0] == "--":
        words = words[1:]
    if not words:
        raise UsageError(_("give the command to run after --, e.g. `-- python train.py`"))
    if len(words) == 1:
        return words[0]  # one argument: a shell command line the member wrote themselves
    return shlex.join(words)


def job_json(job: LabJob) -> dict[str, Any]:
    """One job on a booking, as the README documents it."""
    return {
        "id": job.id,
        "name": job.name,
        "where": job.server,
        "server": job.server,
        "booking": job.group_id,
        "user": job.user_name,
        "state": job.state.value,
        "reason": job.reason,
        "exit_code": job.exit_code,
        "pid": job.pid,
        "command": job.command,
        "local_dir": job.local_dir,
        "remote_dir": job.remote_dir,
        "log": f"~/{job.job_dir}/labgpu-output.log",
        "at_booking_end": job.at_end,
        "booking_start": output.iso(job.starts_at),
        "booking_end": output.iso(job.ends_at),
        "submitted_at": output.iso(job.submitted_at),
        "started_at": output.iso(job.started_at),
        "ended_at": output.iso(job.ended_at),
        "released_at": output.iso(job.released_at),
        "results": list(job.results),
        "fetched_at": output.iso(job.fetched_at),
    }


def state_text(job: LabJob) -> str:
    """``running``, ``failed (exit 2)``, ``queued (waits for 14:00)``…"""
    text = job.state.value
    if job.state.is_final and job.exit_code not in (None, 0):
        text += _(" (exit {code})").format(code=job.exit_code)
    elif job.state.value == "queued":
        text += _(" (waits for {start})").format(start=show_time(job.starts_at))
    elif job.reason and job.state.is_final:
        text += f" ({job.reason})"
    if job.released_at is not None:
        text += _(", booking given back")
    return text


def _rows(jobs: Sequence[LabJob]) -> str:
    rows = [
        [str(j.id), j.server, j.group_id[:8], state_text(j), show_time(j.submitted_at), j.command]
        for j in jobs
    ]
    return output.table(rows, ["ID", "WHERE", "BOOKING", "STATE", "SUBMITTED", "COMMAND"])


def _options_before_command(args: argparse.Namespace) -> argparse.Namespace:
    """``run ID --dir x -- cmd``: argparse hands everything after ID to the command; the
    options before ``--`` are parsed here, as the contract's ``run BOOKING_ID [--dir PATH]
    [--result PATH] -- COMMAND...`` has them."""
    words = list(args.command)
    if "--" not in words or words[0] == "--":
        return args
    cut = words.index("--")
    parsed = args.parser.parse_args(
        [*words[:cut], args.booking_id], namespace=argparse.Namespace(**vars(args))
    )
    parsed.command = words[cut:]
    return parsed


def run_run(args: argparse.Namespace) -> int:
    """Start the job; print it."""
    args = _options_before_command(args)
    request = RunRequest(
        booking=args.booking_id,
        command=_command(args.command),
        local_dir=str(args.dir) if args.dir else "",
        results=tuple(args.result),
        warn_before=timedelta(minutes=args.warn_before),
        server=args.server,
    )

    def work(lab: Labgpu) -> int:
        job = lab.runs.start(request)
        if args.json:
            output.print_json(job_json(job))
            return 0
        print(
            _("job {id} ({name}) on {server}: {state}").format(
                id=job.id, name=job.name, server=job.server, state=state_text(job)
            )
        )
        print(
            _("  log: `labgpu jobs log {id}`; stop it: `labgpu jobs cancel {id}`").format(id=job.id)
        )
        return 0

    return commands.with_lab(args, work)
