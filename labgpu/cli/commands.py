"""The sub-commands. Each handler takes the parsed arguments and returns an exit status."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from labgpu.cli import output
from labgpu.cli.signin import signed_in
from labgpu.core.errors import HostKeyUnknownError, LabgpuError
from labgpu.core.i18n import _
from labgpu.core.inventory.host_keys import HostKeyNotPinnedError
from labgpu.core.inventory.servers import ServerState, SshTarget
from labgpu.launch import open_lab
from labgpu.services import Labgpu
from labgpu.services.inventory.collect_log import service_log, sweep_log

if TYPE_CHECKING:
    from labgpu.services.inventory.metrics import MetricsServer

Sub = Any  # argparse's _SubParsersAction is private


def lab_for(args: argparse.Namespace) -> Labgpu:
    """The lab a command works on: the demo lab with ``--demo``, else the one at ``--db``."""
    if getattr(args, "demo", False):
        return open_lab(None, demo=True, rebuild_demo=bool(getattr(args, "reset_demo", False)))
    # A lab database: signed in first (a terminal is asked for a missing password).
    return signed_in(open_lab(args.db), bool(getattr(args, "remember_password", False)))


def with_lab(args: argparse.Namespace, work: Callable[[Labgpu], int]) -> int:
    """Open the command's lab, run ``work`` on it, close it whatever happens."""
    lab = lab_for(args)
    lab.open()
    try:
        return work(lab)
    finally:
        lab.close()


def _open(args: argparse.Namespace) -> Labgpu:
    lab = lab_for(args)
    lab.open()
    return lab


N = TypeVar("N", int, float)


def bounded_arg(
    parse: Callable[[str], N], what: str, ok: Callable[[N], bool], rule: str
) -> Callable[[str], N]:
    """An argparse ``type``: ``parse`` the text (else "'x' is not WHAT"), then require ``ok``
    (else ``rule`` with ``{text}``). Both refusals are usage errors (exit 2); ``what`` and
    ``rule`` are marked with ``N_`` and shown in the language of the messages."""

    def convert(text: str) -> N:
        try:
            value = parse(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                _("{text} is not {what}").format(text=repr(text), what=_(what))
            ) from None
        if not ok(value):
            raise argparse.ArgumentTypeError(_(rule).format(text=text))
        return value

    return convert


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(_("must be greater than 0, not {text}").format(text=text))
    return value


# -- gui -----------------------------------------------------------------------------------


def add_gui(sub: Sub) -> None:
    """``labgpu gui [--demo]``."""
    p = sub.add_parser("gui", help="open the desktop app (the default)")
    p.add_argument("--demo", action="store_true", help="open the app on the demo lab")
    p.add_argument(
        "--reset-demo", action="store_true", help="generate the demo lab again (with --demo)"
    )
    p.set_defaults(handler=run_gui)


def run_gui(args: argparse.Namespace) -> int:
    """Open the desktop app (imports Qt only here, so the CLI stays light)."""
    from labgpu.gui.shell.app import run_gui as start

    reset = bool(getattr(args, "reset_demo", False))
    return start(args.db, demo=bool(getattr(args, "demo", False)) or reset, reset_demo=reset)


# -- db ------------------------------------------------------------------------------------


def add_db(sub: Sub) -> None:
    """``labgpu db upgrade``."""
    p = sub.add_parser("db", help="database maintenance")
    dsub = p.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    up = dsub.add_parser("upgrade", help="create or upgrade the schema at the configured URL")
    up.add_argument("--json", action="store_true")
    up.set_defaults(handler=run_db_upgrade)


def run_db_upgrade(args: argparse.Namespace) -> int:
    """Upgrade the schema to this version's head."""
    lab = _open(args)
    try:
        if args.json:
            output.print_json({"database": lab.store.display_url, "schema": "current"})
        else:
            print(_("database {url} is at the current schema").format(url=lab.store.display_url))
    finally:
        lab.close()
    return 0


# -- servers -------------------------------------------------------------------------------


def add_servers(sub: Sub) -> None:
    """``labgpu servers add|list|remove|forget-key``."""
    p = sub.add_parser("servers", help="register and list GPU servers")
    ssub = p.add_subparsers(dest="servers_command", metavar="ACTION", required=True)
    add = ssub.add_parser("add", help="connect, discover GPUs and register a server")
    add.add_argument("host")
    add.add_argument("--name", help="name shown in labgpu (default: the host)")
    add.add_argument("--port", type=int)
    add.add_argument("--user")
    add.add_argument("--identity", metavar="FILE", help="private key file")
    add.add_argument("--jump", metavar="HOST", help="jump host (ProxyJump)")
    add.add_argument("--trust-host-key", metavar="SHA256:...", help="accept this host key")
    add.add_argument(
        "--no-probe", action="store_true",
        help="register without connecting (the server is down now); its GPUs come with the "
        "first sweep that reaches it",
    )  # fmt: skip
    add.add_argument("--json", action="store_true")
    add.set_defaults(handler=run_servers_add)
    ls = ssub.add_parser("list", help="registered servers and their state")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(handler=run_servers_list)
    rm = ssub.add_parser("remove", help="forget a server and its history")
    rm.add_argument("name")
    rm.add_argument(
        "--yes", action="store_true",
        help="do not ask for confirmation (needed without a terminal)",
    )  # fmt: skip
    rm.add_argument("--json", action="store_true")
    rm.set_defaults(handler=run_servers_remove)
    fk = ssub.add_parser(
        "forget-key", help="forget a server's known host key (lab database: its pinned key)"
    )
    fk.add_argument("name")
    fk.add_argument("--json", action="store_true")
    fk.set_defaults(handler=run_servers_forget_key)


def _confirm(question: str) -> bool:
    """Ask on the terminal; the question goes to stderr (stdout may be --json)."""
    if not sys.stdin.isatty():
        return False
    print(_("{question} [y/N] ").format(question=question), end="", file=sys.stderr, flush=True)
    return sys.stdin.readline().strip().lower() in ("y", "yes")


def run_servers_add(args: argparse.Namespace) -> int:
    """Discover a server's GPUs over SSH and register them."""
    target = SshTarget(args.host, args.port, args.user, args.identity, args.jump)
    if args.no_probe:
        return _add_unprobed(args, target)
    lab = _open(args)
    try:
        try:
            result, report = lab.inventory.add_server(target, args.name, args.trust_host_key)
        except HostKeyUnknownError as exc:
            # Not pinned, and this member may not pin it: asking would not help.
            answered = args.trust_host_key or isinstance(exc, HostKeyNotPinnedError)
            if answered or not _confirm(
                _(
                    "{host}: the host key is unknown.\n  {key_type} {fingerprint}\n"
                    "Is this the server's key?"
                ).format(host=exc.host, key_type=exc.key_type, fingerprint=exc.fingerprint)
            ):
                raise
            result, report = lab.inventory.add_server(target, args.name, exc.fingerprint)
        if args.json:
            out = output.server_json(report.server)
            out.update(
                gpus=len(result.gpus),
                added=list(report.added),
                updated=list(report.updated),
                retired=list(report.retired),
            )
            output.print_json(out)
            return 0
        print(output.reading_rows(result.gpus))
        print(
            _(
                "registered {name}: {gpus} GPU(s); {added} added, {updated} updated, "
                "{retired} retired"
            ).format(
                name=report.server.name,
                gpus=report.gpus,
                added=len(report.added),
                updated=len(report.updated),
                retired=len(report.retired),
            )
        )
    finally:
        lab.close()
    return 0


def _add_unprobed(args: argparse.Namespace, target: SshTarget) -> int:
    if args.trust_host_key:
        print(
            _(
                "labgpu: --trust-host-key needs a connection; with --no-probe the host key is "
                "confirmed when the server is reached (the Servers page, or `servers add` again)"
            ),
            file=sys.stderr,
        )
        return 2
    lab = _open(args)
    try:
        server = lab.inventory.add_server_unprobed(target, args.name)
    finally:
        lab.close()
    if args.json:
        out = output.server_json(server)
        out.update(gpus=0, added=[], updated=[], retired=[])
        output.print_json(out)
        return 0
    print(
        _(
            "registered {name} without connecting; its GPUs are added by the first sweep "
            "that reaches it (`labgpu collect --once`, or the app's Live view)"
        ).format(name=server.name)
    )
    return 0


def run_servers_list(args: argparse.Namespace) -> int:
    """Registered servers with their state."""
    lab = _open(args)
    try:
        servers = lab.inventory.list_servers()
    finally:
        lab.close()
    if args.json:
        output.print_json([output.server_json(s) for s in servers])
        return 0
    rows = [
        [
            s.name,
            s.target.host,
            str(s.target.port or ""),
            s.state.value,
            _seen(s.last_seen),
            s.state_reason,
        ]
        for s in servers
    ]
    print(output.table(rows, ["NAME", "HOST", "PORT", "STATE", "LAST SEEN", "REASON"]))
    return 0


def _seen(moment: datetime | None) -> str:
    """When a server last answered, always with the date: ``2026-12-01 14:03 KST``."""
    return _("never") if moment is None else moment.astimezone().strftime("%Y-%m-%d %H:%M %Z")


def run_servers_remove(args: argparse.Namespace) -> int:
    """Forget a server (asks on a terminal; without one, only with --yes)."""
    if not args.yes and not sys.stdin.isatty():
        print(
            _(
                "labgpu: removing {name} deletes all of its GPU history; without a terminal "
                "to ask, confirm with --yes; nothing removed"
            ).format(name=args.name),
            file=sys.stderr,
        )
        return 2
    question = _("Remove {name} and all of its GPU history?").format(name=args.name)
    if not args.yes and not _confirm(question):
        print(_("nothing removed"), file=sys.stderr)
        return 1
    lab = _open(args)
    try:
        lab.inventory.remove_server(args.name)
    finally:
        lab.close()
    if args.json:
        output.print_json({"removed": args.name})
    else:
        print(_("removed {name}").format(name=args.name))
    return 0


def run_servers_forget_key(args: argparse.Namespace) -> int:
    """Forget the known host key of a registered server (after a reinstall)."""
    lab = _open(args)
    try:
        removed = lab.inventory.forget_host_key(args.name)
        pinned = lab.inventory.pins_host_keys()
    finally:
        lab.close()
    if args.json:
        output.print_json({"server": args.name, "forgotten": removed, "pinned": pinned})
        return 0
    line = (
        _(
            "forgot {count} key(s) of {name} pinned in the lab database; the next connection "
            "will ask again"
        )
        if pinned
        else _("forgot {count} key(s) of {name}; the next connection will ask again")
    )
    print(line.format(count=removed, name=args.name))
    return 0


# -- status --------------------------------------------------------------------------------


def add_status(sub: Sub) -> None:
    """``labgpu status [--json] [--probe]``."""
    p = sub.add_parser("status", help="every GPU, its load and who runs what")
    p.add_argument("--probe", action="store_true", help="probe every server first")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=run_status)


def run_status(args: argparse.Namespace) -> int:
    """Every GPU with its latest values and the servers' states."""
    lab = _open(args)
    try:
        gpus = lab.inventory.status(probe_first=args.probe)
        servers = lab.inventory.list_servers()
        holders = lab.bookings.holders_now()
        unbooked = {} if args.json else unbooked_users(lab)
    finally:
        lab.close()
    if args.json:
        output.print_json(
            {
                "servers": [output.server_json(s) for s in servers],
                "gpus": [output.gpu_status_json(g, holders.get(g.uuid)) for g in gpus],
            }
        )
        return 0
    print(output.status_rows(gpus, holders, unbooked))
    for s in servers:
        if s.state not in (ServerState.ONLINE,):
            print(f"{s.name}: {s.state.value} {s.state_reason}".rstrip(), file=sys.stderr)
    return 0


def unbooked_users(lab: Labgpu) -> dict[str, str]:
    """GPU uuid → the members running on it without a booking now (as the Live view flags)."""
    uuids = {g.id: g.uuid for g in lab.inventory.list_gpus()}
    found: dict[str, list[str]] = {}
    for use in lab.bookings.reality().unbooked_use:
        if use.gpu_id in uuids:
            found.setdefault(uuids[use.gpu_id], []).append(use.user)
    return {uuid: ", ".join(users) for uuid, users in found.items()}


# -- collect -------------------------------------------------------------------------------


def add_collect(sub: Sub) -> None:
    """``labgpu collect [--once] [--interval S]``."""
    p = sub.add_parser("collect", help="sweep all servers and store samples")
    p.add_argument("--once", action="store_true", help="one sweep, then exit")
    p.add_argument("--interval", type=_positive, default=5.0, metavar="SECONDS")
    p.add_argument("--json", action="store_true", help="with --once: each server's outcome")
    p.add_argument(
        "--metrics-port",
        type=_port,
        metavar="PORT",
        help="serve the GPUs' metrics for Prometheus on this port (not with --once)",
    )
    p.add_argument(
        "--metrics-address",
        default="127.0.0.1",
        metavar="ADDRESS",
        help="where the metrics are served (default 127.0.0.1; 0.0.0.0 for every interface)",
    )
    p.set_defaults(handler=run_collect)


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError(
            _("give a port from 1 to 65535, not {text}").format(text=text)
        )
    return port


#: How long a stopping ``collect`` may take to store what it kept while the database was away
#: (systemd waits 90 s by default before it kills a service).
COLLECT_STOP_S = 30.0


def run_collect(args: argparse.Namespace) -> int:
    """One sweep (--once, exit 1 if a server failed) or sweep until interrupted.

    The loop logs its start, a database going away and coming back, and its stop (with ``-v``,
    a line per sweep) to stderr: under systemd, ``journalctl -u`` shows them.
    """
    _collect_logging(int(getattr(args, "verbose", 0) or 0))
    if args.once and args.metrics_port is not None:
        print(
            _("labgpu: --metrics-port serves while collect runs; not with --once"), file=sys.stderr
        )
        return 2
    lab = _open(args)
    try:
        if args.once:
            outcomes = lab.inventory.sweep()
            if args.json:
                output.print_json(
                    [
                        {"server": o.server, "state": o.state.value, "reason": o.reason,
                         "samples": o.samples}
                        for o in outcomes
                    ]
                )  # fmt: skip
            else:
                for o in outcomes:
                    line = f"{o.server}: {o.state.value}"
                    ok = o.state is ServerState.ONLINE
                    line += _(" ({count} GPUs)").format(count=o.samples) if ok else f" {o.reason}"
                    print(line)
            return 0 if all(o.state is ServerState.ONLINE for o in outcomes) else 1
        collector = lab.inventory.make_collector(args.interval)
        metrics = None if args.metrics_port is None else _serve_metrics(lab, args)
        signal.signal(signal.SIGTERM, lambda *_signal: collector.request_stop())
        try:
            collector.run_forever()
        except KeyboardInterrupt:
            pass
        finally:
            collector.stop(COLLECT_STOP_S)
            if metrics is not None:
                metrics.stop()
    finally:
        lab.close()
    return 0


def _serve_metrics(lab: Labgpu, args: argparse.Namespace) -> MetricsServer:
    """Start the metrics endpoint (``services/inventory/metrics``) and say where it is."""
    from labgpu.services.inventory.metrics import serve_metrics

    try:
        server = serve_metrics(lab, args.metrics_port, args.metrics_address)
    except OSError as exc:
        raise LabgpuError(
            _("cannot serve metrics on {address}:{port}: {error}").format(
                address=args.metrics_address, port=args.metrics_port, error=exc.strerror or exc
            )
        ) from exc
    service_log.info("serving metrics on http://%s:%d/metrics", args.metrics_address, server.port)
    return server


def _collect_logging(verbose: int) -> None:
    """The service's own lines always; a line per sweep with ``-v``."""
    if service_log.getEffectiveLevel() > logging.INFO:
        service_log.setLevel(logging.INFO)
    sweep_log.setLevel(logging.INFO if verbose else logging.WARNING)
