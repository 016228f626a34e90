"""The lab database protects clusters and offloaded jobs (direct SQL as each member, issue 5)."""

from __future__ import annotations

import psycopg

from tests.members.test_labdb import Lab, lab, refused

__all__ = ["lab"]  # the fixture, shared with test_labdb

JOB_COLUMNS = "name, cluster, state, gpus, hours, command, local_dir, remote_dir, job_dir, script"


def add_job(conn: psycopg.Connection, name: str, user: str | None = None) -> None:
    """Insert a queued job (under ``user``, or the default: current_user)."""
    columns, values = JOB_COLUMNS, "%s, 'neuron', 'queued', 1, 1.0, 'x', '/l', '/r', '/j', '#!'"
    params: list[object] = [name]
    if user is not None:
        columns += ", user_name"
        values += ", %s"
        params.append(user)
    conn.execute(f"INSERT INTO offload_jobs ({columns}) VALUES ({values})", params)


def test_everyone_reads_jobs_and_a_student_changes_only_their_own(lab: Lab) -> None:
    with lab.connect("a") as a, lab.connect("b") as b, lab.connect("pi") as pi:
        add_job(a, "job-of-a")
        owner = pi.execute("SELECT user_name FROM offload_jobs WHERE name = 'job-of-a'").fetchone()
        assert owner == (lab.names["a"],)
        cancel = "UPDATE offload_jobs SET state = 'cancelled' WHERE name = 'job-of-a'"
        message = refused(lambda: b.execute(cancel))
        assert "only " + lab.names["a"] + " or a lab manager can change this offloaded job" in (
            message
        )
        refused(lambda: b.execute("DELETE FROM offload_jobs WHERE name = 'job-of-a'"))
        refused(lambda: pi.execute(cancel))
        refused(lambda: add_job(b, "forged", user=lab.names["a"]))
        give = "UPDATE offload_jobs SET user_name = %s WHERE name = 'job-of-a'"
        refused(lambda: a.execute(give, (lab.names["b"],)))
        a.execute(cancel)  # the owner may
        state = b.execute("SELECT state FROM offload_jobs WHERE name = 'job-of-a'").fetchone()
        assert state == ("cancelled",)


def test_clusters_are_written_by_managers_or_their_creator(lab: Lab) -> None:
    insert = (
        "INSERT INTO clusters (name, host, ssh_user, scheduler) "
        "VALUES (%s, 'neuron.ksc.re.kr', 'x', 'slurm')"
    )
    with lab.connect("a") as a, lab.connect("b") as b, lab.connect("manager") as mgr:
        a.execute(insert, ("a-cluster",))
        mgr.execute(insert, ("lab-cluster",))
        names = b.execute("SELECT name FROM clusters ORDER BY name").fetchall()
        assert names == [("a-cluster",), ("lab-cluster",)]
        change = "UPDATE clusters SET partition = 'p' WHERE name = %s"
        message = refused(lambda: b.execute(change, ("a-cluster",)))
        assert "can change this cluster" in message
        refused(lambda: a.execute(change, ("lab-cluster",)))
        refused(lambda: b.execute("DELETE FROM clusters WHERE name = 'lab-cluster'"))
        a.execute(change, ("a-cluster",))
        mgr.execute(change, ("a-cluster",))
        mgr.execute("DELETE FROM clusters WHERE name = 'a-cluster'")
