"""The report's first page, the case for a committee (issue 16, point 7): every figure on it,
read back from the PDF with ``pdftotext``, is one ``labgpu usage --month M --json`` prints for
the month (its totals, its ``--by model`` and ``--by project`` rows, ``evidence`` and ``cost``);
earlier months without history show a dash, not a zero; without prices it says where to set
them."""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from labgpu.cli.main import main
from labgpu.core.offload.jobs import JobState, OffloadJob
from labgpu.core.usage.figures import SlotRequest, hours_label
from labgpu.gui.usage import report
from labgpu.gui.usage.report_case import shift_month
from labgpu.services import Labgpu
from labgpu.storage import Store
from tests.helpers.usage_data import A40, A4000, BASE, seed_usage

pytestmark = pytest.mark.usefixtures("qapp")
H = timedelta(hours=1)
MONTH = "2026-03"


def seed_case(url: str, prices: bool = True) -> None:
    """The usage seed, three A40 requests with waits of 1, 0 and 3 h, bo's A4000 request with
    no slot followed by a 2-GPU job that queued 30 min and ran 2 h, and (``prices``) A40
    prices; the RTX A4000 has none."""
    seed_usage(url)
    store = Store(url)
    try:
        for user, hours, at, wait in (
            ("cy", 2.0, 30, 1.0),
            ("cy", 3.0, 40, 0.0),
            ("di", 4.0, 50, 3.0),
        ):
            asked = BASE + timedelta(minutes=at)
            store.usage.add_request(
                SlotRequest(user, A40, 1, hours, asked, asked, asked + wait * H)
            )
        asked = BASE + timedelta(minutes=5)
        store.usage.add_request(SlotRequest("bo", A4000, 1, 5.0, asked, asked, None))
        job = store.offload.add_job(
            OffloadJob(0, f"job-{uuid.uuid4().hex[:8]}", "hpc", "bo", JobState.SUBMITTING, 2,
                       "", 6.0, "python train.py", "/tmp/x", "/s/x", "/s/x/job", "#!/bin/sh",
                       BASE + H)
        )  # fmt: skip
        store.offload.update_job(
            job.id,
            state=JobState.COMPLETED.value,
            started_at=BASE + 1.5 * H,
            ended_at=BASE + 3.5 * H,
            elapsed_s=7200,
        )
        if prices:
            changes = {"cloud_per_gpu_h": 2.0, "cluster_per_gpu_h": 0.5, "purchase_per_gpu": 5e3}
            store.prices.set(A40, changes, "boss")
    finally:
        store.close()


def usage_json(capsys: pytest.CaptureFixture[str], url: str, *argv: str) -> Any:
    capsys.readouterr()
    code = main(["--db", url, "usage", "--month", MONTH, *argv, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def page_one(path: Path) -> str:
    """Page 1 as pdftotext lays it out, runs of white space as one space."""
    text = subprocess.run(
        ["pdftotext", "-layout", "-f", "1", "-l", "1", str(path), "-"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return re.sub(r"\s+", " ", text)


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} %"


def hours(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} h"


@pytest.fixture
def made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[str, str, dict[str, Any]]:
    """The seeded lab's report (in UTC, as the CLI's months are with TZ=UTC), page 1's text,
    and the JSON: ``month`` (by user), ``model`` and ``project`` rows."""
    monkeypatch.setenv("TZ", "UTC")
    url = f"sqlite:///{tmp_path / 'db' / 'labgpu.db'}"
    seed_case(url)
    lab = Labgpu(url)
    lab.open()
    try:
        path = tmp_path / "march.pdf"
        report.write_monthly_report(lab, MONTH, path, UTC, "en")
    finally:
        lab.close()
    found = {
        "month": usage_json(capsys, url),
        "model": usage_json(capsys, url, "--by", "model"),
        "project": usage_json(capsys, url, "--by", "project"),
    }
    return url, page_one(path), found


def test_page_one_figures_are_the_json_figures(made: tuple[str, str, dict[str, Any]]) -> None:
    _url, text, found = made
    totals, evidence, cost = (found["month"][k] for k in ("totals", "evidence", "cost"))
    # The month: capacity, busy and booked shares, unmet and offloaded GPU-hours.
    for line in (
        f"GPUs {totals['gpus']}",
        f"Capacity (GPU-h) {hours_label(totals['capacity_gpu_hours'])}",
        f"Busy share of observed GPU-time {pct(totals['busy_pct'])}",
        f"Booked GPU-h (share of capacity) {hours_label(totals['booked_gpu_hours'])} "
        f"({pct(totals['booked_pct'])})",
        f"Asked, no GPUs in time (GPU-h) {hours_label(totals['unmet_gpu_hours'])}",
        f"Run on clusters (GPU-h, jobs) {hours_label(totals['offloaded_gpu_hours'])} "
        f"({totals['offloaded_jobs']})",
        # The trend: history starts 2026-03-02, so nothing is known of February or of last March.
        f"Busy share {pct(totals['busy_pct'])} — —",
        f"Booked GPU-h {hours_label(totals['booked_gpu_hours'])} — —",
    ):
        assert line in text, line
    assert (totals["gpus"], totals["busy_pct"], totals["offloaded_jobs"]) == (3, 80.0, 1)
    # what became of the unmet GPU-hours: they add up (booked later + clusters + unserved)
    unserved = sum(d["unserved_gpu_hours"] for d in evidence["demand"])
    to_clusters = sum(d["offloaded_gpu_hours"] for d in evidence["demand"])
    later = totals["unmet_gpu_hours"] - unserved - to_clusters
    assert later >= 0
    fate = (
        f"… booked later / clusters / none {hours_label(later)} / "
        f"{hours_label(to_clusters)} / {hours_label(unserved)}"
    )
    assert fate in text, text[text.find("Unmet requests") : text.find("Unmet requests") + 200]
    # Per model: GPUs and busy share (--by model), saturation, waits and demand (evidence).
    waits = {w["model"]: w for w in evidence["waits"]}
    saturated = {s["model"]: s for s in evidence["saturation"]}
    demand = {d["model"]: d for d in evidence["demand"]}
    rows = {r["model"]: r for r in found["model"]["rows"]}
    assert waits[A40]["median_wait_hours"] == 1.0  # waits 0, 1, 3 h: nearest rank 2
    assert waits[A40]["p90_wait_hours"] == 3.0
    for model in (A40, A4000):
        wait, sat, need = waits.get(model), saturated.get(model), demand[model]
        line = " ".join(
            [
                model,
                str(rows[model]["gpus"]),
                pct(rows[model]["busy_pct"]),
                pct(None if sat is None else 100 * sat["saturated_share"]),
                str(wait["requests"]) if wait else "0",
                hours(wait["median_wait_hours"]) if wait else "—",
                hours(wait["p90_wait_hours"]) if wait else "—",
                hours_label(need["unserved_gpu_hours"]),
                hours_label(need["offloaded_gpu_hours"]),
            ]
        )
        assert line in text, line
    # The cluster's queue: 1 job, 4 GPU-hours, waited 0.5 h, turned round in 2.5 h.
    (queue,) = evidence["cluster_queues"]
    line = (
        f"hpc {queue['jobs']} {hours_label(queue['gpu_hours'])} "
        f"{hours(queue['median_queue_wait_hours'])} {hours(queue['p90_queue_wait_hours'])} "
        f"{hours(queue['median_turnaround_hours'])}"
    )
    assert line == "hpc 1 4.0 0.5 h 0.5 h 2.5 h"
    assert line in text
    # Projects (--by project): the name and its GPU-hours.
    for row in found["project"]["rows"]:
        assert str(row["project"]) in text
    # Cost where set, and where to set the rest.
    (a40,) = [m for m in cost["models"] if m["model"] == A40]
    if a40["booked_gpu_hours"]:
        assert f"USD {a40['cloud_cost']:,.2f}" in text
    assert a40["buy_gpus"] == 1  # 2 + 4 unserved GPU-h in a 744 h month
    assert (
        f"{a40['buy_gpus']} more GPU(s) would pay for themselves in "
        f"{a40['payback_periods']:.1f} months" in text
    )
    assert cost["note"] is not None
    assert " ".join(cost["note"].split()) in text
    assert "no price is set for" in text
    assert A4000 in cost["unpriced_models"]


def test_page_one_text_copies_with_pypdf_too(made: tuple[str, str, dict[str, Any]]) -> None:
    _url, _text, found = made
    path = next(Path(_url.removeprefix("sqlite:///")).parent.parent.glob("*.pdf"))
    first = " ".join(PdfReader(path).pages[0].extract_text().split())
    assert "GPU usage report 2026-03" in first
    assert (
        f"Capacity (GPU-h) {hours_label(found['month']['totals']['capacity_gpu_hours'])}" in first
    )
    assert "Per GPU model" in first


def test_without_prices_it_says_where_to_set_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'db' / 'labgpu.db'}"
    seed_case(url, prices=False)
    lab = Labgpu(url)
    lab.open()
    try:
        path = tmp_path / "march.pdf"
        report.write_monthly_report(lab, MONTH, path, UTC, "en")
    finally:
        lab.close()
    text = page_one(path)
    assert "would have cost" not in text
    assert "a manager sets prices with `labgpu prices --set MODEL cloud=… purchase=…`" in text
    assert "Usage ▸ Prices…" in text


def test_the_trend_reads_the_previous_month_and_a_year_earlier() -> None:
    assert shift_month("2026-03", 1) == "2026-02"
    assert shift_month("2026-03", 12) == "2025-03"
    assert shift_month("2026-01", 1) == "2025-12"
    assert shift_month("2026-01", 13) == "2024-12"
    assert datetime(2026, 3, 1, tzinfo=UTC) < BASE  # the seed lies in the report's month


def test_the_trend_columns_are_each_months_json_totals(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """April's report: March (the seeded month) is its previous month, read the trend's
    lighter way; each of its figures is March's ``usage --month 2026-03 --json`` total."""
    monkeypatch.setenv("TZ", "UTC")
    url = f"sqlite:///{tmp_path / 'db' / 'labgpu.db'}"
    seed_case(url)
    lab = Labgpu(url)
    lab.open()
    try:
        path = tmp_path / "april.pdf"
        report.write_monthly_report(lab, "2026-04", path, UTC, "en")
    finally:
        lab.close()
    text = page_one(path)
    march = usage_json(capsys, url)["totals"]
    assert "GPU usage report 2026-04" in text
    # April: history covers it (nothing happened): no readings, so no busy share; March; none
    # a year earlier.
    for line in (
        f"Busy share — {pct(march['busy_pct'])} —",
        f"Booked GPU-h 0.0 {hours_label(march['booked_gpu_hours'])} —",
        f"Unmet GPU-h 0.0 {hours_label(march['unmet_gpu_hours'])} —",
        f"Cluster GPU-h 0.0 {hours_label(march['offloaded_gpu_hours'])} —",
    ):
        assert line in text, line
    assert (march["busy_pct"], march["unmet_gpu_hours"], march["offloaded_gpu_hours"]) == (
        80.0,
        27.0,
        4.0,
    )
