"""A lab database for the booking-rule tests: bookable RTX A4000s on two servers, an A40 that
needs a PI's approval and a GPU closed to booking, with the direct-SQL helpers that try to book
them as a member would with ``psql`` (issue 12)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
import pytest
from psycopg import errors

from labgpu.core.booking.rules import BookingRules
from labgpu.storage import policies
from tests.helpers.labdb import Lab

RULE_REFUSED = "LGR01"


@dataclass
class RulesLab:
    """``lab`` with bookable RTX A4000s, an A40 and a first-come A4000."""

    lab: Lab
    a4000: list[int]  # five, on node1 and node2
    a40: int
    closed: int  # not bookable

    def connect(self, who: str) -> psycopg.Connection:
        return self.lab.connect(who)

    def set_rules(self, rules: BookingRules) -> None:
        with self.lab.admin() as admin:
            admin.execute(
                "UPDATE booking_rules SET data = %s WHERE id = 1", (policies.rules_to_json(rules),)
            )


@pytest.fixture
def rlab(lab: Lab) -> RulesLab:
    with lab.admin() as admin:
        node1 = admin.execute("SELECT id FROM servers WHERE name = 'node1'").fetchone()
        node2 = admin.execute(
            "INSERT INTO servers (name, host) VALUES ('node2', 'node2') RETURNING id"
        ).fetchone()
        assert node1 is not None
        assert node2 is not None

        def gpu(server: int, index: int, model: str, bookable: bool = True) -> int:
            row = admin.execute(
                "INSERT INTO gpus (server_id, index, uuid, model, bookable) "
                "VALUES (%s, %s, %s, %s, %s) RETURNING id",
                (server, index, f"GPU-{uuid.uuid4()}", model, bookable),
            ).fetchone()
            assert row is not None
            return int(row[0])

        a4000 = [gpu(node1[0], i, "NVIDIA RTX A4000") for i in (1, 2, 3)]
        a4000 += [gpu(node2[0], i, "NVIDIA RTX A4000") for i in (0, 1)]
        a40 = gpu(node2[0], 2, "NVIDIA A40")
        closed = gpu(node2[0], 3, "NVIDIA RTX A4000", bookable=False)
    return RulesLab(lab, a4000, a40, closed)


def insert(
    conn: psycopg.Connection,
    gpu_id: int,
    start: str,
    end: str,
    status: str = "booked",
    extra: str = "",
) -> int:
    """Insert one booking with SQL times (``now() + interval '1 day'``); its id."""
    columns = "group_id, gpu_id, start_ts, end_ts, status, created_by" + extra.split("|")[0]
    values = f"%s, %s, {start}, {end}, %s, session_user" + (extra.split("|")[1] if extra else "")
    row = conn.execute(
        f"INSERT INTO bookings ({columns}) VALUES ({values}) RETURNING id",
        (uuid.uuid4().hex, gpu_id, status),
    ).fetchone()
    assert row is not None
    return int(row[0])


def rule_refused(action: Callable[[], object]) -> tuple[str, str]:
    """The rule the database named, and its message."""
    with pytest.raises(psycopg.DatabaseError) as info:
        action()
    assert info.value.sqlstate == RULE_REFUSED, info.value
    detail = json.loads(info.value.diag.message_detail or "{}")
    return str(detail["rule"]), str(info.value.diag.message_primary)


def denied(action: Callable[[], object]) -> str:
    with pytest.raises(errors.InsufficientPrivilege) as info:
        action()
    return str(info.value)


DAY = "now() + interval '1 day'"
