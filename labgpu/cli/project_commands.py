"""``labgpu projects``: the lab's projects and grants (issue 16, point 4), shown to everyone,
kept by managers (audited); and ``--project P`` / ``--no-project`` of ``book``, ``slots`` and
``offload submit``.

``projects [list]`` lists them, ``projects add NAME [--title T]``, ``projects retire NAME``,
``projects reactivate NAME`` change them (a manager; exit 3 otherwise). A bad name, an unknown
project or a retired one is exit 2. Without ``--project`` a booking or job is for the member's
default project (their newest booking's or offloaded job's, while active), said on stderr.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from labgpu.cli import commands, output
from labgpu.core.i18n import _
from labgpu.core.usage.projects import Project
from labgpu.services import Labgpu

Sub = Any  # argparse's _SubParsersAction is private


def register(sub: Sub) -> None:
    """Add the ``projects`` command and its actions (``--json`` before or after the action)."""
    p = sub.add_parser("projects", help="the lab's projects and grants (change: manager)")
    p.add_argument("--json", action="store_true", help="a JSON array on stdout")
    p.set_defaults(handler=run_projects, action="list", name=None, title="")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    listing = actions.add_parser("list", help="every project, retired ones too")
    listing.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="a JSON array on stdout"
    )
    add = actions.add_parser("add", help="add a project (manager)")
    add.add_argument("name", metavar="NAME", help="lowercase letters, digits, '-', '_', '.'")
    add.add_argument("--title", default="", help="what it is, e.g. the grant's full name")
    add.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="as JSON")
    for verb, text in (
        ("retire", "retire a project: its history stays, new work cannot name it (manager)"),
        ("reactivate", "make a retired project active again (manager)"),
    ):
        change = actions.add_parser(verb, help=text)
        change.add_argument("name", metavar="NAME")
        change.add_argument(
            "--json", action="store_true", default=argparse.SUPPRESS, help="as JSON"
        )


def project_json(project: Project) -> dict[str, object]:
    """One project in ``--json`` output."""
    return {
        "name": project.name,
        "title": project.title,
        "active": project.active,
        "created_at": output.iso(project.created_at),
    }


def run_projects(args: argparse.Namespace) -> int:
    """List or change the projects; print the list or the changed project."""

    def work(lab: Labgpu) -> int:
        if args.action == "add":
            changed = lab.projects.add(args.name, args.title)
        elif args.action == "retire":
            changed = lab.projects.retire(args.name)
        elif args.action == "reactivate":
            changed = lab.projects.reactivate(args.name)
        else:
            return _list(lab, args.json)
        if args.json:
            output.print_json(project_json(changed))
        else:
            print(_line(changed))
        return 0

    return commands.with_lab(args, work)


def _list(lab: Labgpu, as_json: bool) -> int:
    projects = lab.projects.list()
    if as_json:
        output.print_json([project_json(p) for p in projects])
        return 0
    if not projects:
        print(_("no projects yet; a manager adds one with `labgpu projects add NAME`"))
        return 0
    header = [_("NAME"), _("STATE"), _("TITLE")]
    rows = [[p.name, _state(p), p.title or "-"] for p in projects]
    print(output.table(rows, header))
    return 0


def _state(project: Project) -> str:
    return _("active") if project.active else _("retired")


def _line(project: Project) -> str:
    return _("project {name} ({state}): {title}").format(
        name=project.name, state=_state(project), title=project.title or "-"
    )


# -- --project on book, slots and offload submit --------------------------------------------------


def add_project_args(p: argparse.ArgumentParser) -> None:
    """``--project P`` and ``--no-project`` on a command that books, searches or submits."""
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "--project",
        metavar="P",
        help="the project or grant it is for (default: your newest booking's; '' for none)",
    )
    group.add_argument("--no-project", action="store_true", help="for no project")


def chosen_project(lab: Labgpu, args: argparse.Namespace) -> str | None:
    """The project ``args`` ask for: ``--project``, none for ``--no-project`` or
    ``--project ''``, else the member's default project (said on stderr, so ``--json`` output
    stays JSON only)."""
    if args.no_project or args.project == "":
        return None
    if args.project is not None:
        return str(args.project)
    default = lab.projects.default()
    if default is not None:
        print(
            _("labgpu: for project {name}, your default (--project P or --no-project to change)")
            .format(name=default),
            file=sys.stderr,
        )  # fmt: skip
    return default
