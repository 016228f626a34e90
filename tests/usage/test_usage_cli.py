"""``labgpu usage`` (README *Using it*) against a lab with hand-computed usage
(tests/helpers/usage_data): each ``--by``, ``--json`` shape, ``--csv`` round trip, usage errors
(exit 2), retention."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from labgpu.cli.main import main
from labgpu.cli.usage_commands import last_month, usage_range
from labgpu.core.usage.figures import Retention, read_csv
from labgpu.storage import Store
from tests.helpers.usage_data import BASE, END, seed_usage

RANGE = ("--from", BASE.isoformat(), "--to", END.isoformat())


@pytest.fixture
def lab_url(db_url: str) -> str:
    seed_usage(db_url)
    return db_url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'db' / 'labgpu.db'}"
    seed_usage(url)
    return url


def run(capsys: pytest.CaptureFixture[str], url: str, *argv: str) -> tuple[int, str, str]:
    try:
        code = main(["--db", url, "usage", *argv])
    except SystemExit as exc:  # argparse: usage error
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], url: str, *argv: str) -> Any:
    code, out, err = run(capsys, url, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def run_rows(capsys: pytest.CaptureFixture[str], url: str, *argv: str) -> Any:
    return run_json(capsys, url, *argv)["rows"]


USER_ROWS = [
    {
        "user": "amy",
        "booked_gpu_hours": 2.0,
        "process_gpu_hours": 3.0,
        "idle_booked_gpu_hours": 0.0,
        "unbooked_process_gpu_hours": 1.0,
        "offloaded_gpu_hours": 0.0,
        "unmet_requests": 1,
        "refused_requests": 0,
        "pending_requests": 0,
        "rejected_requests": 0,
    },
    {
        "user": "bo",
        "booked_gpu_hours": 1.0,
        "process_gpu_hours": 1.0,
        "idle_booked_gpu_hours": 1.0,
        "unbooked_process_gpu_hours": 1.0,
        "offloaded_gpu_hours": 0.0,
        "unmet_requests": 0,
        "refused_requests": 1,
        "pending_requests": 0,
        "rejected_requests": 0,
    },
]
# by, label, gpus, observed, busy, busy %, mean util %, max util %, booked (all hand-computed)
GROUP_ROWS = {
    "gpu": [
        ("gpu-01/0", 1, 2.0, 2.0, 100.0, 50.0, 50.0, 2.0),
        ("gpu-01/1", 1, 2.0, 1.0, 50.0, 50.0, 100.0, 1.0),
        ("gpu-02/0", 1, 1.0, 1.0, 100.0, 20.0, 20.0, 0.0),
    ],
    "server": [
        ("gpu-01", 2, 4.0, 3.0, 75.0, 50.0, 100.0, 3.0),
        ("gpu-02", 1, 1.0, 1.0, 100.0, 20.0, 20.0, 0.0),
    ],
    "model": [
        ("NVIDIA A40", 1, 1.0, 1.0, 100.0, 20.0, 20.0, 0.0),
        ("NVIDIA RTX A4000", 2, 4.0, 3.0, 75.0, 50.0, 100.0, 3.0),
    ],
}
GROUP_KEYS = [
    "gpus",
    "observed_gpu_hours",
    "busy_gpu_hours",
    "busy_pct",
    "mean_util_pct",
    "max_util_pct",
    "booked_gpu_hours",
]


def test_by_user_is_the_default_with_hand_computed_hours(
    capsys: pytest.CaptureFixture[str], lab_url: str
) -> None:
    assert run_rows(capsys, lab_url, *RANGE) == USER_ROWS
    assert run_rows(capsys, lab_url, "--by", "user", *RANGE) == USER_ROWS


@pytest.mark.parametrize("by", ["gpu", "server", "model"])
def test_by_gpu_server_model(capsys: pytest.CaptureFixture[str], lab_url: str, by: str) -> None:
    rows = run_rows(capsys, lab_url, "--by", by, *RANGE)
    assert [r[by] for r in rows] == [r[0] for r in GROUP_ROWS[by]]
    for row, expected in zip(rows, GROUP_ROWS[by], strict=True):
        assert list(row) == [by, *GROUP_KEYS]
        assert [row[k] for k in GROUP_KEYS] == pytest.approx(list(expected[1:]))


def test_plain_output_is_an_aligned_table(
    capsys: pytest.CaptureFixture[str], sqlite_url: str
) -> None:
    code, out, err = run(capsys, sqlite_url, "--by", "server", *RANGE)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("usage from ")
    header, first, second, total = lines[1:]
    assert header.split()[:2] == ["SERVER", "GPUS"]
    assert first.split() == ["gpu-01", "2", "4.0", "3.0", "75.0", "50.0", "100.0", "3.0"]
    assert second.split()[0] == "gpu-02"
    assert total.split() == ["(total)", "3", "5.0", "4.0", "80.0", "-", "-", "3.0"]
    assert header.index("GPUS") == first.index("2 ")  # columns line up


def test_csv_round_trips_through_read_csv(
    capsys: pytest.CaptureFixture[str], sqlite_url: str
) -> None:
    code, out, err = run(capsys, sqlite_url, "--csv", *RANGE)
    assert code == 0, err
    table = read_csv(out)
    assert table.columns == ("from", "to", "until", *USER_ROWS[0])
    end = END.astimezone().isoformat()
    span = {"from": BASE.astimezone().isoformat(), "to": end, "until": end}
    rows = [dict(zip(table.columns, r, strict=True)) for r in table.rows]
    assert rows[:-1] == [{**span, **{k: str(v) for k, v in row.items()}} for row in USER_ROWS]
    assert rows[-1]["user"] == "(total)"
    assert rows[-1]["process_gpu_hours"] == "4.0"
    assert (rows[-1]["unmet_requests"], rows[-1]["refused_requests"]) == ("1", "1")


def test_default_range_is_the_last_30_days(
    capsys: pytest.CaptureFixture[str], sqlite_url: str
) -> None:
    now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    assert usage_range(None, None, now) == (now - timedelta(days=30), now)
    assert usage_range(BASE, None, now) == (BASE, now)
    assert usage_range(None, END, now) == (END - timedelta(days=30), END)
    # the seeded March is long gone: nothing used in the last 30 days
    rows = run_rows(capsys, sqlite_url)
    assert all(r["process_gpu_hours"] == 0 for r in rows)
    assert last_month(datetime(2026, 1, 15, tzinfo=UTC)) == "2025-12"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--by", "lab"), "invalid choice: 'lab'"),
        (("--from", "yesterday"), "is not a time"),
        (("--from", END.isoformat(), "--to", BASE.isoformat()), "must be before --to"),
        (("--from", BASE.isoformat(), "--to", BASE.isoformat()), "must be before --to"),
        (("--csv", "--json"), "choose one of --csv and --json"),
        (("--month", "2026-03", "--from", BASE.isoformat()), "--month is a whole month"),
        (("--month", "2999-01"), "has not begun"),
        (("--report", "r.pdf", "--month", "March"), "write it as YYYY-MM"),
        (("--report", "r.pdf", "--by", "gpu"), "--report writes a whole month"),
        (("--retention", "--csv"), "do not go with a table or a report"),
        (("--keep-raw-days", "-1"), "must be 0 or more"),
    ],
)
def test_bad_input_exits_2_with_a_message(
    capsys: pytest.CaptureFixture[str], sqlite_url: str, argv: tuple[str, ...], message: str
) -> None:
    code, out, err = run(capsys, sqlite_url, *argv)
    assert code == 2
    assert message in err
    assert out == ""


def test_database_trouble_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    nobody_listens = "postgresql+psycopg://labgpu@127.0.0.1:9/labgpu?connect_timeout=2"
    code, out, err = run(capsys, nobody_listens)
    assert code == 1
    assert err.startswith("labgpu: ")
    assert out == ""


def test_retention_show_change_and_refuse(
    capsys: pytest.CaptureFixture[str], sqlite_url: str
) -> None:
    code, out, _ = run(capsys, sqlite_url, "--retention")
    assert code == 0
    assert out.split("\n")[:3] == [
        "raw samples     7 days",
        "minute rollups  30 days",
        "hourly rollups  for ever",
    ]
    changed = run_json(capsys, sqlite_url, "--keep-raw-days", "3", "--keep-hour-days", "400")
    assert changed == {"raw_days": 3.0, "minute_days": 30.0, "hour_days": 400.0}
    assert run_json(capsys, sqlite_url, "--retention") == changed
    # minutes shorter than raw samples, hours shorter than minutes, nothing kept: refused
    for argv, message in [
        (("--keep-minute-days", "2"), "minute history must be kept at least as long as raw"),
        (("--keep-hour-days", "10"), "hourly history must be kept at least as long as minutes"),
        (("--keep-raw-days", "0"), "raw samples must be kept for more than 0 days"),
    ]:
        code, out, err = run(capsys, sqlite_url, *argv)
        assert (code, out) == (2, "")
        assert message in err
        assert "nothing changed" in err
    assert run_json(capsys, sqlite_url, "--retention") == changed
    code, out, _ = run(capsys, sqlite_url, "--keep-hour-days", "0")  # 0: for ever
    assert code == 0
    assert "hourly rollups  for ever" in out
    store = Store(sqlite_url)
    try:
        assert store.usage.retention() == Retention(3.0, 30.0, None)
        audit = [e for e in store.list_audit() if e.action == "usage.retention"]
        assert len(audit) == 2
        assert audit[0].actor == "tester"
    finally:
        store.close()


def test_a_range_after_now_is_refused_and_one_before_the_history_says_so(
    capsys: pytest.CaptureFixture[str], sqlite_url: str
) -> None:
    for argv in (("--from", "2099-01-01", "--to", "2099-02-01"), ("--from", "2099-01-01")):
        code, out, err = run(capsys, sqlite_url, *argv)
        assert code == 2
        assert "after now: there is nothing to count yet" in err  # not "before --to"
        assert out == ""
    before = ("--from", "2026-01-01T00:00:00+00:00", "--to", "2026-02-01T00:00:00+00:00")
    code, out, err = run(capsys, sqlite_url, *before)
    assert code == 0, err
    assert "usage history starts at" in out
    assert "nothing is known of this range" in out
    document = run_json(capsys, sqlite_url, *before)
    assert document["totals"]["observed_gpu_hours"] == 0.0
    assert document["history_from"].startswith("2026-03-0")
