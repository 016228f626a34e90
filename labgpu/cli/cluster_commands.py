"""``labgpu clusters ...`` (issue 5): register, list, remove and log in to the shared clusters
jobs are offloaded to; also the terminal's answers to a cluster's login questions, which the
``offload`` commands use too. ``clusters login`` leaves the login with the member's login agent
for later commands (``--hours``, default 8); ``clusters logout`` ends it (issue 15, point 6).
"""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from labgpu.cli import commands, output
from labgpu.core.errors import HostKeyUnknownError, LabgpuError
from labgpu.core.i18n import N_, _
from labgpu.core.offload.jobs import LOGINS, SCHEDULERS, Cluster, LoginCancelled
from labgpu.services import Labgpu
from labgpu.services.offload import agent
from labgpu.services.offload.service import save_password

Sub = Any  # argparse's _SubParsersAction is private

_hours_arg = commands.bounded_arg(
    float, N_("a number of hours"), lambda v: v > 0, N_("--hours must be more than 0, not {text}")
)


def add_clusters(sub: Sub) -> None:
    """``labgpu clusters add|list|remove|login|logout``."""
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
    li.add_argument(
        "--hours", type=_hours_arg, default=agent.DEFAULT_HOURS,
        help="how long later commands may use this login (default 8)",
    )  # fmt: skip
    li.set_defaults(handler=run_clusters_login)
    lo = csub.add_parser("logout", help="end a held login (every one without NAME)")
    lo.add_argument("name", nargs="?")
    lo.add_argument("--json", action="store_true")
    lo.set_defaults(handler=run_clusters_logout)


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


def with_lab(args: argparse.Namespace, work: Callable[[Labgpu], int]) -> int:
    """``work`` on the open lab, a cluster's login questions asked on the terminal."""
    lab = commands.lab_for(args)  # --demo: the demo lab, whose cluster is simulated
    lab.relay_logins = True  # the logins `clusters login` left with the member's agent
    lab.open()
    try:
        lab.offload.ask = terminal_prompter("cluster")
        return work(lab)
    finally:
        lab.close()


def cluster_json(cluster: Cluster, held_until: datetime | None = None) -> dict[str, Any]:
    """One cluster as documented in the README (``held_until``: when the login the member's
    agent holds ends; null when none is held)."""
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
        "held_until": output.iso(held_until),
    }


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

    return with_lab(args, work)


def run_clusters_list(args: argparse.Namespace) -> int:
    """List clusters."""

    def work(lab: Labgpu) -> int:
        clusters = lab.offload.list_clusters()
        held = _held_until(lab, clusters)
        if args.json:
            output.print_json([cluster_json(c, held.get(c.name)) for c in clusters])
            return 0
        rows = [
            [c.name, f"{c.user}@{c.host}" + (f":{c.port}" if c.port else ""), c.scheduler,
             c.partition or "-", c.login, c.base_dir, _local(held.get(c.name))]
            for c in clusters
        ]  # fmt: skip
        header = ["NAME", "LOGIN NODE", "SCHEDULER", "PARTITION", "AUTH", "BASE", "HELD UNTIL"]
        print(output.table(rows, header))
        return 0

    return with_lab(args, work)


def _held_until(lab: Labgpu, clusters: Sequence[Cluster]) -> dict[str, datetime]:
    """When each cluster's held login ends (the demo's clusters hold none)."""
    if lab.setup.simulated:
        return {}
    targets = {c.name: c.target for c in clusters}
    return {
        h.name: datetime.fromtimestamp(h.until, UTC)
        for h in agent.held_logins()
        if targets.get(h.name) == h.target
    }


def _local(ts: datetime | None) -> str:
    return ts.astimezone().strftime("%Y-%m-%d %H:%M") if ts is not None else "-"


def run_clusters_remove(args: argparse.Namespace) -> int:
    """Forget a cluster."""

    def work(lab: Labgpu) -> int:
        lab.offload.remove_cluster(args.name)
        if args.json:
            output.print_json({"removed": args.name})
        else:
            print(_("removed cluster {name}; its jobs stay in the records").format(name=args.name))
        return 0

    return with_lab(args, work)


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
            until = _log_in(lab, cluster, args.hours)
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
        if until is None:
            print(_("logged in to {name}").format(name=cluster.name))
        else:
            print(
                _(
                    "logged in to {name}; later commands use this login until {until} "
                    "(`labgpu clusters logout {name}` ends it)"
                ).format(name=cluster.name, until=_local(until))
            )
        return 0

    return with_lab(args, work)


def _log_in(lab: Labgpu, cluster: Cluster, hours: float) -> datetime | None:
    """Log in through the member's agent, which holds the login for ``hours`` (until when);
    the demo's simulated clusters log in in this process (``None``). One attempt either way."""
    if lab.setup.simulated:
        lab.offload.login(cluster.name)
        return None
    assert lab.offload.ask is not None  # set by run_clusters_login
    return agent.hold_login(lab.offload, cluster.name, hours, lab.offload.ask)


def run_clusters_logout(args: argparse.Namespace) -> int:
    """End a held login (or all of them): later commands log in afresh."""
    ended = agent.logout(args.name)
    if args.json:
        output.print_json({"logged_out": ended})
    elif ended:
        print(_("logged out of {names}").format(names=", ".join(ended)))
    elif args.name:
        print(_("no login to {name} is held").format(name=args.name))
    else:
        print(_("no login is held"))
    return 0


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
