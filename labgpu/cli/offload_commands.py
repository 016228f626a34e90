"""``labgpu clusters ...`` and ``labgpu offload ...`` (issue 5)."""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from labgpu.cli import commands, output
from labgpu.core.errors import HostKeyUnknownError, LabgpuError
from labgpu.core.i18n import N_, _
from labgpu.core.offload.jobs import (
    DEFAULT_EXCLUDES,
    LOGINS,
    SCHEDULERS,
    Cluster,
    JobRequest,
    LoginCancelled,
    OffloadJob,
)
from labgpu.services import Labgpu
from labgpu.services.offload.service import save_password

Sub = Any  # argparse's _SubParsersAction is private


def register(sub: Sub) -> None:
    """Add the ``clusters`` and ``offload`` commands."""
    _add_clusters(sub)
    _add_offload(sub)


def _add_clusters(sub: Sub) -> None:
    c = sub.add_parser("clusters", help="shared clusters jobs can be offloaded to")
    csub = c.add_subparsers(dest="clusters_command", metavar="ACTION", required=True)
    add = csub.add_parser(
        "add", help="register a cluster (or change one with --update: only what is given)"
    )
    add.add_argument("name")
    add.add_argument("--host", help="login node (required unless --update)")
    add.add_argument("--user", help="your account on the cluster (required unless --update)")
    add.add_argument("--scheduler", choices=SCHEDULERS, help="required unless --update")
    add.add_argument("--port", type=int)
    add.add_argument("--jump", metavar="HOST", help="jump host (ProxyJump)")
    add.add_argument("--identity", metavar="FILE", help="private key file")
    add.add_argument("--partition", help="partition (Slurm) or queue (PBS)")
    add.add_argument(
        "--gpu-request", metavar="TEMPLATE",
        help="how GPUs are asked for, e.g. '--gres=gpu:{type}:{count}' or 'select=1:ngpus={count}'",
    )  # fmt: skip
    add.add_argument(
        "--directive", action="append", metavar="TEXT",
        help="extra directive the site requires, e.g. '--comment=pytorch' (repeatable; "
        "with --update they replace the old ones)",
    )  # fmt: skip
    add.add_argument("--module", action="append", help="module to load (repeatable)")
    add.add_argument("--base-dir", help="remote folder, e.g. /scratch/$USER (default ~/labgpu)")
    add.add_argument("--max-hours", type=float, help="the site's longest walltime")
    add.add_argument("--login", choices=LOGINS, help="'interactive' for OTP (default key)")
    add.add_argument("--trust-host-key", metavar="SHA256:...", help="accept this host key")
    add.add_argument(
        "--update", action="store_true",
        help="change an existing cluster: only the settings given change",
    )  # fmt: skip
    add.add_argument("--json", action="store_true", help="the saved cluster as JSON")
    add.set_defaults(handler=run_clusters_add)
    ls = csub.add_parser("list", help="registered clusters")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(handler=run_clusters_list)
    rm = csub.add_parser("remove", help="forget a cluster (its jobs stay in the records)")
    rm.add_argument("name")
    rm.add_argument("--json", action="store_true")
    rm.set_defaults(handler=run_clusters_remove)
    li = csub.add_parser("login", help="log in now (OTP clusters ask for OTP and password)")
    li.add_argument("name")
    li.add_argument(
        "--save-password", action="store_true",
        help="keep the password (never the OTP) in the system keyring",
    )  # fmt: skip
    li.add_argument("--forget-password", action="store_true", help="remove a kept password")
    li.add_argument("--trust-host-key", metavar="SHA256:...", help="accept this host key")
    li.set_defaults(handler=run_clusters_login)


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


# -- prompting -------------------------------------------------------------------------------


def terminal_prompter(
    cluster: str, keep: list[str] | None = None
) -> Callable[[str, Sequence[tuple[str, bool]]], list[str]]:
    """Ask keyboard-interactive questions on the terminal (hidden unless the server echoes).

    With ``keep``, the answer to a plain password prompt is appended to it (never an OTP).
    """

    def ask(instructions: str, prompts: Sequence[tuple[str, bool]]) -> list[str]:
        if not sys.stdin.isatty():
            raise LoginCancelled(
                _(
                    "{cluster}: logging in asks for a one-time password; run this in a terminal "
                    "or log in from the app"
                ).format(cluster=cluster)
            )
        if instructions.strip():
            print(instructions.strip(), file=sys.stderr)
        answers = []
        for prompt, echo in prompts:
            label = f"{cluster} {prompt.strip()} "
            if echo:  # the prompt on stderr: stdout may be --json
                print(label, end="", file=sys.stderr, flush=True)
                answer = sys.stdin.readline().rstrip("\n")
            else:
                answer = getpass.getpass(label)
            answers.append(answer)
            is_otp = any(w in prompt.lower() for w in ("otp", "one-time", "token", "code"))
            if keep is not None and "password" in prompt.lower() and not is_otp:
                keep.append(answer)
        return answers

    return ask


# -- helpers ---------------------------------------------------------------------------------


def _with_lab(args: argparse.Namespace, work: Callable[[Labgpu], int]) -> int:
    lab = commands.lab_for(args)  # --demo: the demo lab, whose cluster is simulated
    lab.open()
    try:
        lab.offload.ask = terminal_prompter("cluster")
        return work(lab)
    finally:
        lab.close()


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
        "gpu_hours": round(job.gpu_hours, 4),
        "results": list(job.results),
        "fetched_at": output.iso(job.fetched_at),
    }


def cluster_json(cluster: Cluster) -> dict[str, Any]:
    """One cluster as documented in the README."""
    return {
        "name": cluster.name,
        "host": cluster.host,
        "port": cluster.port,
        "user": cluster.user,
        "jump_host": cluster.jump_host,
        "scheduler": cluster.scheduler,
        "login": cluster.login,
        "partition": cluster.partition,
        "gpu_request": cluster.gpu_template,
        "directives": list(cluster.directives),
        "modules": list(cluster.modules),
        "base_dir": cluster.base_dir,
        "max_hours": cluster.max_hours,
        "created_by": cluster.created_by,
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


# -- clusters --------------------------------------------------------------------------------


def cluster_changes(args: argparse.Namespace) -> dict[str, Any]:
    """The cluster settings given on the command line (``--update`` changes only these)."""
    given: dict[str, Any] = {
        "host": args.host, "user": args.user, "scheduler": args.scheduler, "port": args.port,
        "jump_host": args.jump, "partition": args.partition, "gpu_request": args.gpu_request,
        "base_dir": args.base_dir, "max_hours": args.max_hours, "login": args.login,
        "directives": tuple(args.directive) if args.directive is not None else None,
        "modules": tuple(args.module) if args.module is not None else None,
        "identity_file": str(Path(args.identity).expanduser()) if args.identity else None,
    }  # fmt: skip
    return {key: value for key, value in given.items() if value is not None}


def run_clusters_add(args: argparse.Namespace) -> int:
    """Register a cluster, or change the given settings of one (``--update``); with
    ``--trust-host-key`` also save its host key."""
    changes = cluster_changes(args)
    missing = [f"--{k}" for k in ("host", "user", "scheduler") if k not in changes]
    if missing and not args.update:
        print(
            _(
                "labgpu: clusters add {name} needs {options} "
                "(or --update to change an existing cluster)"
            ).format(name=args.name, options=", ".join(missing)),
            file=sys.stderr,
        )
        return 2

    def work(lab: Labgpu) -> int:
        if args.update:
            cluster = dataclasses.replace(lab.offload.cluster(args.name), **changes)
        else:
            cluster = Cluster(name=args.name, **changes)
        saved = lab.offload.add_cluster(cluster, update=args.update)
        if args.trust_host_key:
            lab.offload.trust_host_key(saved.name, args.trust_host_key)
        if args.json:
            output.print_json(cluster_json(saved))
            return 0
        line = (
            _("updated cluster {name}: {login} ({scheduler})")
            if args.update
            else _("registered cluster {name}: {login} ({scheduler})")
        )
        login = f"{saved.user}@{saved.host}"
        print(line.format(name=saved.name, login=login, scheduler=saved.scheduler))
        return 0

    return _with_lab(args, work)


def run_clusters_list(args: argparse.Namespace) -> int:
    """List clusters."""

    def work(lab: Labgpu) -> int:
        clusters = lab.offload.list_clusters()
        if args.json:
            output.print_json([cluster_json(c) for c in clusters])
            return 0
        rows = [
            [c.name, f"{c.user}@{c.host}" + (f":{c.port}" if c.port else ""), c.scheduler,
             c.partition or "-", c.login, c.base_dir]
            for c in clusters
        ]  # fmt: skip
        print(output.table(rows, ["NAME", "LOGIN NODE", "SCHEDULER", "PARTITION", "AUTH", "BASE"]))
        return 0

    return _with_lab(args, work)


def run_clusters_remove(args: argparse.Namespace) -> int:
    """Forget a cluster."""

    def work(lab: Labgpu) -> int:
        lab.offload.remove_cluster(args.name)
        if args.json:
            output.print_json({"removed": args.name})
        else:
            print(_("removed cluster {name}; its jobs stay in the records").format(name=args.name))
        return 0

    return _with_lab(args, work)


def run_clusters_login(args: argparse.Namespace) -> int:
    """Log in once (checks the credentials); optionally keep the password in the keyring."""

    def work(lab: Labgpu) -> int:
        cluster = lab.offload.cluster(args.name)
        if args.forget_password:
            save_password(cluster, None)
            print(_("{name}: saved password removed from the keyring").format(name=cluster.name))
            return 0
        kept: list[str] = []
        lab.offload.ask = terminal_prompter(cluster.name, kept if args.save_password else None)
        if args.trust_host_key:
            lab.offload.trust_host_key(cluster.name, args.trust_host_key)
        try:
            lab.offload.login(cluster.name)
        except HostKeyUnknownError as exc:
            raise LabgpuError(
                _(
                    "{host}: unknown host key {fingerprint}; check it with the cluster's "
                    "administrators, then run `labgpu clusters login {name} "
                    "--trust-host-key {fingerprint}`"
                ).format(host=exc.host, fingerprint=exc.fingerprint, name=cluster.name)
            ) from exc
        if args.save_password and kept:
            save_password(cluster, kept[-1])
            print(
                _("{name}: password kept in the system keyring (the OTP never is)").format(
                    name=cluster.name
                )
            )
        print(_("logged in to {name}").format(name=cluster.name))
        return 0

    return _with_lab(args, work)


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
        job = lab.offload.submit(draft, script)
        if args.json:
            output.print_json(job_json(job))
        else:
            print(_submitted(job))
        return 0

    return _with_lab(args, work)


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

    return _with_lab(args, work)


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

    return _with_lab(args, work)


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

    return _with_lab(args, work)


def run_fetch(args: argparse.Namespace) -> int:
    """Copy a job's output and results home."""

    def work(lab: Labgpu) -> int:
        dest, report = lab.offload.fetch(args.id, args.to)
        if args.json:
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
            print(
                _("labgpu: {path} does not exist on the cluster (yet)").format(path=path),
                file=sys.stderr,
            )
        return 0

    return _with_lab(args, work)


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

    return _with_lab(args, work)


def run_resubmit(args: argparse.Namespace) -> int:
    """Send a job again."""

    def work(lab: Labgpu) -> int:
        job = lab.offload.resubmit(args.id)
        if args.json:
            output.print_json(job_json(job))
        else:
            print(_submitted(job))
        return 0

    return _with_lab(args, work)


def join_option_values(argv: Sequence[str]) -> list[str]:
    """``--directive --comment=x`` → ``--directive=--comment=x`` (argparse would read the value
    as an option; the README writes the flag this way)."""
    out: list[str] = []
    words = list(argv)
    i = 0
    while i < len(words):
        word = words[i]
        if word == "--":
            out += words[i:]
            break
        if word in ("--directive", "--gpu-request") and i + 1 < len(words):
            out.append(f"{word}={words[i + 1]}")
            i += 2
            continue
        out.append(word)
        i += 1
    return out
