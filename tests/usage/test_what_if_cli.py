"""``labgpu usage --what-if`` on a lab with a history booked for real (SQLite and PostgreSQL):
the JSON fields and figures, the text table, and exit 2 for a change or options that are not
one."""

from __future__ import annotations

from datetime import timedelta

import pytest

from labgpu.cli.what_if_commands import what_if_text
from labgpu.core.usage.what_if import what_if
from labgpu.storage import Store
from tests.helpers.booking_lab import A40, run, run_json, seed_lab
from tests.usage.test_what_if import _unreproduced_history
from tests.usage.what_if_cases import book_history

RANGE = ("--from", "2026-11-02T07:00:00+00:00", "--to", "2026-11-03T07:00:00+00:00")
FIELDS = {
    "requests",
    "no_slot",
    "wait_median_h",
    "wait_p90_h",
    "unmet_requests",
    "unmet_gpu_hours",
    "offloaded_gpu_hours",
    "stayed_home_gpu_hours",
}


@pytest.fixture
def url(db_url: str) -> str:
    """The booking lab with ``book_history`` booked, on SQLite and on PostgreSQL."""
    url = db_url
    store = Store(url)
    store.upgrade()
    seed_lab(store)
    book_history(store)
    store.close()
    return url


def test_json_puts_the_change_beside_what_happened(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    data = run_json(capsys, url, "usage", "--what-if", "+4 A4000, +2 A40", *RANGE)
    assert data["changes"] == [
        {"count": 4, "model": "NVIDIA RTX A4000"},
        {"count": 2, "model": A40},
    ]
    assert (data["gpus_before"], data["gpus_after"], data["method"]) == (10, 16, "monotone")
    assert data["refused_requests"] == 1  # ann's A40, held back by her own limit
    assert data["unmet_after_minutes"] == 30
    assert data["not_reproduced"] == 0  # the replay gives every recorded answer back
    for column in ("happened", "replayed", "with_change"):
        assert set(data[column]) == FIELDS
    happened = data["happened"]
    assert happened == data["replayed"]  # the replay of the lab as it is gives the record back
    # Nine counted requests; waits (h): 0, 0, 4.92, 0, 3.87, 5.5, 3.42, 2.92, 3.67 — all but
    # the three zeros are unmet. Nearest rank: the 5th of 9 (3.42) and the 9th (5.5).
    assert (happened["requests"], happened["no_slot"]) == (9, 0)
    assert happened["wait_median_h"] == pytest.approx(3 + 25 / 60, abs=1e-3)
    assert happened["wait_p90_h"] == 5.5
    assert happened["unmet_requests"] == 6
    assert happened["unmet_gpu_hours"] == 2 * 3 + 1 * 2 + 4 * 2 + 3 * 1 + 1 * 8 + 2 * 2
    changed = data["with_change"]
    # With the change: 0, 0, 0, 0, 0, 2.67, 3.42, 2.92, 0 (tests/usage/test_what_if.py).
    assert changed["wait_median_h"] == 0.0
    assert changed["wait_p90_h"] == pytest.approx(3 + 25 / 60, abs=1e-3)
    assert changed["unmet_requests"] == 3
    assert changed["unmet_gpu_hours"] == 4 * 2 + 3 * 1 + 1 * 8


def test_the_lab_as_it_is_replays_to_what_happened(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    data = run_json(capsys, url, "usage", "--what-if", "+0", *RANGE)
    assert data["changes"] == []
    assert data["happened"] == data["replayed"] == data["with_change"]


def test_text_shows_three_columns(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, url, "usage", "--what-if", "-2 A40", *RANGE)
    assert code == 0, err
    assert "What if: -2 NVIDIA A40 (10 -> 8 GPUs)" in out
    assert "HAPPENED" in out
    assert "REPLAYED AS IS" in out
    assert "WITH THE CHANGE" in out
    assert "unmet GPU-hours" in out


@pytest.mark.parametrize("change", ["8 A40", "+8", "+two A40"])
def test_a_change_that_is_not_one_is_exit_2_with_the_grammar(
    url: str, capsys: pytest.CaptureFixture[str], change: str
) -> None:
    code, out, err = run(capsys, url, "usage", "--what-if", change, *RANGE)
    assert code == 2
    assert '"+8 A40"' in err
    assert out == ""


def test_removing_more_than_the_lab_has_is_exit_2(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _out, err = run(capsys, url, "usage", "--what-if", "-3 A40", *RANGE)
    assert code == 2
    assert "cannot remove 3 x NVIDIA A40: the lab has 2" in err


def test_what_if_goes_alone(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = run(capsys, url, "usage", "--what-if", "+1 A40", "--csv", *RANGE)
    assert code == 2
    assert "--what-if goes only with" in err
    code, _out, err = run(capsys, url, "usage", "--what-if", "+1 A40", "--month", "2026-11", *RANGE)
    assert code == 2


def test_a_month_with_no_requests_says_so(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, url, "usage", "--what-if", "+1 A40", "--month", "2026-10")
    assert code == 0, err
    assert "no slot requests in this range" in out


def test_text_says_how_many_requests_the_replay_could_not_reproduce() -> None:
    history, jobs = _unreproduced_history()
    start, end = history.requests[0].asked_at, history.requests[0].asked_at + timedelta(days=1)
    added = "\n".join(what_if_text(what_if(history, "+2 A40", start, end, jobs)))
    assert "1 requests the replay could not reproduce" in added
    assert "keep what really happened in 'with the change'" in added
    assert "none exceeds what really happened" in added
    removed = "\n".join(what_if_text(what_if(history, "-1 A40", start, end, jobs)))
    assert "with GPUs removed, their figures are the replay's" in removed
