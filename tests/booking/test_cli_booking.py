"""The booking CLI (README *Using it*) on real SQLite and PostgreSQL: book, slots, bookings,
cancel, end, extend, approve, reject, rules, .ics; local times in zones with and without daylight
saving; refusals exit 3, usage errors 2."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from labgpu.cli.rules_commands import apply_changes
from labgpu.cli.times import parse_time
from labgpu.core.booking.rules import BookingRules
from labgpu.core.errors import LabgpuError
from tests.helpers.booking_lab import lab_url, run, run_json

__all__ = ["lab_url"]  # a fixture

NEW_YORK = ZoneInfo("America/New_York")
SEOUL = ZoneInfo("Asia/Seoul")
H = timedelta(hours=1)


def local_iso(moment: datetime, zone: ZoneInfo) -> str:
    """``moment`` as a naive local ISO string, the way a person types it."""
    return moment.astimezone(zone).replace(tzinfo=None).isoformat(timespec="minutes")


def next_hour(hours: int = 1) -> datetime:
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + hours * H


# -- parsing times ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "zone", "utc"),
    [
        ("2026-12-01T10:00", SEOUL, datetime(2026, 12, 1, 1, 0, tzinfo=UTC)),
        ("2026-12-01 10:00", NEW_YORK, datetime(2026, 12, 1, 15, 0, tzinfo=UTC)),  # EST
        ("2026-07-01T10:00", NEW_YORK, datetime(2026, 7, 1, 14, 0, tzinfo=UTC)),  # EDT
        ("2026-11-01T01:30", NEW_YORK, datetime(2026, 11, 1, 5, 30, tzinfo=UTC)),  # first 01:30
        ("2026-12-01T10:00+09:00", NEW_YORK, datetime(2026, 12, 1, 1, 0, tzinfo=UTC)),
        ("2026-12-01T10:00Z", SEOUL, datetime(2026, 12, 1, 10, 0, tzinfo=UTC)),
    ],
)
def test_parse_time_local_unless_offset(text: str, zone: ZoneInfo, utc: datetime) -> None:
    assert parse_time(text, zone) == utc


def test_parse_time_refuses_skipped_local_time_and_garbage() -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="does not exist"):
        parse_time("2027-03-14T02:30", NEW_YORK)  # clocks jump 02:00 -> 03:00
    with pytest.raises(argparse.ArgumentTypeError, match="ISO 8601"):
        parse_time("tomorrow at ten", SEOUL)


def test_apply_rule_changes() -> None:
    rules = apply_changes(
        BookingRules(),
        [
            "max_hours=48",
            "weekly_quota_gpu_hours=100",
            "model_weights=A40=3,A100=2.5",
            "approval_models=A40,A100",
            "auto_release=on",
            "idle_minutes=20",
        ],
    )
    assert rules.max_hours == 48.0
    assert rules.weekly_quota_gpu_hours == 100.0
    assert rules.model_weights == (("A40", 3.0), ("A100", 2.5))
    assert rules.approval_models == ("A40", "A100")
    assert rules.auto_release is True
    assert rules.idle_minutes == 20
    assert apply_changes(rules, ["weekly_quota_gpu_hours=none"]).weekly_quota_gpu_hours is None
    for bad in ("max_hours", "colour=red", "max_hours=long", "auto_release=maybe"):
        with pytest.raises(LabgpuError):
            apply_changes(rules, [bad])


# -- end to end ---------------------------------------------------------------------------------


def test_book_list_extend_cancel(
    lab_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "Asia/Seoul")
    start = next_hour(2)
    code, out, err = run(
        capsys,
        lab_url,
        *("book", "--model", "A4000", "--count", "2", "--hours", "3"),
        *("--start", local_iso(start, SEOUL), "--same-server", "--note", "ablation"),
    )
    assert code == 0, err
    assert "booked 2 GPU(s) (gpu-01:0, gpu-01:1)" in out
    assert "KST" in out
    [group] = run_json(capsys, lab_url, "bookings", "--mine")
    assert group["start"] == start.isoformat()
    assert group["end"] == (start + 3 * H).isoformat()
    assert [g["gpu"] for g in group["gpus"]] == ["gpu-01:0", "gpu-01:1"]
    assert group["note"] == "ablation"
    short = group["group_id"][:8]
    code, out, err = run(capsys, lab_url, "bookings")
    assert short in out
    assert "ablation" in out
    new_end = local_iso(start + 5 * H, SEOUL)
    code, out, err = run(capsys, lab_url, "extend", short, "--until", new_end)
    assert code == 0, err
    assert run_json(capsys, lab_url, "bookings")[0]["end"] == (start + 5 * H).isoformat()
    code, out, err = run(capsys, lab_url, "cancel", str(group["gpus"][0]["booking_id"]))
    assert code == 0, err
    assert "cancelled" in out
    assert run_json(capsys, lab_url, "bookings") == []
    code, out, err = run(capsys, lab_url, "cancel", short)
    assert code == 3
    assert "is cancelled" in err


def test_book_across_daylight_saving_change(
    lab_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    run_json(capsys, lab_url, "rules", "--set", "horizon_days=500")
    # 20:00 EST to 08:00 EDT the next morning: 11 real hours, not 12
    code, out, err = run(
        capsys,
        lab_url,
        *("book", "--model", "A4000", "--start", "2027-03-13T20:00"),
        *("--until", "2027-03-14T08:00", "--json"),
    )
    assert code == 0, err
    group = json.loads(out)
    assert group["start"] == "2027-03-14T01:00:00+00:00"
    assert group["end"] == "2027-03-14T12:00:00+00:00"
    code, out, err = run(capsys, lab_url, "bookings", "--from", "2027-03-13T00:00")
    assert "2027-03-13 20:00 EST" in out
    assert "2027-03-14 08:00 EDT" in out


def test_refusals_exit_3_with_reason(lab_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    start = next_hour(1).isoformat()
    book = ("book", "--model", "A4000", "--start", start)
    run_json(capsys, lab_url, "rules", "--set", "max_gpus_at_once=12")
    assert run(capsys, lab_url, *book, "--count", "4", "--hours", "2", "--same-server")[0] == 0
    assert run(capsys, lab_url, *book, "--count", "4", "--hours", "2")[0] == 0
    code, out, err = run(capsys, lab_url, *book, "--count", "1", "--hours", "2")
    assert (code, out) == (3, "")
    assert "no 1 x A4000 free" in err
    cases = {
        "max_hours": [*book, "--hours", "100"],
        "past": ["book", "--model", "A4000", "--start", "2020-01-01T10:00Z", "--hours", "1"],
        "horizon": [
            "book",
            "--model",
            "A4000",
            "--start",
            next_hour(24 * 30).isoformat(),
            "--hours",
            "1",
        ],
    }  # unknown model, too many GPUs (1), end before start (2): tests/test_cli_contract.py
    words = {
        "max_hours": "at most 72 h",
        "past": "in the past",
        "horizon": "horizon",
    }
    for name, argv in cases.items():
        code, out, err = run(capsys, lab_url, *argv)
        assert code == 3, (name, err)
        assert words[name] in err, (name, err)


@pytest.mark.parametrize(
    "argv",
    [
        ["book", "--model", "A4000", "--hours", "0"],
        ["book", "--model", "A4000", "--hours", "-2"],
        ["book", "--model", "A4000", "--count", "0", "--hours", "1"],
        ["book", "--model", "A4000", "--hours", "1", "--start", "next tuesday"],
        ["book", "--model", "A4000", "--hours", "1", "--until", "2030-01-01T00:00"],
        ["book", "--model", "A4000", "--earliest", "--until", "2030-01-01T00:00"],
        ["slots", "--model", "A4000", "--hours", "0"],
    ],
)
def test_usage_errors_exit_2(
    lab_url: str, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    assert run(capsys, lab_url, *argv)[0] == 2


def test_slots_and_earliest(lab_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    start = next_hour(1)
    run_json(capsys, lab_url, "rules", "--set", "max_gpus_at_once=12")
    for hours in ("2", "4"):  # both A4000 servers busy, for 2 and for 4 hours
        code, _out, err = run(
            capsys,
            lab_url,
            *("book", "--model", "A4000", "--count", "4", "--same-server"),
            *("--start", start.isoformat(), "--hours", hours),
        )
        assert code == 0, err
    slots = run_json(
        capsys,
        lab_url,
        "slots",
        "--model",
        "A4000",
        "--count",
        "4",
        "--hours",
        "3",
        "--after",
        start.isoformat(),
    )
    assert slots[0]["start"] == (start + 2 * H).isoformat()
    assert slots[0]["servers"] == ["gpu-01"]
    assert slots[1]["start"] == (start + 4 * H).isoformat()
    code, out, err = run(
        capsys, lab_url, "slots", "--model", "A4000", "--count", "2", "--hours", "1"
    )
    assert code == 0, err
    assert "START" in out
    code, out, err = run(
        capsys, lab_url, "book", "--model", "A4000", "--count", "4", "--hours", "3", "--earliest"
    )
    assert code == 0, err
    assert "gpu-01:0" in out


def test_approval_by_cli(lab_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    start = next_hour(1).isoformat()
    asked = run_json(capsys, lab_url, "book", "--model", "A40", "--start", start, "--hours", "2")
    assert asked["status"] == "pending"
    code, out, err = run(capsys, lab_url, "approve", asked["group_id"])
    assert code == 0, err
    assert run_json(capsys, lab_url, "bookings")[0]["status"] == "booked"
    other = run_json(capsys, lab_url, "book", "--model", "A40", "--start", start, "--hours", "2")
    code, out, err = run(capsys, lab_url, "reject", other["group_id"][:8], "--reason", "deadline")
    assert code == 0, err
    assert "rejected" in out
    code, out, err = run(capsys, lab_url, "approve", other["group_id"])
    assert code == 3
    statuses = [g["status"] for g in run_json(capsys, lab_url, "bookings", "--all")]
    assert sorted(statuses) == ["booked", "cancelled"]


def test_end_now_and_ics(lab_url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(capsys, lab_url, "book", "--model", "A4000", "--hours", "2", "--json")
    assert code == 0, err
    group = json.loads(out)
    assert group["status"] == "active"  # from now
    code, out, err = run(capsys, lab_url, "end", group["group_id"])
    assert code == 0, err
    [ended] = run_json(capsys, lab_url, "bookings", "--from", "2020-01-01T00:00Z")
    assert ended["status"] == "released"
    path = tmp_path / "mine.ics"
    code, out, err = run(capsys, lab_url, "bookings", "--mine", "--ics", str(path))
    assert code == 0, err
    assert "wrote 1 booking(s)" in out
    [event] = Calendar.from_ical(path.read_bytes()).walk("VEVENT")
    assert str(event["uid"]) == f"{group['group_id']}@labgpu"


def test_a_gpu_not_named_server_colon_index_is_a_usage_error(
    lab_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, lab_url, "book", "--gpu", "gpu-01", "--hours", "1")
    assert code == 2
    assert out == ""
    assert "gpu-01: give each GPU as SERVER:INDEX, e.g. gpu05:2" in err
    code, _out, err = run(capsys, lab_url, "book", "--gpu", "gpu-09:0", "--hours", "1")
    assert code == 1  # well formed, but not in the lab
    assert "no GPU gpu-09:0 in the lab" in err
    assert run_json(capsys, lab_url, "bookings") == []  # nothing was booked


def test_cancelling_a_started_booking_says_it_ended(
    lab_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``cancel`` of a booking that has started ends it now (README): the line says *ended*,
    not *cancelled*, and the booking is released."""
    group = run_json(capsys, lab_url, "book", "--model", "A4000", "--hours", "2")
    assert group["status"] == "active"
    code, out, err = run(capsys, lab_url, "cancel", group["group_id"])
    assert code == 0, err
    assert out.startswith("ended 1 GPU(s)"), out
    [ended] = run_json(capsys, lab_url, "bookings", "--from", "2020-01-01T00:00Z")
    assert ended["status"] == "released"


def test_rules_show_and_set(lab_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_json(capsys, lab_url, "rules")["max_hours"] == 72.0
    changed = run_json(
        capsys, lab_url, "rules", "--set", "max_hours=48", "--set", "max_gpus_at_once=2"
    )
    assert (changed["max_hours"], changed["max_gpus_at_once"]) == (48.0, 2)
    assert run_json(capsys, lab_url, "rules")["model_weights"] == {"A40": 3.0}
    code, out, err = run(capsys, lab_url, "rules", "--set", "max_hours=0")
    assert code == 2  # malformed input (the CLI contract)
    assert "max_hours" in err
    code, out, err = run(capsys, lab_url, "rules", "--set", "nonsense=1")
    assert code == 2
    code, out, err = run(capsys, lab_url, "rules")
    assert "max_hours = 48.0" in out
    both = run_json(  # several changes after one --set, as the README writes it
        capsys, lab_url, "rules", "--set", "at_booking_end=stop", "intruder_action=message"
    )
    assert (both["at_booking_end"], both["intruder_action"]) == ("stop", "message")
    code, out, err = run(capsys, lab_url, "rules", "--set", "intruder_action=kill")
    assert code == 2
    assert "intruder_action" in err


def test_refusal_exit_code_from_the_real_command(lab_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "TZ": "Asia/Seoul"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "labgpu",
            "--db",
            lab_url,
            "book",
            "--model",
            "A4000",
            "--hours",
            "99",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 3, result.stderr
    assert "72 h" in result.stderr
    assert result.stdout == ""


def test_status_shows_who_holds_each_gpu_now(
    capsys: pytest.CaptureFixture[str], lab_url: str
) -> None:
    code, out, err = run(capsys, lab_url, "book", "--model", "A4000", "--count", "2",
                         "--hours", "2", "--same-server", "--note", "now")  # fmt: skip
    assert code == 0, err
    data = run_json(capsys, lab_url, "status")
    held = [g for g in data["gpus"] if g["booked_by"] is not None]
    assert len(held) == 2
    assert {g["booked_by"] for g in held} == {"tester"}
    assert len({g["server"] for g in held}) == 1
    assert all(g["booking_end"] and g["booking_group"] for g in held)
    assert all(g["booked_by"] is None for g in data["gpus"] if g not in held)
    code, out, _ = run(capsys, lab_url, "status")
    assert "BOOKED BY" in out
    assert out.count("tester") == 2
