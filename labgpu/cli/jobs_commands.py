"""``labgpu jobs …`` (issue 15, points 2 and 3): one list of the member's jobs, wherever they
run — on their bookings on the lab's servers (``labgpu run``) and on clusters (``labgpu offload
submit``) — followed, read, cancelled and fetched the same way.

A job on a booking is named by its number (``12``), a cluster job by ``c`` and its number
(``c7``, the number ``labgpu offload`` shows). Listing refreshes the lab jobs from their
servers and the cluster jobs from the clusters that need no login prompt now (key logins and
logins already held); the others show their last known state.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from labgpu.cli import commands, offload_commands, output
from labgpu.cli.cluster_commands import with_lab
from labgpu.cli.run_commands import job_json, state_text
from labgpu.cli.times import show_time
from labgpu.core.booking.run import LabJob
from labgpu.core.errors import LabgpuError
from labgpu.core.i18n import _
from labgpu.core.offload.jobs import OffloadJob
from labgpu.services import Labgpu

Sub = Any  # argparse's _SubParsersAction is private

_REF = re.compile(r"^(c?)(\d+)$", re.IGNORECASE)


def job_ref(text: str) -> tuple[str, int]:
    """``"12"`` → ("lab", 12), ``"c7"`` → ("cluster", 7); anything else is a usage error."""
    found = _REF.match(text.strip())
    if found is None:
        raise argparse.ArgumentTypeError(
            _("{text} is not a job: give its number (12) or, for a cluster job, c7").format(
                text=repr(text)
            )
        )
    return ("cluster" if found.group(1) else "lab", int(found.group(2)))


def register(sub: Sub) -> None:
    """Add ``jobs`` and its actions."""
    j = sub.add_parser(
        "jobs",
        help="your jobs on bookings and on clusters: list, status, log, cancel, fetch",
        description=(
            "One list of your jobs: those run on your bookings (`labgpu run`, number 12) and "
            "those sent to clusters (`labgpu offload submit`, c7)."
        ),
    )
    j.add_argument(
        "--json", action="store_true", help="the list as JSON (same as jobs list --json)"
    )
    jsub = j.add_subparsers(dest="jobs_command", metavar="ACTION")
    j.set_defaults(handler=run_list)
    ls = jsub.add_parser("list", help="your jobs, refreshed from their servers and clusters")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(handler=run_list)
    for name, handler, helptext in (
        ("status", run_status, "one job, refreshed, with the end of its output"),
        ("log", run_log, "the job's output as it is now"),
        ("cancel", run_cancel, "stop a waiting or running job (a booking stays yours)"),
        ("fetch", run_fetch, "copy the job's output and result paths home"),
    ):
        a = jsub.add_parser(name, help=helptext)
        a.add_argument("ref", type=job_ref, metavar="JOB", help="12 (on a booking) or c7 (cluster)")
        if name == "fetch":
            a.add_argument("--to", type=Path, help="folder to copy into")
        if name != "log":
            a.add_argument("--json", action="store_true")
        a.set_defaults(handler=handler)


def cluster_json(job: OffloadJob) -> dict[str, Any]:
    """A cluster job in the list: ``labgpu offload``'s fields, with kind, ref and where."""
    return {
        "kind": "cluster",
        "ref": f"c{job.id}",
        "where": job.cluster,
        **offload_commands.job_json(job),
    }


def lab_json(job: LabJob) -> dict[str, Any]:
    """A job on a booking in the list."""
    return {"kind": "lab", "ref": str(job.id), **job_json(job)}


def _cluster_state(job: OffloadJob) -> str:
    text = job.state.value
    if job.state.is_final and job.exit_code not in (None, 0):
        text += _(" (exit {code})").format(code=job.exit_code)
    elif job.reason:
        text += f" ({job.reason})"
    return text


def _rows(lab_jobs: list[LabJob], cluster_jobs: list[OffloadJob]) -> str:
    rows = [
        (j.submitted_at, [str(j.id), j.server, state_text(j), show_time(j.submitted_at), j.command])
        for j in lab_jobs
    ]
    rows += [
        (
            j.submitted_at,
            [f"c{j.id}", j.cluster, _cluster_state(j), show_time(j.submitted_at), j.command],
        )
        for j in cluster_jobs
    ]
    rows.sort(key=lambda r: r[0], reverse=True)
    return output.table([r for _t, r in rows], ["JOB", "WHERE", "STATE", "SUBMITTED", "COMMAND"])


def run_list(args: argparse.Namespace) -> int:
    """Refresh what can be refreshed without a login prompt, then list every job."""

    def work(lab: Labgpu) -> int:
        lab.runs.refresh()
        offload = lab.offload
        _not_refreshed(offload.refresh(offload.pollable_clusters()).errors)
        lab_jobs, cluster_jobs = lab.runs.jobs(), offload.jobs()
        if args.json:
            merged = [(j.submitted_at, lab_json(j)) for j in lab_jobs]
            merged += [(j.submitted_at, cluster_json(j)) for j in cluster_jobs]
            merged.sort(key=lambda pair: pair[0], reverse=True)
            output.print_json([item for _t, item in merged])
        elif lab_jobs or cluster_jobs:
            print(_rows(lab_jobs, cluster_jobs))
        else:
            print(
                _(
                    "no jobs yet; run one on a booking with `labgpu run BOOKING_ID -- COMMAND`, "
                    "or on a cluster with `labgpu offload submit`"
                )
            )
        return 0

    return with_lab(args, work)


def _cluster(args: argparse.Namespace, handler: Any) -> int:
    """Hand a cluster job to ``labgpu offload``'s own action (same output, same exit codes)."""
    args.id = args.ref[1]
    return int(handler(args))


def run_status(args: argparse.Namespace) -> int:
    """One job, refreshed, with the end of its output."""
    kind, number = args.ref

    def work(lab: Labgpu) -> int:
        if kind == "cluster":
            cluster_job = lab.offload.job(number)
            _not_refreshed(lab.offload.refresh([cluster_job.cluster]).errors)
            cluster_job = lab.offload.job(number)
            if args.json:
                output.print_json(cluster_json(cluster_job))
                return 0
            print(_rows([], [cluster_job]))
            _print_tail(lambda: "\n".join(t for t in lab.offload.tail(number, 4096) if t.strip()))
            return 0
        lab.runs.job(number)
        lab.runs.refresh()
        job = lab.runs.job(number)
        if args.json:
            output.print_json(lab_json(job))
            return 0
        print(_rows([job], []))
        _print_tail(lambda: lab.runs.tail(job.id, 4096))
        return 0

    return with_lab(args, work)


def _not_refreshed(errors: dict[str, str]) -> None:
    """Say which clusters could not be asked (their jobs show their last known state)."""
    for cluster, message in errors.items():
        print(
            _("labgpu: {cluster}: not refreshed ({error}); states shown as last known").format(
                cluster=cluster, error=message
            ),
            file=sys.stderr,
        )


def _print_tail(read: Callable[[], str]) -> None:
    """The last 20 lines of a job's output, or why there are none."""
    try:
        text = read()
    except LabgpuError as exc:
        print(_("labgpu: no log tail ({error})").format(error=exc), file=sys.stderr)
        return
    if text.strip():
        print(_("--- log (end) ---"))
        print("\n".join(text.rstrip().splitlines()[-20:]))


def run_log(args: argparse.Namespace) -> int:
    """Print the job's output as it is now (a cluster job: stdout, then stderr)."""
    kind, number = args.ref

    def work(lab: Labgpu) -> int:
        if kind == "cluster":
            out, err = lab.offload.tail(number, 1 << 20)
            sys.stdout.write(out)
            if err.strip():
                sys.stdout.write(_("--- stderr ---") + "\n" + err)
            return 0
        sys.stdout.write(lab.runs.tail(number, 1 << 20))
        return 0

    return with_lab(args, work)


def run_cancel(args: argparse.Namespace) -> int:
    """Stop a job."""
    kind, number = args.ref
    if kind == "cluster":
        return _cluster(args, offload_commands.run_cancel)

    def work(lab: Labgpu) -> int:
        job = lab.runs.cancel(number)
        if args.json:
            output.print_json(lab_json(job))
        else:
            print(_("cancelled job {id} ({name})").format(id=job.id, name=job.name))
        return 0

    return commands.with_lab(args, work)


def run_fetch(args: argparse.Namespace) -> int:
    """Copy a job's output and results home."""
    kind, number = args.ref
    if kind == "cluster":
        return _cluster(args, offload_commands.run_fetch)

    def work(lab: Labgpu) -> int:
        dest, report = lab.runs.fetch(number, args.to)
        missing = _("labgpu: {path} does not exist on the server (yet)")
        offload_commands.print_fetched(dest, report, args.json, missing)
        return 0

    return commands.with_lab(args, work)
