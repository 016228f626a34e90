"""The evidence figures as pure values (core/usage/evidence.py): nearest-rank percentiles, waits
per model and month, offloaded jobs' queue waits, saturated hours and their series, and the
demand survey's served/unserved/offloaded/refused GPU-hours, all hand-computed."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta, timezone

import pytest

from labgpu.core.usage.evidence import (
    DEMAND_COLUMNS,
    BookedAsk,
    DemandFigure,
    Evidence,
    ModelHour,
    OffloadedJob,
    booked_later,
    demand_figures,
    percentile,
    queue_figures,
    saturation_figures,
    saturation_series,
    served_by_month,
    wait_figures,
)
from labgpu.core.usage.figures import SlotRequest
from labgpu.core.usage.saturation import BookableGpu, booked_runs, model_hours

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
A40 = "NVIDIA A40"
H = timedelta(hours=1)


def _req(
    wait_h: float | None,
    model: str = A40,
    user: str = "amy",
    at: datetime = T0,
    count: int = 1,
    hours: float = 4.0,
    rule: str | None = None,
) -> SlotRequest:
    wanted = at + 2 * H  # the member asked for a start two hours on: no wait by choice
    earliest = None if wait_h is None else wanted + wait_h * H
    return SlotRequest(user, model, count, hours, at, wanted, earliest, rule)


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 50) is None
    assert percentile([5.0], 90) == 5.0
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.0  # rank ceil(2.0) = 2
    assert percentile([4.0, 1.0, 3.0, 2.0], 90) == 4.0  # rank ceil(3.6) = 4
    values = [float(v) for v in range(1, 11)]  # 1..10
    assert percentile(values, 50) == 5.0  # rank 5
    assert percentile(values, 90) == 9.0  # rank 9
    assert percentile(values, 91) == 10.0  # rank ceil(9.1) = 10
    with pytest.raises(ValueError, match="percentile"):
        percentile(values, 0)


def test_waits_per_model_and_month_leave_out_refusals_and_count_no_slot_apart() -> None:
    march = [_req(w) for w in (0.0, 0.25, 1.0, 3.0, 10.0)]
    requests = [
        *march,
        _req(None),  # no slot within the horizon: counted, not in the percentiles
        _req(5.0, rule="max_hours"),  # refused by a rule: left out
        _req(2.0, model="NVIDIA RTX A4000"),
        _req(6.0, at=datetime(2026, 4, 1, 0, 30, tzinfo=UTC)),
    ]
    figures = wait_figures(requests)
    assert [(f.month, f.model) for f in figures] == [
        ("2026-03", A40),
        ("2026-03", "NVIDIA RTX A4000"),
        ("2026-04", A40),
    ]
    march_a40 = figures[0]
    # waits 0, 0.25, 1, 3, 10: median rank ceil(2.5) = 3 -> 1 h; p90 rank ceil(4.5) = 5 -> 10 h
    assert (march_a40.requests, march_a40.median_h, march_a40.p90_h, march_a40.no_slot) == (
        6,
        1.0,
        10.0,
        1,
    )
    assert figures[2].median_h == figures[2].p90_h == 6.0
    # In a zone 2 h behind UTC, 1 April 00:30 UTC is still March.
    behind = wait_figures(requests[-1:], timezone(timedelta(hours=-2)))
    assert behind[0].month == "2026-03"


def test_only_no_slot_gives_no_percentiles() -> None:
    (figure,) = wait_figures([_req(None), _req(None)])
    assert (figure.requests, figure.median_h, figure.p90_h, figure.no_slot) == (2, None, None, 2)
    assert figure.to_json()["median_wait_hours"] is None


def _job(
    submitted: datetime,
    queued_h: float | None,
    ran_h: float | None = None,
    user: str = "amy",
    cluster: str = "hpc",
) -> OffloadedJob:
    started = None if queued_h is None else submitted + queued_h * H
    ended = None if started is None or ran_h is None else started + ran_h * H
    return OffloadedJob(user, cluster, "a100", 2, submitted, started, ended, 2 * (ran_h or 0.0))


def test_queue_waits_and_turnaround_per_cluster_and_month() -> None:
    jobs = [
        _job(T0, 1.0, 4.0),
        _job(T0, 3.0, 1.0),
        _job(T0, 0.5, None),  # running: a wait, no turnaround
        _job(T0, None),  # still queued: counted in jobs only
        _job(T0, 2.0, 2.0, cluster="other"),
    ]
    hpc, other = queue_figures(jobs)
    assert (hpc.month, hpc.cluster, hpc.jobs) == ("2026-03", "hpc", 4)
    # waits 0.5, 1, 3: median rank 2 -> 1 h; p90 rank ceil(2.7) = 3 -> 3 h
    assert (hpc.median_wait_h, hpc.p90_wait_h) == (1.0, 3.0)
    # turnarounds 1 + 4 = 5 h and 3 + 1 = 4 h: median rank 1 -> 4 h
    assert hpc.median_turnaround_h == 4.0
    assert hpc.gpu_hours == 2 * 4.0 + 2 * 1.0
    assert (other.jobs, other.median_wait_h, other.median_turnaround_h) == (1, 2.0, 4.0)


def test_saturated_hours_per_model_and_month() -> None:
    h0 = int(datetime(2026, 3, 31, 22, tzinfo=UTC).timestamp())
    hours = [
        ModelHour(A40, h0, 2, 2),  # saturated
        ModelHour(A40, h0 + 3600, 2, 1),
        ModelHour(A40, h0 + 7200, 2, 2),  # 1 April
        ModelHour("NVIDIA RTX A4000", h0, 3, 3),
        ModelHour("NVIDIA RTX A4000", h0 + 3600, 0, 0),  # none bookable: never saturated
    ]
    figures = saturation_figures(hours)
    assert [(f.month, f.model, f.gpus, f.hours, f.saturated_hours) for f in figures] == [
        ("2026-03", A40, 2, 2, 1),
        ("2026-03", "NVIDIA RTX A4000", 3, 2, 1),
        ("2026-04", A40, 2, 1, 1),
    ]
    assert figures[0].share == 0.5
    assert figures[0].to_json()["saturated_share"] == 0.5


def test_saturation_series_per_day() -> None:
    day = 86400
    d0 = int(datetime(2026, 3, 1, tzinfo=UTC).timestamp())
    hours = [ModelHour(A40, d0 + h * 3600, 1, 1 if h < 6 else 0) for h in range(24)]
    hours += [ModelHour(A40, d0 + day + h * 3600, 1, 1) for h in range(12)]
    (series,) = saturation_series(hours, d0, d0 + 3 * day, day)
    assert series.starts == (d0, d0 + day, d0 + 2 * day)
    assert series.shares == (6 / 24, 1.0, None)
    with pytest.raises(ValueError, match="whole hours"):
        saturation_series(hours, d0, d0 + day, 1800)


def test_booked_runs_keep_hours_booked_at_least_half() -> None:
    h = int(datetime(2026, 3, 1, tzinfo=UTC).timestamp())
    spans = [
        (1, h + 1200, h + 3 * 3600 + 1800),  # 40 min of hour 0, hours 1-2, 30 min of hour 3
        (2, h, h + 1000),  # 1000 s: not half
        (2, h + 2000, h + 3000),  # with the one before: 2000 s, taken
        (2, h + 3600 + 600, h + 3600 + 1500),  # 900 s of hour 1: not taken
        (3, h + 5400, h + 9000),  # 30 min of hour 1 and 30 min of hour 2: both taken
        (3, h + 9000, h + 9000 + 3600),  # back to back: rest of hour 2, 30 min of hour 3
    ]
    assert booked_runs(spans) == {
        1: [(h, h + 4 * 3600)],
        2: [(h, h + 3600)],
        3: [(h + 3600, h + 4 * 3600)],
    }


def test_model_hours_combine_busy_and_booked_gpus() -> None:
    h = int(datetime(2026, 3, 1, tzinfo=UTC).timestamp())
    gpus = [
        BookableGpu(11, A40, h),
        BookableGpu(12, A40, h),
        BookableGpu(13, A40, h + 2 * 3600),  # arrives in hour 2
        BookableGpu(14, "NVIDIA RTX A4000", h, retired=h + 3600),  # gone from hour 1
    ]
    bits = {11: 0, 12: 1, 13: 2, 14: 3, 15: 4}  # 15: a first-come GPU (not bookable)
    booked = {12: [(h, h + 2 * 3600)], 13: [(h + 2 * 3600, h + 3 * 3600)], 15: [(h, h + 3600)]}
    rows = [
        (h, 0b11011, 0b01001),  # A40: 11 busy, 12 booked: 2 of 2; A4000: 14 busy: 1 of 1
        (h + 3600, 0b11011, 0b01010),  # A40: 12 busy and booked, 11 free: 1 of 2; 14 retired
        (h + 2 * 3600, 0b00111, 0b00011),  # 11, 12 busy, 13 booked: 3 of 3
        (h + 3 * 3600, 0b10111, 0b10000),  # none of the A40s: 0 of 3
        (h + 4 * 3600, 0b10000, 0b10000),  # readings of 15 only: no hour of either model
    ]
    found = model_hours(rows, gpus, booked, bits)
    assert [(m.model, (m.start - h) // 3600, m.gpus, m.taken, m.saturated) for m in found] == [
        (A40, 0, 2, 2, True),
        ("NVIDIA RTX A4000", 0, 1, 1, True),
        (A40, 1, 2, 1, False),
        ("NVIDIA RTX A4000", 1, 0, 0, False),
        (A40, 2, 3, 3, True),
        (A40, 3, 3, 0, False),
    ]


def test_served_hours_split_at_month_boundaries_and_clipped() -> None:
    lo = int(datetime(2026, 3, 31, 0, tzinfo=UTC).timestamp())
    hi = int(datetime(2026, 4, 1, 6, tzinfo=UTC).timestamp())
    spans = [(A40, lo - 3600, hi + 3600)]  # clipped to [lo, hi): 24 h March, 6 h April
    assert served_by_month(spans, lo, hi) == {("2026-03", A40): 24.0, ("2026-04", A40): 6.0}


def test_demand_counts_unserved_offloaded_refused_and_served() -> None:
    requests = [
        _req(1.0, count=2, hours=3.0),  # unmet (wait >= 30 min): 6 GPU-h unserved
        _req(0.0),  # met: counted nowhere
        _req(0.25),  # 15 min: met
        _req(None, user="bo", count=4, hours=10.0),  # no slot; bo offloads 5 h later: offloaded
        _req(None, user="cy", hours=2.0),  # no slot; cy's job is 25 h later: unserved
        _req(None, hours=8.0, rule="max_hours"),  # refused: 8 GPU-h refused
    ]
    jobs = [
        _job(T0 + 5 * H, 1.0, user="bo"),
        _job(T0 + 25 * H, 1.0, user="cy"),
        _job(T0 - H, 1.0, user="amy"),  # before asking: does not follow the request
    ]
    served = {("2026-03", A40): 100.0, ("2026-03", "NVIDIA RTX A4000"): 7.5}
    figures = demand_figures(requests, jobs, served)
    assert figures == [
        DemandFigure("2026-03", A40, 100.0, 6.0 + 2.0, 40.0, 8.0),
        DemandFigure("2026-03", "NVIDIA RTX A4000", 7.5, 0.0, 0.0, 0.0),
    ]


def test_a_late_request_the_member_then_booked_is_served_not_unserved() -> None:
    """Each GPU-hour asked counts once: an unmet request the member booked anyway (a booking of
    theirs with the GPUs and hours asked, made within 24 h, starting no earlier than wanted) is
    in the served hours and the waits, not unserved; one booking serves one request."""
    wanted = T0 + 2 * H
    MIN1, MIN10 = timedelta(minutes=1), timedelta(minutes=10)  # noqa: N806
    requests = [
        _req(5.0, count=2, hours=3.0),  # late by 5 h; amy books the 5 h-later slot: served
        _req(5.0, count=2, hours=3.0, at=T0 + MIN10),  # asked again: one booking serves one
        _req(None, user="bo", hours=6.0),  # no slot; bo books 6 h elsewhere, 30 h later: unserved
        _req(None, user="cy", hours=4.0),  # no slot; cy books 1 h (not what was asked): unserved
    ]
    booked = [
        BookedAsk("amy", T0 + MIN1, 2, wanted + 5 * H, 3.0),
        BookedAsk("bo", T0 + 30 * H, 1, T0 + 40 * H, 6.0),  # made after the 24 h window
        BookedAsk("cy", T0 + MIN1, 1, wanted, 1.0),
        BookedAsk("amy", T0 - H, 2, wanted + 5 * H, 3.0),  # made before asking: not an answer
    ]
    assert booked_later(requests, booked) == {0}
    figures = demand_figures(requests, [], {("2026-03", A40): 6.0}, booked=booked)
    assert figures == [
        DemandFigure("2026-03", A40, 6.0, 6.0 + 6.0 + 4.0, 0.0, 0.0)
    ]  # 2nd ask, bo, cy
    # without the bookings the first request would count as unserved too (and as served)
    assert demand_figures(requests, [], {("2026-03", A40): 6.0})[0].unserved_gpu_h == 22.0


def test_evidence_json_and_csv_read_back() -> None:
    evidence = Evidence(
        T0,
        T0 + 24 * H,
        T0 + 12 * H,
        waits=tuple(wait_figures([_req(1.0 / 3)])),
        demand=(DemandFigure("2026-03", A40, 1.23456, 2.0, 0.0, 0.5),),
    )
    data = evidence.to_json()
    assert data["until"] == (T0 + 12 * H).isoformat()
    assert data["waits"] == [
        {
            "month": "2026-03",
            "model": A40,
            "requests": 1,
            "median_wait_hours": 0.333,
            "p90_wait_hours": 0.333,
            "no_slot": 0,
        }
    ]
    assert data["demand"] == [
        {
            "month": "2026-03",
            "model": A40,
            "served_gpu_hours": 1.235,
            "unserved_gpu_hours": 2.0,
            "offloaded_gpu_hours": 0.0,
            "refused_gpu_hours": 0.5,
        }
    ]
    rows = list(csv.reader(io.StringIO(evidence.demand_csv())))
    assert tuple(rows[0]) == DEMAND_COLUMNS
    assert rows[1] == ["2026-03", A40, "1.235", "2.0", "0.0", "0.5"]
