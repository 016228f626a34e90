"""GPU prices in a lab database: everyone reads them, only managers write them — enforced by
PostgreSQL itself (a student and a PI by direct SQL are refused), and a manager's change by SQL
is audited by the database."""

from __future__ import annotations

import pytest

from labgpu.core.errors import RefusedError
from tests.members.test_labdb import Lab, lab, refused
from tests.usage.test_usage_labdb import store_as

__all__ = ["lab"]  # the fixture

A40 = "NVIDIA A40"


def test_students_and_pis_cannot_write_prices_by_sql(lab: Lab) -> None:
    with lab.connect("manager") as mgr:
        mgr.execute(
            "INSERT INTO gpu_prices (model, currency, cloud_per_gpu_h) VALUES (%s, 'USD', 2.0)",
            (A40,),
        )
    for who in ("a", "pi"):
        with lab.connect(who) as conn:
            refused(
                lambda conn=conn: conn.execute(  # type: ignore[misc]
                    "INSERT INTO gpu_prices (model, currency, cloud_per_gpu_h) "
                    "VALUES ('H100', 'USD', 0.01)"
                )
            )
            refused(
                lambda conn=conn: conn.execute(  # type: ignore[misc]
                    "UPDATE gpu_prices SET cloud_per_gpu_h = 0"
                )
            )
            refused(lambda conn=conn: conn.execute("DELETE FROM gpu_prices"))  # type: ignore[misc]
            # Everyone reads them, unchanged.
            rows = conn.execute("SELECT model, cloud_per_gpu_h FROM gpu_prices").fetchall()
            assert rows == [(A40, 2.0)]
    with lab.admin() as admin:
        audit = admin.execute(
            "SELECT actor, action, subject FROM audit_log WHERE action LIKE 'db.gpu_prices.%'"
        ).fetchall()
    assert audit == [(lab.names["manager"], "db.gpu_prices.insert", A40)]


def test_a_negative_price_is_refused_by_the_database_too(lab: Lab) -> None:
    with lab.connect("manager") as mgr, pytest.raises(Exception, match="check constraint"):
        mgr.execute(
            "INSERT INTO gpu_prices (model, currency, purchase_per_gpu) VALUES ('H100', 'USD', -5)"
        )


def test_the_app_as_a_student_is_refused_and_as_a_manager_sets(lab: Lab) -> None:
    student, manager = store_as(lab, "a"), store_as(lab, "manager")
    try:
        with pytest.raises(RefusedError):
            # The app asks the service as a manager would: the database still refuses.
            student.prices.set(A40, {"cloud_per_gpu_h": 1.0}, lab.names["a"])
        assert student.prices.list() == []
        manager.prices.set(A40, {"cloud_per_gpu_h": 1.25}, lab.names["manager"])
        (price,) = student.prices.list()
        assert (price.model, price.cloud_per_gpu_h, price.updated_by) == (
            A40,
            1.25,
            lab.names["manager"],
        )
    finally:
        student.close()
        manager.close()
