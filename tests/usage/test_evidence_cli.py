"""``labgpu usage --demand`` and the ``"evidence"`` of ``labgpu usage --json`` against the small
hand-computed history of tests/helpers/usage_data (SQLite and PostgreSQL): JSON and CSV read
back, the text table, and usage errors (exit 2).

That history, in figures: gpu-01's two A4000s are both taken in both hours (gpu-01/0 busy, and
gpu-01/1 booked by bo in the first hour, busy in the second): 2 of 2 hours saturated; gpu-02's
A40 is busy in the first hour and has no readings in the second: 1 of 1. Served: amy's 2 h and
bo's 1 h on the A4000s. Requests: amy's A40 x 2 for 8 h had no slot (16 GPU-h unserved);
bo's A4000 for 96 h was refused by the longest-booking rule (96 GPU-h refused).
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest

from labgpu.cli.main import main
from tests.helpers.usage_data import A40, A4000, BASE, END, seed_usage

RANGE = ("--from", BASE.isoformat(), "--to", END.isoformat())
ROWS = [
    {
        "month": "2026-03",
        "model": A40,
        "served_gpu_hours": 0.0,
        "unserved_gpu_hours": 16.0,
        "offloaded_gpu_hours": 0.0,
        "refused_gpu_hours": 0.0,
    },
    {
        "month": "2026-03",
        "model": A4000,
        "served_gpu_hours": 3.0,
        "unserved_gpu_hours": 0.0,
        "offloaded_gpu_hours": 0.0,
        "refused_gpu_hours": 96.0,
    },
]


@pytest.fixture
def lab_url(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("TZ", "UTC")  # months are cut in the local zone
    seed_usage(db_url)
    return db_url


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


def test_demand_json(lab_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, lab_url, "--demand", *RANGE)
    assert data["rows"] == ROWS
    assert data["partial"] is False
    assert data["until"] == END.isoformat(timespec="seconds")


def test_demand_csv_reads_back_for_a_month(
    lab_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, lab_url, "--demand", "--month", "2026-03", "--csv")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [
        {k: v if k in ("month", "model") else float(v) for k, v in r.items()} for r in rows
    ] == (ROWS)


def test_demand_text(lab_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, lab_url, "--demand", *RANGE)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("GPU-hours needed per GPU model and month")
    assert "SERVED GPU-H" in out
    assert "UNSERVED GPU-H" in out
    (row,) = [line for line in lines if A4000 in line]
    assert row.split()[-4:] == ["3.0", "0.0", "0.0", "96.0"]  # bo's refused 96 h
    assert any(line.strip().startswith("refused") for line in lines)


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (("--demand", "--month", "2026-03", "--from", BASE.isoformat()), "--month covers"),
        (("--demand", "--csv", "--json"), "choose one"),
        (("--demand", "--report", "/tmp/x.pdf"), "--demand goes only"),
        (("--demand", "--by", "model"), "--demand goes only"),
        (("--demand", "--month", "2099-01"), "has not begun"),
        (("--demand", "--month", "March"), "not a month"),
    ],
)
def test_demand_usage_errors_exit_2(
    lab_url: str, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], words: str
) -> None:
    code, out, err = run(capsys, lab_url, *argv)
    assert (code, out) == (2, "")
    assert words in err


def test_usage_json_carries_the_evidence(lab_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    evidence = run_json(capsys, lab_url, *RANGE)["evidence"]
    assert evidence["demand"] == ROWS
    assert evidence["saturation"] == [
        {
            "month": "2026-03",
            "model": A40,
            "gpus": 1,
            "hours": 1,
            "saturated_hours": 1,
            "saturated_share": 1.0,
        },
        {
            "month": "2026-03",
            "model": A4000,
            "gpus": 2,
            "hours": 2,
            "saturated_hours": 2,
            "saturated_share": 1.0,
        },
    ]
    assert evidence["waits"] == [
        {
            "month": "2026-03",
            "model": A40,
            "requests": 1,
            "median_wait_hours": None,
            "p90_wait_hours": None,
            "no_slot": 1,
        }
    ]
    assert evidence["cluster_queues"] == []
