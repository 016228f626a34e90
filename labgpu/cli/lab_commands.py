"""``labgpu lab init`` and ``labgpu users add|list|set-role|remove`` (the lab database)."""

from __future__ import annotations

import argparse
from typing import Any

from labgpu.cli import commands, output, passwd_commands
from labgpu.core.i18n import _
from labgpu.services import Labgpu
from labgpu.services.members.labdb import MEMBER_ROLES, ROLES

Sub = Any  # argparse's _SubParsersAction is private


def register(sub: Sub) -> None:
    """Add the ``lab`` and ``users`` commands."""
    p = sub.add_parser("lab", help="set up the shared lab database (PostgreSQL)")
    lsub = p.add_subparsers(dest="lab_command", metavar="ACTION", required=True)
    init = lsub.add_parser(
        "init", help="create or upgrade the schema, roles, grants and row-level security"
    )
    init.add_argument(
        "--db", metavar="URL", default=argparse.SUPPRESS,
        help="postgresql://ADMIN@HOST/DB, as a PostgreSQL superuser",
    )  # fmt: skip
    init.set_defaults(handler=run_init)

    u = sub.add_parser("users", help="members of the lab database and their roles")
    usub = u.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    add = usub.add_parser("add", help="create a member's login with a one-time password")
    add.add_argument("name")
    add.add_argument("--role", choices=ROLES, default="student")
    add.add_argument("--json", action="store_true", help="name, role and one-time password")
    add.set_defaults(handler=run_add)
    ls = usub.add_parser("list", help="every member and their role")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(handler=run_list)
    sr = usub.add_parser("set-role", help="move a member to another role")
    sr.add_argument("name")
    sr.add_argument("role", choices=ROLES)
    sr.add_argument("--json", action="store_true")
    sr.set_defaults(handler=run_set_role)
    rm = usub.add_parser("remove", help="drop a member's login (their history stays)")
    rm.add_argument("name")
    rm.add_argument("--json", action="store_true")
    rm.set_defaults(handler=run_remove)
    passwd_commands.register(usub)


def run_init(args: argparse.Namespace) -> int:
    """Set the lab database up (idempotent)."""
    lab = commands.lab_for(args)
    try:
        lab.members.init_lab()
        print(
            _(
                "lab database ready: roles labgpu_student, labgpu_pi, labgpu_manager, "
                "labgpu_collector; add members with `labgpu users add NAME --role ROLE`"
            )
        )
    finally:
        lab.close()
    return 0


def run_add(args: argparse.Namespace) -> int:
    """Create a member and print the one-time password once."""

    def work(lab: Labgpu) -> int:
        password = lab.members.add(args.name, args.role)
        if args.json:
            output.print_json({"name": args.name, "role": args.role, "password": password})
            return 0
        added = (
            _("added member {name} ({role})")
            if args.role in MEMBER_ROLES
            else _("added service login {name} ({role})")
        )
        print(added.format(name=args.name, role=args.role))
        print(_("one-time password (shown only now): {password}").format(password=password))
        if args.role in MEMBER_ROLES:
            print(_("it expires in a week; the app asks for a new one at the first sign-in"))
        else:
            print(_("it does not expire: put it in ~/.pgpass of the service's account (mode 0600)"))
        return 0

    return commands.with_lab(args, work)


def run_list(args: argparse.Namespace) -> int:
    """List the members."""

    def work(lab: Labgpu) -> int:
        members = lab.members.everyone()
        if args.json:
            output.print_json(
                [
                    {
                        "name": m.name,
                        "role": m.role,
                        "can_login": m.can_login,
                        "password_expires": output.iso(m.valid_until),
                    }
                    for m in members
                ]
            )
            return 0
        note = _("one-time password")
        rows = [[m.name, m.role, note if m.valid_until else ""] for m in members]
        print(output.table(rows, ["NAME", "ROLE", "NOTE"]) if rows else _("no members yet"))
        return 0

    return commands.with_lab(args, work)


def run_set_role(args: argparse.Namespace) -> int:
    """Change a member's role."""

    def work(lab: Labgpu) -> int:
        lab.members.set_role(args.name, args.role)
        if args.json:
            output.print_json({"name": args.name, "role": args.role})
        else:
            print(_("{name} is now {role}").format(name=args.name, role=args.role))
        return 0

    return commands.with_lab(args, work)


def run_remove(args: argparse.Namespace) -> int:
    """Drop a member's login."""

    def work(lab: Labgpu) -> int:
        lab.members.remove(args.name)
        if args.json:
            output.print_json({"removed": args.name})
        else:
            print(_("removed {name}; their bookings and audit lines stay").format(name=args.name))
        return 0

    return commands.with_lab(args, work)
