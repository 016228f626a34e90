"""``labgpu offload ...`` (issue 5): submit jobs to a shared cluster, follow them, bring their
results home; ``register`` adds the ``clusters`` commands (``cluster_commands``) too.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labgpu.cli import cluster_commands, commands, output, project_commands
from labgpu.cli.cluster_commands import terminal_prompter, with_lab
from labgpu.core.errors import LabgpuError
from labgpu.core.i18n import N_, _
from labgpu.core.offload.jobs import DEFAULT_EXCLUDES, JobRequest, OffloadJob, job_gpu_hours
from labgpu.services import Labgpu

if TYPE_CHECKING:
    from labgpu.remote.staging import TransferReport

Sub = Any  # argparse's _SubParsersAction is private


def register(sub: Sub) -> None:
    """Add the ``clusters`` and ``offload`` commands."""
    cluster_commands.add_clusters(sub)
    _add_offload(sub)


_gpus_arg = commands.bounded_arg(
    int, N_("a whole number of GPUs"), lambda v: v >= 0, N_("--gpus must be 0 or more, not {text}")
)
_hours_arg = commands.bounded_arg(
    float, N_("a number of hours"), lambda v: v > 0, N_("--hours must be more than 0, not {text}")
)


def _add_offload(sub: Sub) -> None:
    o = sub.add_parser("offload", help="run jobs on a shared cluster and bring results home")
    osub = o.add_subparsers(dest="offload_command", metavar="ACTION", required=True)
    s = osub.add_parser("submit", help="stage a folder and submit a command to a cluster")
    s.add_argument("--cluster", required=True)
    s.add_argument("--dir", required=True, type=Path, help="local folder to send")
    s.add_argument("--gpus", required=True, type=_gpus_arg)
    s.add_argument("--hours", required=True, type=_hours_arg)
    s.add_argument("--gpu-type", default="", help="e.g. a100")
    s.add_argument(
        "--result", action="append", default=[], metavar="PATH",
        help="path (relative to the folder) to bring back when the job ends (repeatable)",
    )  # fmt: skip
    s.add_argument(
        "--exclude", action="append", default=None, metavar="PATTERN",
        help=f"names not to send (default: {', '.join(DEFAULT_EXCLUDES)})",
    )  # fmt: skip
    s.add_argument("--script", type=Path, help="send this (edited) job script instead")
    s.add_argument("--show-script", action="store_true", help="print the job script, send nothing")
    s.add_argument("--estimate", action="store_true", help="print the cluster's start estimate")
    project_commands.add_project_args(s)
    s.add_argument("--json", action="store_true")
    s.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND...")
    s.set_defaults(handler=run_submit)
    ls = osub.add_parser("list", help="your offloaded jobs (refreshed from the clusters)")
    ls.add_argument("--all", action="store_true", help="everyone's jobs")
    ls.add_argument("--no-refresh", action="store_true", help="show the records only")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(handler=run_list)
    st = osub.add_parser("status", help="one job, with the end of its output")
    st.add_argument("id", type=int)
    st.add_argument("--json", action="store_true")
    st.set_defaults(handler=run_status)
    ca = osub.add_parser("cancel", help="cancel a queued or running job")
    ca.add_argument("id", type=int)
    ca.add_argument("--json", action="store_true", help="the job as JSON")
    ca.set_defaults(handler=run_cancel)
    fe = osub.add_parser("fetch", help="copy a job's output and results home")
    fe.add_argument("id", type=int)
    fe.add_argument("--to", type=Path, help="local folder (default: DIR/labgpu-results/NAME)")
    fe.add_argument("--json", action="store_true")
    fe.set_defaults(handler=run_fetch)
    us = osub.add_parser("usage", help="offloaded GPU-hours per month, member and cluster")
    us.add_argument("--json", action="store_true")
    us.set_defaults(handler=run_usage)
    rs = osub.add_parser("resubmit", help="send a job again")
    rs.add_argument("id", type=int)
    rs.add_argument("--json", action="store_true", help="the new job as JSON")
    rs.set_defaults(handler=run_resubmit)


# -- helpers ---------------------------------------------------------------------------------


def _ask_for(lab: Labgpu, cluster: str) -> None:
    lab.offload.ask = terminal_prompter(cluster)


def job_json(job: OffloadJob) -> dict[str, Any]:
    """One offloaded job as documented in the README."""
    return {
        "id": job.id,
        "name": job.name,
        "cluster": job.cluster,
        "user": job.user_name,
        "remote_id": job.remote_id,
        "state": job.state.value,
        "scheduler_state": job.raw_state,
        "reason": job.reason,
        "exit_code": job.exit_code,
        "gpus": job.gpus,
        "gpu_type": job.gpu_type,
        "hours": job.hours,
        "command": job.command,
        "local_dir": job.local_dir,
        "remote_dir": job.remote_dir,
        "submitted_at": output.iso(job.submitted_at),
        "started_at": output.iso(job.started_at),
        "ended_at": output.iso(job.ended_at),
        "elapsed_s": job.elapsed_s,
        "gpu_hours": round(job_gpu_hours(job), 4),
        "results": list(job.results),
        "fetched_at": output.iso(job.fetched_at),
        "project": job.project,
    }


def _elapsed(job: OffloadJob) -> str:
    if job.elapsed_s is None:
        return "-"
    minutes, seconds = divmod(job.elapsed_s, 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{seconds:02d}"


def _state(job: OffloadJob) -> str:
    text = job.state.value
    if job.state.is_final and job.exit_code not in (None, 0):
        text += _(" (exit {code})").format(code=job.exit_code)
    elif job.reason:
        text += f" ({job.reason})"
    return text


def _job_rows(jobs: Sequence[OffloadJob]) -> str:
    rows = [
        [
            str(j.id), j.name, j.cluster, _state(j), str(j.gpus), _elapsed(j),
            j.submitted_at.astimezone().strftime("%Y-%m-%d %H:%M"),
        ]
        for j in jobs
    ]  # fmt: skip
    header = ["ID", "NAME", "CLUSTER", "STATE", "GPUS", "ELAPSED", "SUBMITTED"]
    return output.table(rows, header)


def _note_errors(errors: dict[str, str]) -> None:
    for cluster, message in errors.items():
        print(
            _("labgpu: {cluster}: not refreshed ({error}); states shown as last known").format(
                cluster=cluster, error=message
            ),
            file=sys.stderr,
        )


# -- offload ---------------------------------------------------------------------------------


def _command(words: Sequence[str]) -> str:
    words = list(words)
    if words and words[0] == "--":
        words = words[1:]
    if not words:
        raise LabgpuError(_("give the command to run after --, e.g. `-- python train.py`"))
    if len(words) == 1:
        return words[0]  # one argument: a shell command line the member wrote themselves
    import shlex

    return shlex.join(words)


def run_submit(args: argparse.Namespace) -> int:
    """Stage, record, submit; print the job."""
    request = JobRequest(
        cluster=args.cluster, local_dir=str(args.dir), command=_command(args.command),
        gpus=args.gpus, hours=args.hours, gpu_type=args.gpu_type, results=tuple(args.result),
        excludes=tuple(args.exclude) if args.exclude is not None else DEFAULT_EXCLUDES,
    )  # fmt: skip

    def work(lab: Labgpu) -> int:
        project = None
        if not args.show_script:  # an unknown project is refused before anything is sent
            project = lab.projects.check(project_commands.chosen_project(lab, args))
        _ask_for(lab, args.cluster)
        draft = lab.offload.prepare(request)
        if args.show_script:
            sys.stdout.write(draft.script)
            return 0
        if args.estimate:
            start = lab.offload.estimate_start(draft)
            when = start.astimezone().isoformat(timespec="minutes") if start else _("no estimate")
            print(
                _("{cluster} estimates the start at: {when}").format(
                    cluster=args.cluster, when=when
                ),
                file=sys.stderr,
            )
        script = args.script.read_text() if args.script else None
        job = lab.offload.submit(draft, script, project=project)
        if args.json:
            output.print_json(job_json(job))
        else:
            print(_submitted(job))
        return 0

    return with_lab(args, work)


def _submitted(job: OffloadJob) -> str:
    return _("submitted job {id} ({name}) to {cluster} as {remote_id}").format(
        id=job.id, name=job.name, cluster=job.cluster, remote_id=job.remote_id
    )


def run_list(args: argparse.Namespace) -> int:
    """List jobs (after one refresh per cluster)."""

    def work(lab: Labgpu) -> int:
        if not args.no_refresh:
            _note_errors(lab.offload.refresh().errors)
        jobs = lab.offload.jobs(mine=not args.all)
        if args.json:
            output.print_json([job_json(j) for j in jobs])
        else:
            print(_job_rows(jobs))
        return 0

    return with_lab(args, work)


def run_status(args: argparse.Namespace) -> int:
    """One job, refreshed, with its output's last lines."""

    def work(lab: Labgpu) -> int:
        job = lab.offload.job(args.id)
        _note_errors(lab.offload.refresh([job.cluster]).errors)
        job = lab.offload.job(args.id)
        if args.json:
            output.print_json(job_json(job))
            return 0
        print(_job_rows([job]))
        try:
            out, err = lab.offload.tail(job.id, 4096)
        except LabgpuError as exc:
            print(_("labgpu: no log tail ({error})").format(error=exc), file=sys.stderr)
            return 0
        for title, text in (("stdout", out), ("stderr", err)):
            if text.strip():
                print(_("--- {stream} (end) ---").format(stream=title))
                print("\n".join(text.rstrip().splitlines()[-20:]))
        return 0

    return with_lab(args, work)


def run_cancel(args: argparse.Namespace) -> int:
    """Cancel a job."""

    def work(lab: Labgpu) -> int:
        job = lab.offload.cancel(args.id)
        if args.json:
            output.print_json(job_json(job))
        else:
            print(
                _("cancelled job {id} ({name}); now {state}").format(
                    id=job.id, name=job.name, state=_state(job)
                )
            )
        return 0

    return with_lab(args, work)


def run_fetch(args: argparse.Namespace) -> int:
    """Copy a job's output and results home."""

    def work(lab: Labgpu) -> int:
        dest, report = lab.offload.fetch(args.id, args.to)
        missing = _("labgpu: {path} does not exist on the cluster (yet)")
        print_fetched(dest, report, args.json, missing)
        return 0

    return with_lab(args, work)


def print_fetched(dest: Path, report: TransferReport, as_json: bool, missing: str) -> None:
    """What a fetch copied (JSON or a line), and each path not there yet (``missing``, with
    ``{path}``) on stderr; ``labgpu jobs fetch`` says the same of jobs on bookings."""
    if as_json:
        output.print_json(
            {"to": str(dest), "copied": report.files_copied,
             "unchanged": report.files_skipped, "missing": list(report.missing)}
        )  # fmt: skip
    else:
        print(
            _("{dest}: {copied} file(s) copied, {unchanged} unchanged").format(
                dest=dest, copied=report.files_copied, unchanged=report.files_skipped
            )
        )
    for path in report.missing:
        print(missing.format(path=path), file=sys.stderr)


def run_usage(args: argparse.Namespace) -> int:
    """Offloaded GPU-hours per month, member and cluster (for the PI)."""

    def work(lab: Labgpu) -> int:
        rows = lab.offload.usage()
        if args.json:
            output.print_json(
                [
                    {"month": r.month, "user": r.user_name, "cluster": r.cluster,
                     "jobs": r.jobs, "gpu_hours": round(r.gpu_hours, 4)}
                    for r in rows
                ]
            )  # fmt: skip
            return 0
        table = [[r.month, r.user_name, r.cluster, str(r.jobs), f"{r.gpu_hours:.2f}"] for r in rows]
        print(output.table(table, ["MONTH", "MEMBER", "CLUSTER", "JOBS", "GPU-HOURS"]))
        return 0

    return with_lab(args, work)


def run_resubmit(args: argparse.Namespace) -> int:
    """Send a job again."""

    def work(lab: Labgpu) -> int:
        job = lab.offload.resubmit(args.id)
        if args.json:
            output.print_json(job_json(job))
        else:
            print(_submitted(job))
        return 0

    return with_lab(args, work)
