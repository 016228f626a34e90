"""A lab database for direct-SQL tests: initialised, with members of every role and one GPU.

Every ``Lab.connect`` is a plain psycopg connection logged in as the member's own role, the
way someone with ``psql`` would do it (the shared test server trusts logins on 127.0.0.1).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest

from labgpu.storage import db, labdb
from tests.helpers.postgres import PostgresServer


@dataclass
class Lab:
    server: PostgresServer
    dbname: str
    url: str
    names: dict[str, str]
    gpu_id: int
    server_name: str

    def connect(self, who: str) -> psycopg.Connection:
        name = self.names.get(who, who)
        return psycopg.connect(
            f"host=127.0.0.1 port={self.server.port} user={name} dbname={self.dbname}",
            autocommit=True,
        )

    def admin(self) -> psycopg.Connection:
        """The superuser, on the lab database."""
        return psycopg.connect(self.server.conninfo(self.dbname), autocommit=True)


@pytest.fixture
def lab(postgres_server: PostgresServer, postgres_url: str) -> Iterator[Lab]:
    """An initialised lab database with students a and b, a PI, a manager and the collector."""
    db.upgrade(postgres_url)
    engine = db.make_engine(postgres_url)
    suffix = uuid.uuid4().hex[:8]
    names = {
        "a": f"alice_{suffix}",
        "b": f"bob_{suffix}",
        "pi": f"pia_{suffix}",
        "manager": f"mona_{suffix}",
        "collector": f"collector_{suffix}",
    }
    roles = {"a": "student", "b": "student", "pi": "pi", "manager": "manager"}
    roles["collector"] = "collector"
    try:
        labdb.init_lab(engine)
        labdb.init_lab(engine)  # idempotent
        with engine.begin() as conn:
            for who, role in roles.items():
                labdb.add_member(conn, names[who], role)
        dbname = postgres_url.rsplit("/", 1)[1]
        with psycopg.connect(postgres_server.conninfo(dbname), autocommit=True) as admin:
            server_id = admin.execute(
                "INSERT INTO servers (name, host) VALUES ('node1', 'node1') RETURNING id"
            ).fetchone()
            assert server_id is not None
            gpu = admin.execute(
                "INSERT INTO gpus (server_id, index, uuid, model) "
                "VALUES (%s, 0, %s, 'A100') RETURNING id",
                (server_id[0], f"GPU-{suffix}"),
            ).fetchone()
            assert gpu is not None
        yield Lab(postgres_server, dbname, postgres_url, names, gpu[0], "node1")
    finally:
        engine.dispose()
        postgres_server.drop_database(postgres_url.rsplit("/", 1)[1])
        with psycopg.connect(postgres_server.conninfo(), autocommit=True) as admin:
            for name in names.values():
                admin.execute(f'DROP ROLE IF EXISTS "{name}"')
