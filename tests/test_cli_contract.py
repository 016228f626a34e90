"""The CLI contract (README *Using it*; issue 13, points 10-12): one exit-code mapping for every
booking command, ``--json`` everywhere with only JSON on stdout, GPUs named by server, index
and uuid, booking GPUs by name, and .ics files: an existing folder, a sensible span, alarms."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from icalendar import Calendar

from labgpu.cli.main import build_parser
from labgpu.core.errors import LabgpuError
from labgpu.storage import Store
from tests.booking.test_cli_booking import lab_url, run, run_json

__all__ = ["lab_url"]  # the fixture

H = timedelta(hours=1)


def at(hours: int) -> str:
    """A whole hour ``hours`` from now, as ISO 8601 in UTC."""
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return (now + hours * H).isoformat()


def book(capsys: pytest.CaptureFixture[str], url: str, *extra: str) -> dict[str, Any]:
    return dict(run_json(capsys, url, "book", "--start", at(2), "--hours", "2", *extra))


# -- point 10: one mapping everywhere -----------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "code", "words"),
    [
        # malformed or contradictory input: 2
        (["book", "--model", "A4000", "--start", at(3), "--until", at(2)], 2, "not after"),
        (["book", "--model", "A4000", "--start", at(3), "--until", at(3)], 2, "not after"),
        (["book", "--gpu", "gpu-01:0", "--start", at(3), "--until", at(1)], 2, "not after"),
        (["book", "--model", "A4000", "--hours", "1", "--start", "soon"], 2, "ISO 8601"),
        (["bookings", "--from", at(5), "--to", at(2)], 2, "not after --from"),
        (["bookings", "--from", "yesterday"], 2, "ISO 8601"),
        (
            ["slots", "--model", "A4000", "--hours", "1", "--after", at(5), "--deadline", at(2)],
            2,
            "deadline",
        ),
        (["extend", "x", "--until", "later"], 2, "ISO 8601"),
        (["rules", "--set", "colour=red"], 2, "KEY=VALUE"),
        (["rules", "--set", "max_hours=long"], 2, "cannot read max_hours"),
        (["rules", "--set", "max_hours=0"], 2, "greater than 0"),
        (
            [
                "offload",
                "submit",
                "--cluster",
                "c",
                "--dir",
                ".",
                "--gpus",
                "-1",
                "--hours",
                "1",
                "--",
                "true",
            ],
            2,
            "--gpus must be 0 or more",
        ),
        (
            [
                "offload",
                "submit",
                "--cluster",
                "c",
                "--dir",
                ".",
                "--gpus",
                "1",
                "--hours",
                "0",
                "--",
                "true",
            ],
            2,
            "--hours must be more than 0",
        ),
        (["usage", "--from", at(-2), "--to", at(-5)], 2, "before --to"),
        (["usage", "--demand", "--month", "2026-13"], 2, "not a month"),
        (["projects", "add", "Not A Name"], 2, "not a usable project name"),
        (["projects", "retire", "nope"], 2, "unknown project"),
        (["book", "--model", "A4000", "--hours", "1", "--project", "nope"], 2, "unknown project"),
        # a request the lab cannot serve: 1, with a message
        (
            [
                "offload",
                "submit",
                "--cluster",
                "nope",
                "--dir",
                ".",
                "--gpus",
                "1",
                "--hours",
                "1",
                "--",
                "true",
            ],
            1,
            "no cluster named 'nope'",
        ),
        (["offload", "status", "99"], 1, "no offloaded job 99"),
        (["book", "--model", "H100", "--hours", "1"], 1, "no bookable H100"),
        (["book", "--model", "A40", "--count", "3", "--hours", "1"], 1, "only 2 exist"),
        (["slots", "--model", "H100", "--hours", "1"], 1, "no bookable H100"),
        (["slots", "--model", "A4000", "--hours", "3", "--deadline", at(2)], 1, "no 1 x A4000"),
        (["book", "--gpu", "gpu-09:0", "--hours", "1"], 1, "no GPU gpu-09:0"),
        (["cancel", "deadbeef"], 1, "no booking"),
        (["end", "deadbeef"], 1, "no booking"),
        (["approve", "deadbeef"], 1, "no booking"),
        (["reject", "deadbeef", "--reason", "no"], 1, "no booking"),
        (["extend", "deadbeef", "--until", at(9)], 1, "no booking"),
        # a rule: 3
        (["book", "--model", "A4000", "--hours", "100"], 3, "at most 72 h"),
        (["book", "--model", "A4000", "--count", "9", "--hours", "1"], 3, "at once"),
        (["slots", "--model", "A4000", "--count", "9", "--hours", "1"], 3, "at once"),
    ],
)
def test_exit_code_mapping(
    lab_url: str, capsys: pytest.CaptureFixture[str], argv: list[str], code: int, words: str
) -> None:
    got, out, err = run(capsys, lab_url, *argv)
    assert (got, out) == (code, ""), err
    assert words in err


def test_conflicts_and_permissions_exit_3(lab_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    mine = book(capsys, lab_url, "--gpu", "gpu-01:0")
    code, _out, err = run(
        capsys, lab_url, "book", "--gpu", "gpu-01:0", "--start", at(3), "--hours", "1"
    )
    assert code == 3, err
    assert "gpu-01:0" in err
    code, _out, err = run(capsys, lab_url, "approve", mine["group_id"])  # not pending
    assert code == 3, err


def test_no_slot_before_the_deadline_is_1_also_as_json(
    lab_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["slots", "--model", "A4000", "--hours", "3", "--deadline", at(2), "--json"]
    code, out, err = run(capsys, lab_url, *argv)
    assert code == 1
    assert json.loads(out) == []
    assert "no 1 x A4000" in err


def test_offload_requests_malformed_2_beyond_the_site_3() -> None:
    from labgpu.core.offload.jobs import Cluster, JobRequest, check_request

    site = Cluster("neuron", "h", "u", max_hours=48)
    request = JobRequest("neuron", ".", "python train.py", 1, 2.0)
    for bad, code in (
        (JobRequest("neuron", ".", "python train.py", 1, 0.0), 2),
        (JobRequest("neuron", ".", " ", 1, 2.0), 2),
        (JobRequest("neuron", ".", "python train.py", 1, 72.0), 3),
    ):
        with pytest.raises(LabgpuError) as exc:
            check_request(bad, site)
        assert exc.value.exit_code == code
    check_request(request, site)


# -- point 11: --json on every command that reports; GPUs by server, index, uuid -------------


def test_book_named_gpus_and_json_names_gpus(
    lab_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    group = book(capsys, lab_url, "--gpu", "gpu-02:2", "--gpu", "gpu-02:3")
    gpus = group["gpus"]
    assert [(g["server"], g["index"]) for g in gpus] == [("gpu-02", 2), ("gpu-02", 3)]
    assert [g["uuid"] for g in gpus] == ["gpu-02-2", "gpu-02-3"]
    assert "gpu_id" not in gpus[0]
    [listed] = run_json(capsys, lab_url, "bookings")
    assert [g["uuid"] for g in listed["gpus"]] == [g["uuid"] for g in gpus]
    slots = run_json(capsys, lab_url, "slots", "--model", "A40", "--count", "2", "--hours", "1")
    first = slots[0]
    assert "gpu_ids" not in first
    assert [(g["server"], g["index"]) for g in first["gpus"]] == [("gpu-03", 0), ("gpu-03", 1)]
    assert [g["uuid"] for g in first["gpus"]] == ["gpu-03-0", "gpu-03-1"]


@pytest.mark.parametrize(
    "command",
    [["extend", "{id}", "--until", "{later}"], ["end", "{id}"], ["cancel", "{id}"]],
)
def test_changes_report_as_json(
    lab_url: str, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    group = book(capsys, lab_url, "--model", "A4000")
    if command[0] == "end":  # end needs a booking that runs
        group = run_json(capsys, lab_url, "book", "--model", "A4000", "--hours", "2")
    argv = [w.format(id=group["group_id"], later=at(6)) for w in command]
    changed = run_json(capsys, lab_url, *argv)
    assert changed["group_id"] == group["group_id"]
    assert changed["gpus"][0]["uuid"] == group["gpus"][0]["uuid"]


def test_approve_and_reject_report_as_json(
    lab_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    asked = book(capsys, lab_url, "--model", "A40")
    assert asked["status"] == "pending"
    assert run_json(capsys, lab_url, "approve", asked["group_id"])["status"] == "booked"
    other = book(capsys, lab_url, "--model", "A40")
    rejected = run_json(capsys, lab_url, "reject", other["group_id"], "--reason", "no")
    assert rejected["status"] == "cancelled"


def test_ics_with_json_prints_only_json(
    lab_url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    book(capsys, lab_url, "--model", "A4000")
    path = tmp_path / "lab.ics"
    assert run_json(capsys, lab_url, "bookings", "--ics", str(path)) == {
        "ics": str(path),
        "bookings": 1,
    }


# -- point 12: .ics into an existing folder, a sensible span, alarms ---------------------------


def test_ics_into_a_missing_folder_is_an_error(
    lab_url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "no-such-folder" / "lab.ics"
    code, out, err = run(capsys, lab_url, "bookings", "--ics", str(path))
    assert code == 1
    assert "no folder" in err
    assert str(path.parent) in err
    assert not path.parent.exists()


def _events(path: Path) -> list[Any]:
    return list(Calendar.from_ical(path.read_bytes()).walk("VEVENT"))


def test_lab_ics_leaves_out_history_unless_from_says_so(
    lab_url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    store = Store(lab_url)
    try:
        from labgpu.core.booking.bookings import BookingStatus, Window

        gpu = store.inventory.list_gpus()[0]
        old = datetime.now(UTC).replace(microsecond=0) - timedelta(days=40)
        store.bookings.create_bookings(
            "old-group", [gpu.id or 0], "someone", Window(old, old + 2 * H),
            BookingStatus.BOOKED, "", "someone",
        )  # fmt: skip
    finally:
        store.close()
    book(capsys, lab_url, "--model", "A4000")
    path = tmp_path / "lab.ics"
    assert run(capsys, lab_url, "bookings", "--ics", str(path))[0] == 0
    assert len(_events(path)) == 1  # the future one; not 40 days ago
    since = (datetime.now(UTC) - timedelta(days=60)).isoformat()
    assert run(capsys, lab_url, "bookings", "--ics", str(path), "--from", since)[0] == 0
    assert len(_events(path)) == 2


def test_ics_events_carry_alarms_at_the_lead_time(
    lab_url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    book(capsys, lab_url, "--model", "A4000")
    path = tmp_path / "mine.ics"
    assert run(capsys, lab_url, "bookings", "--mine", "--ics", str(path))[0] == 0
    [event] = _events(path)
    [alarm] = event.walk("VALARM")
    assert alarm["trigger"].dt == -timedelta(minutes=15)
    assert str(alarm["action"]) == "DISPLAY"
    assert run(capsys, lab_url, "bookings", "--ics", str(path), "--remind", "30")[0] == 0
    [alarm] = _events(path)[0].walk("VALARM")
    assert alarm["trigger"].dt == -timedelta(minutes=30)
    assert run(capsys, lab_url, "bookings", "--ics", str(path), "--remind", "0")[0] == 0
    assert _events(path)[0].walk("VALARM") == []


# -- point 14: clusters add --update changes only what is given ---------------------------------


def test_clusters_update_changes_only_what_is_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'clusters.db'}"
    added = run_json(
        capsys, url,
        *("clusters", "add", "neuron", "--host", "neuron.example.org", "--user", "kim01"),
        *("--scheduler", "pbs", "--port", "2222", "--partition", "normal"),
        *("--directive", "-A proj", "--module", "cuda/12.1", "--base-dir", "/scratch/kim01"),
        *("--max-hours", "48", "--login", "interactive"),
    )  # fmt: skip
    changed = run_json(
        capsys, url, "clusters", "add", "neuron", "--update", "--directive", "-l place=scatter"
    )
    assert changed["directives"] == ["-l place=scatter"]
    del added["directives"], changed["directives"]
    assert changed == added  # the port is still 2222, the scheduler pbs, ...
    [listed] = run_json(capsys, url, "clusters", "list")
    assert (listed["port"], listed["directives"]) == (2222, ["-l place=scatter"])


def test_clusters_add_needs_host_user_scheduler_unless_update(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'clusters.db'}"
    code, out, err = run(capsys, url, "clusters", "add", "neuron", "--host", "h")
    assert (code, out) == (2, "")
    assert "--user, --scheduler" in err
    code, out, err = run(capsys, url, "clusters", "add", "nowhere", "--update", "--port", "22")
    assert (code, out) == (1, "")
    assert "no cluster named 'nowhere'" in err


# -- point 11: every command that reports takes --json ------------------------------------------

#: Commands that report nothing to parse: the app, interactive logins and password changes,
#: the lab database's one-time setup.
NO_JSON = {"gui", "lab init", "clusters login", "users passwd", "jobs log"}


def _commands(parser: argparse.ArgumentParser, prefix: str = "") -> dict[str, set[str]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found: dict[str, set[str]] = {}
            for name, sub in action.choices.items():
                found.update(_commands(sub, f"{prefix} {name}".strip()))
            return found
    return {prefix: {o for a in parser._actions for o in a.option_strings}}


def test_every_command_that_reports_takes_json() -> None:
    commands = _commands(build_parser())
    assert "extend" in commands
    missing = sorted(c for c, options in commands.items() if "--json" not in options)
    assert missing == sorted(NO_JSON)


def test_more_commands_report_as_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'json.db'}"
    assert run_json(capsys, url, "db", "upgrade")["schema"] == "current"
    argv = ("clusters", "add", "c1", "--host", "h", "--user", "u", "--scheduler", "slurm")
    run_json(capsys, url, *argv)
    assert run_json(capsys, url, "clusters", "remove", "c1") == {"removed": "c1"}
    assert run_json(capsys, url, "collect", "--once") == []  # no servers yet


def test_users_report_as_json(
    postgres_url: str, capsys: pytest.CaptureFixture[str], postgres_server: Any
) -> None:
    import uuid

    import psycopg

    name = f"json_{uuid.uuid4().hex[:8]}"
    try:
        assert run(capsys, postgres_url, "lab", "init")[0] == 0
        added = run_json(capsys, postgres_url, "users", "add", name, "--role", "student")
        assert (added["name"], added["role"]) == (name, "student")
        assert len(added["password"]) >= 12
        changed = run_json(capsys, postgres_url, "users", "set-role", name, "pi")
        assert changed == {"name": name, "role": "pi"}
        assert run_json(capsys, postgres_url, "users", "remove", name) == {"removed": name}
    finally:
        with psycopg.connect(postgres_server.conninfo(), autocommit=True) as admin:
            admin.execute(f'DROP ROLE IF EXISTS "{name}"')


def test_earliest_with_no_slot_within_the_horizon_is_1(
    lab_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run_json(capsys, lab_url, "rules", "--set", "horizon_days=1", "--set", "max_gpus_at_once=12")
    run_json(capsys, lab_url, "book", "--model", "A4000", "--count", "8", "--hours", "30")
    argv = ("book", "--model", "A4000", "--hours", "1", "--earliest")
    code, out, err = run(capsys, lab_url, *argv)
    assert (code, out) == (1, ""), err
    assert "no 1 x A4000 free together" in err
    code, out, err = run(capsys, lab_url, "book", "--model", "A4000", "--hours", "1")
    assert (code, out) == (3, "")  # a conflict with the bookings there: refused
