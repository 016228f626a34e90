"""Entry point of the ``labgpu`` command. Exit codes: 0 ok, 1 failed, 2 usage, 3 refused;
130 interrupted (Ctrl+C), 141 the reader of stdout went away (``labgpu … | head``)."""

from __future__ import annotations

import argparse
import io
import logging
import os
import sys
from collections.abc import Sequence

from labgpu import __version__
from labgpu.cli import (
    booking_commands,
    cluster_commands,
    commands,
    jobs_commands,
    lab_commands,
    notify_commands,
    offload_commands,
    prices_commands,
    project_commands,
    run_commands,
    usage_commands,
)
from labgpu.core import i18n
from labgpu.core.errors import LabgpuError
from labgpu.core.i18n import _
from labgpu.services.platform import log_file, paths

log = logging.getLogger("labgpu")

#: The reader of stdout closed it (``labgpu usage --json | head -3``): 128 + SIGPIPE, the
#: status a shell reports for a command that the broken pipe ended, as for ``yes | head``.
EXIT_BROKEN_PIPE = 141


def build_parser() -> argparse.ArgumentParser:
    """The whole command tree."""
    parser = argparse.ArgumentParser(prog="labgpu", description="Your lab's GPUs in one window.")
    parser.add_argument("--version", action="version", version=f"labgpu {__version__}")
    parser.add_argument("--db", metavar="URL", help="database URL (default: config, then SQLite)")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="open the app on the demo lab: a simulated lab with its own database",
    )
    parser.add_argument(
        "--reset-demo", action="store_true", help="generate the demo lab again, then open it"
    )
    parser.add_argument(
        "--remember-password",
        action="store_true",
        help="keep the lab database password you sign in with in the OS keyring",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_gui(sub)
    commands.add_db(sub)
    commands.add_servers(sub)
    commands.add_status(sub)
    commands.add_collect(sub)
    booking_commands.register(sub)
    lab_commands.register(sub)
    offload_commands.register(sub)
    run_commands.register(sub)
    jobs_commands.register(sub)
    usage_commands.register(sub)
    prices_commands.register(sub)
    notify_commands.register(sub)
    project_commands.register(sub)
    accept_demo_after_command(parser)
    return parser


def accept_demo_after_command(parser: argparse.ArgumentParser) -> None:
    """``labgpu status --demo`` as well as ``labgpu --demo status``: every command (and
    sub-command) takes ``--demo`` too. Its default is *suppressed*, so a command without it
    keeps what the global option said."""
    for action in parser._actions:  # argparse has no public walk over its sub-commands
        if not isinstance(action, argparse._SubParsersAction):
            continue
        for command in set(action.choices.values()):
            if "--demo" not in command._option_string_actions:
                command.add_argument(
                    "--demo",
                    action="store_true",
                    default=argparse.SUPPRESS,
                    help="work on the demo lab (same as labgpu --demo COMMAND)",
                )
            accept_demo_after_command(command)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command and return its exit status.

    A reader that stops early (``| head``) ends the command quietly with ``EXIT_BROKEN_PIPE``:
    no traceback, and nothing more is written to the closed pipe (not even at exit).
    """
    try:
        try:
            return _run(argv)
        finally:  # what is still buffered meets a closed pipe here, not at interpreter exit
            sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE


_console: logging.Handler | None = None


def _log_to_stderr(level: int, form: str) -> None:
    """Log lines of ``level`` and louder to stderr (one handler, replaced on each run, so the
    log file's handler does not stop it as it would stop ``logging.basicConfig``)."""
    global _console
    root = logging.getLogger()
    if _console is not None:
        root.removeHandler(_console)
    _console = logging.StreamHandler(sys.stderr)
    _console.setLevel(level)
    _console.setFormatter(logging.Formatter(form))
    root.addHandler(_console)
    root.setLevel(min(level, root.level or logging.WARNING))


def _database_kind(args: argparse.Namespace) -> str:
    """The kind of database this run opens, for the log's start line."""
    try:
        url = "" if args.demo else paths.resolve_database_url(args.db)
    except LabgpuError:  # a broken config.toml: the command itself says so
        return "unknown"
    return log_file.database_kind(url, demo=bool(args.demo))


def _silence_stdout() -> None:
    """Point stdout at the null device, so the flush at exit finds no closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, io.UnsupportedOperation):  # not a real file (a test capture)
        pass


def _run(argv: Sequence[str] | None) -> int:
    i18n.set_language(i18n.locale_language())  # messages follow LC_ALL / LC_MESSAGES / LANG
    parser = build_parser()
    words = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(cluster_commands.join_option_values(words))
    # Under systemd the journal stamps every line itself (JOURNAL_STREAM is set for a service
    # whose output goes to the journal).
    stamp = "" if os.environ.get("JOURNAL_STREAM") else "%(asctime)s "
    _log_to_stderr(
        logging.WARNING - 10 * min(args.verbose, 2), stamp + "%(levelname)s %(name)s: %(message)s"
    )
    if args.verbose < 2:
        # paramiko logs every failed handshake with a traceback; labgpu reports it itself.
        logging.getLogger("paramiko").setLevel(logging.CRITICAL)
        # Alembic's "Context impl PostgresqlImpl." is about labgpu's schema check, not the work.
        logging.getLogger("alembic").setLevel(logging.WARNING)
    handler = getattr(args, "handler", None) or commands.run_gui
    what = "the desktop app" if handler is commands.run_gui else f"labgpu {args.command}"
    log_file.start_log_file(what, _database_kind(args))
    try:
        return int(handler(args))
    except LabgpuError as exc:
        print(_("labgpu: {error}").format(error=exc), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(_("labgpu: interrupted"), file=sys.stderr)
        return 130
