"""Who a member is, and what a role may do, holds in the lab database (issue 12): ``SET ROLE``
to a group role changes no booking's holder, the collector only releases, and no member creates
tables, temporary or not, even where PostgreSQL 13 and 14 left ``public`` open.
"""

from __future__ import annotations

from labgpu.storage import db, labdb
from tests.helpers.labdb import lab
from tests.helpers.rules_lab import DAY, RulesLab, denied, insert, rlab, rule_refused

__all__ = ["lab", "rlab"]  # the fixtures


def test_set_role_does_not_change_who_holds_a_booking(rlab: RulesLab) -> None:
    member = rlab.lab.names["a"]
    with rlab.connect("a") as a:
        a.execute("SET ROLE labgpu_student")
        assert a.execute("SELECT current_user").fetchone() == ("labgpu_student",)
        booking = insert(a, rlab.a4000[0], DAY, DAY + " + interval '1 hour'")
        row = a.execute("SELECT user_name, created_by FROM bookings WHERE id = %s", (booking,))
        assert row.fetchone() == (member, member)
        as_group = ", user_name|, 'labgpu_student'"
        two = DAY + " + interval '2 hours'"
        assert rule_refused(lambda: insert(a, rlab.a4000[1], DAY, two, extra=as_group))[0] == (
            "holder"
        )
        a.execute("RESET ROLE")
    with rlab.connect("b") as b:  # and another student still cannot touch it
        b.execute("SET ROLE labgpu_student")
        message = denied(
            lambda: b.execute("UPDATE bookings SET status = 'cancelled' WHERE id = %s", (booking,))
        )
        assert f"this one is {member}'s" in message


def test_the_collector_only_releases(rlab: RulesLab) -> None:
    with rlab.connect("a") as a:
        booking = insert(a, rlab.a4000[0], DAY, DAY + " + interval '1 hour'")
    with rlab.connect("collector") as c:
        for change in ("end_ts = end_ts + interval '1 hour'", f"gpu_id = {rlab.a4000[1]}"):
            sql = f"UPDATE bookings SET {change} WHERE id = {booking}"
            assert "only releases idle bookings" in denied(lambda s=sql: c.execute(s))


def test_members_create_nothing_even_where_public_was_open(rlab: RulesLab) -> None:
    """PostgreSQL 13 and 14 let every role create in ``public``; ``lab init`` takes it back."""
    lab = rlab.lab
    with lab.admin() as admin:
        admin.execute("GRANT CREATE, USAGE ON SCHEMA public TO PUBLIC")  # as 13/14 ship it
        admin.execute(f'GRANT CREATE, TEMPORARY ON DATABASE "{lab.dbname}" TO PUBLIC')
    engine = db.make_engine(lab.url)
    try:
        labdb.init_lab(engine)
    finally:
        engine.dispose()
    for who in ("a", "pi", "collector"):
        with lab.connect(who) as conn:
            row = conn.execute(
                "SELECT has_schema_privilege('public', 'CREATE'), "
                "has_database_privilege(current_database(), 'CREATE'), "
                "has_database_privilege(current_database(), 'TEMPORARY')"
            ).fetchone()
            assert row == (False, False, False), who
            denied(lambda conn=conn: conn.execute("CREATE TABLE public.t (x int)"))  # type: ignore[misc]
            denied(lambda conn=conn: conn.execute("CREATE TEMP TABLE t (x int)"))  # type: ignore[misc]
