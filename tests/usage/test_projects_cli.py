"""``labgpu projects`` and ``--project`` on ``book``, ``slots`` and ``offload submit``, and
``labgpu usage --by project`` (issue 16, point 4), on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.helpers.booking_lab import lab_url, run, run_json

__all__ = ["lab_url"]  # the fixture
H = timedelta(hours=1)


def at(hours: int) -> str:
    """A whole hour ``hours`` from now, as ISO 8601 in UTC."""
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return (now + hours * H).isoformat()


def test_projects_listed_added_retired_and_reactivated(
    lab_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _err = run(capsys, lab_url, "projects")
    assert (code, out.strip()) == (
        0,
        "no projects yet; a manager adds one with `labgpu projects add NAME`",
    )
    added = run_json(capsys, lab_url, "projects", "add", "nrf-2026", "--title", "NRF grant")
    assert (added["name"], added["title"], added["active"]) == ("nrf-2026", "NRF grant", True)
    code, out, _err = run(capsys, lab_url, "projects", "add", "kaist")
    assert (code, out.strip()) == (0, "project kaist (active): -")
    assert run_json(capsys, lab_url, "projects", "retire", "kaist")["active"] is False
    listed = run_json(capsys, lab_url, "projects")
    assert [(p["name"], p["active"]) for p in listed] == [("kaist", False), ("nrf-2026", True)]
    assert run_json(capsys, lab_url, "projects", "list") == listed
    code, out, _err = run(capsys, lab_url, "projects", "--json", "list")  # --json before too
    assert json.loads(out) == listed
    code, out, _err = run(capsys, lab_url, "projects", "list")
    assert out.splitlines()[1:] == ["kaist     retired  -", "nrf-2026  active   NRF grant"]
    assert run_json(capsys, lab_url, "projects", "reactivate", "kaist")["active"] is True


def test_a_taken_name_is_a_conflict_exit_3(
    lab_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run_json(capsys, lab_url, "projects", "add", "p1", "--title", "first")
    code, out, err = run(capsys, lab_url, "projects", "add", "p1", "--title", "second")
    assert (code, out) == (3, "")
    assert "exists already" in err
    assert [p["title"] for p in run_json(capsys, lab_url, "projects", "list")] == ["first"]


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["projects", "add", "NRF"], "not a usable project name"),
        (["projects", "retire", "nope"], "unknown project 'nope'"),
        (
            ["book", "--model", "A4000", "--hours", "1", "--start", at(2), "--project", "nope"],
            "unknown project",
        ),
        (["book", "--model", "A4000", "--hours", "1", "--earliest", "--project", "old"], "retired"),
        (["slots", "--model", "A4000", "--hours", "1", "--project", "nope"], "unknown project"),
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
                "--project",
                "nope",
                "--",
                "true",
            ],
            "unknown project",
        ),
    ],  # fmt: skip
)
def test_bad_projects_are_exit_2_and_write_nothing(
    lab_url: str, capsys: pytest.CaptureFixture[str], argv: list[str], words: str
) -> None:
    run_json(capsys, lab_url, "projects", "add", "p1")
    run_json(capsys, lab_url, "projects", "add", "old")
    run_json(capsys, lab_url, "projects", "retire", "old")
    code, out, err = run(capsys, lab_url, *argv)
    assert (code, out) == (2, "")
    assert words in err
    assert run_json(capsys, lab_url, "bookings") == []
    rows = run_json(capsys, lab_url, "usage", "--by", "project", "--from", at(-1), "--to", at(1))
    assert all(r["slot_requests"] == 0 for r in rows["rows"])


def test_book_for_a_project_then_by_default_then_for_none(
    lab_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run_json(capsys, lab_url, "projects", "add", "p1")
    run_json(capsys, lab_url, "projects", "add", "p2")
    base = ["book", "--model", "A4000", "--hours", "1"]
    first = run_json(capsys, lab_url, *base, "--start", at(2), "--project", "p1")
    assert first["project"] == "p1"
    code, out, err = run(capsys, lab_url, *base, "--start", at(3), "--json")
    assert code == 0
    assert "for project p1, your default" in err
    assert json.loads(out)["project"] == "p1"
    assert run_json(capsys, lab_url, *base, "--start", at(4), "--no-project")["project"] is None
    assert run_json(capsys, lab_url, *base, "--start", at(5), "--project", "")["project"] is None
    earliest = run_json(capsys, lab_url, *base, "--earliest", "--project", "p2")
    assert earliest["project"] == "p2"
    # The newest booking named p2: it is the default now; the text output says so too.
    code, out, err = run(capsys, lab_url, *base, "--start", at(6))
    assert code == 0
    assert "for project p2, your default" in err
    assert out.strip().endswith("; project p2")
    bookings = run_json(capsys, lab_url, "bookings")
    assert sorted(str(b["project"]) for b in bookings) == ["None", "None", "p1", "p1", "p2", "p2"]


def test_usage_by_project_as_json_csv_and_text(
    lab_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run_json(capsys, lab_url, "projects", "add", "p1", "--title", "Grant one")
    # One search for p1 that the lab answers at once: one request, waiting 0 h.
    run_json(
        capsys, lab_url, "book", "--model", "A40", "--hours", "1", "--earliest", "--project", "p1"
    )
    span = ("--from", at(-1), "--to", at(1))
    found = run_json(capsys, lab_url, "usage", "--by", "project", *span)
    assert found["by"] == "project"
    assert found["rows"] == [
        {
            "project": "p1",
            "title": "Grant one",
            "booked_gpu_hours": found["rows"][0]["booked_gpu_hours"],  # up to now: the clock's
            "used_gpu_hours": 0.0,
            "slot_requests": 1,
            "median_wait_hours": found["rows"][0]["median_wait_hours"],
            "offloaded_gpu_hours": 0.0,
            "unserved_gpu_hours": 0.0,
        }
    ]
    assert 0.0 <= found["rows"][0]["booked_gpu_hours"] <= 1.0
    assert 0.0 <= found["rows"][0]["median_wait_hours"] <= 1 / 60  # offered from the next minute
    code, out, _err = run(capsys, lab_url, "usage", "--by", "project", *span, "--csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0
    assert [(r["project"], r["title"], r["slot_requests"]) for r in rows] == [
        ("p1", "Grant one", "1"),
        ("(total)", "", "1"),
    ]
    code, out, _err = run(capsys, lab_url, "usage", "--by", "project", *span)
    assert code == 0
    assert "PROJECT" in out
    assert "SLOT REQUESTS" in out
    assert "Grant one" in out
