"""Alembic revisions: linear, equal to the models, and a newer database is refused."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

from labgpu.core.errors import ConfigError, LabgpuError, SchemaTooNewError
from labgpu.storage import Store, db, revision
from labgpu.storage.models import Base

FUTURE = "ffff_from_the_future"


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = db.make_engine(db_url)
    yield engine
    engine.dispose()


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def _stamp(engine: Engine, revision: str) -> None:
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM alembic_version"))
        conn.execute(text("INSERT INTO alembic_version VALUES (:r)"), {"r": revision})


def test_upgrade_creates_exactly_the_models(engine: Engine) -> None:
    db.upgrade(engine)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
        assert db.current_revision(conn) == db.head_revision()
    assert _tables(engine) == set(Base.metadata.tables) | {"alembic_version"}


def test_revision_chain_is_linear() -> None:
    script = ScriptDirectory(str(db.MIGRATIONS_DIR))
    assert len(script.get_heads()) == 1
    assert len(script.get_bases()) == 1
    revisions = list(script.walk_revisions())
    assert all(not isinstance(r.down_revision, tuple | list) for r in revisions)
    assert revisions[0].revision == db.head_revision()


def test_downgrade_to_base_and_back(engine: Engine) -> None:
    db.upgrade(engine)
    with engine.begin() as conn:
        command.downgrade(db.alembic_config(conn), "base")
    assert _tables(engine) == {"alembic_version"}
    db.upgrade(engine)
    assert _tables(engine) >= set(Base.metadata.tables)


def test_upgrade_twice_is_harmless(db_url: str) -> None:
    store = Store(db_url)
    try:
        store.upgrade()
        store.upgrade()
        store.check_schema()
    finally:
        store.close()


def test_newer_database_is_refused_and_left_untouched(engine: Engine, db_url: str) -> None:
    db.upgrade(engine)
    _stamp(engine, FUTURE)
    before = _tables(engine)
    store = Store(db_url)
    try:
        with pytest.raises(SchemaTooNewError, match=f"newer labgpu \\(revision {FUTURE}\\)"):
            store.upgrade()
        with pytest.raises(SchemaTooNewError, match="install a newer labgpu"):
            store.check_schema()
    finally:
        store.close()
    assert _tables(engine) == before
    with engine.connect() as conn:
        assert db.current_revision(conn) == FUTURE


def test_newer_empty_database_gets_no_tables(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)"))
    _stamp(engine, FUTURE)
    with pytest.raises(SchemaTooNewError):
        db.upgrade(engine)
    assert _tables(engine) == {"alembic_version"}


def test_check_schema_on_empty_database_says_upgrade(db_url: str) -> None:
    store = Store(db_url)
    try:
        with pytest.raises(LabgpuError, match="labgpu db upgrade") as info:
            store.check_schema()
    finally:
        store.close()
    assert not isinstance(info.value, SchemaTooNewError)


def test_postgres_urls_use_psycopg3() -> None:
    assert db.normalize_url("postgresql://u@h/x") == "postgresql+psycopg://u@h/x"
    assert db.normalize_url("postgres://u:pw@h:5433/x") == "postgresql+psycopg://u:pw@h:5433/x"
    engine = db.make_engine("postgresql://u:secret@localhost/x")  # connects lazily
    assert engine.dialect.driver == "psycopg"
    assert engine.pool._pre_ping
    assert "secret" not in db.display_url("postgresql://u:secret@localhost/x")


def test_unknown_backend_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unsupported database"):
        db.make_engine("mysql://u@h/x")


def test_sqlite_pragmas_and_parent_dir(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "labgpu.db"
    engine = db.make_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == db.SQLITE_BUSY_TIMEOUT_MS
    engine.dispose()
    assert path.exists()


def test_migrations_ship_as_package_data() -> None:
    names = {p.name for p in db.MIGRATIONS_DIR.iterdir()}
    assert {"env.py", "script.py.mako", "versions"} <= names
    assert any(db.MIGRATIONS_DIR.joinpath("versions").glob("*.py"))


def test_new_revision_ids_are_numbered() -> None:
    number = int(db.head_revision().split("_", 1)[0]) + 1
    assert revision.next_revision_id("Add bookings!") == f"{number:04d}_add_bookings"


def test_autogenerate_on_unchanged_models_writes_an_empty_revision(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(db.MIGRATIONS_DIR, tmp_path / "migrations")
    monkeypatch.setattr(db, "MIGRATIONS_DIR", tmp_path / "migrations")
    head = db.head_revision()
    written = revision.write_revision("nothing changed")
    assert written.parent == tmp_path / "migrations" / "versions"
    body = written.read_text()
    assert "op." not in body
    assert f"down_revision: str | Sequence[str] | None = '{head}'" in body


def test_postgres_refuses_double_booking_by_itself(postgres_url: str) -> None:
    # Alembic's compare_metadata does not look at exclusion constraints (the model declares it,
    # PostgreSQL only, via ExcludeConstraint(...).ddl_if), so the upgrade test above cannot see
    # it missing or changed: check the definition PostgreSQL reports.
    engine = db.make_engine(postgres_url)
    try:
        db.upgrade(engine)
        with engine.connect() as conn:
            definition = conn.execute(
                text(
                    "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE conname = 'ex_bookings_no_overlap'"
                )
            ).scalar()
    finally:
        engine.dispose()
    assert definition == (
        "EXCLUDE USING gist (gpu_id WITH =, tstzrange(start_ts, end_ts, '[)'::text) WITH &&) "
        "WHERE (((status)::text = ANY ((ARRAY['pending'::character varying, "
        "'booked'::character varying])::text[])))"
    )


def test_unmet_requests_become_slot_requests_and_back(engine: Engine) -> None:
    """0011 keeps every old unmet request as it was; going back keeps the unmet and refused
    ones and drops the requests the lab served within 30 minutes (the old table never had
    those)."""
    with engine.begin() as conn:
        command.upgrade(db.alembic_config(conn), "0010_process_containers")
    rows = [  # user, wanted, earliest (None: no slot), refused rule
        ("amy", "2026-11-02 09:00:00+00:00", "2026-11-02 15:00:00+00:00", None),
        ("bo", "2026-11-02 10:00:00+00:00", None, None),
        ("cy", "2026-11-02 11:00:00+00:00", None, "max_hours"),
    ]
    insert = text(
        "INSERT INTO unmet_requests (user_name, model, count, hours, asked_at, wanted_at, "
        "earliest_at, refused_rule) VALUES (:u, 'NVIDIA A40', 2, 8.0, :w, :w, :e, :r)"
    )
    with engine.begin() as conn:
        for user, wanted, earliest, rule in rows:
            conn.execute(insert, {"u": user, "w": wanted, "e": earliest, "r": rule})
    db.upgrade(engine)
    select = (
        "SELECT user_name, model, count, hours, earliest_at IS NULL, refused_rule, project "
        "FROM {table} ORDER BY id"
    )
    with engine.connect() as conn:
        copied = conn.execute(text(select.format(table="slot_requests"))).all()
    assert [tuple(r) for r in copied] == [
        ("amy", "NVIDIA A40", 2, 8.0, False, None, None),
        ("bo", "NVIDIA A40", 2, 8.0, True, None, None),
        ("cy", "NVIDIA A40", 2, 8.0, True, "max_hours", None),
    ]
    with engine.begin() as conn:  # a request served 10 minutes late: not an unmet one
        conn.execute(
            text(
                "INSERT INTO slot_requests (user_name, model, count, hours, asked_at, wanted_at,"
                " earliest_at) VALUES ('dee', 'NVIDIA A40', 1, 2.0, :w, :w, :e)"
            ),
            {"w": "2026-11-03 09:00:00+00:00", "e": "2026-11-03 09:10:00+00:00"},
        )
    with engine.begin() as conn:
        command.downgrade(db.alembic_config(conn), "0010_process_containers")
    with engine.connect() as conn:
        back = conn.execute(text("SELECT user_name FROM unmet_requests ORDER BY id")).all()
    assert [r[0] for r in back] == ["amy", "bo", "cy"]
    assert "slot_requests" not in _tables(engine)
    db.upgrade(engine)
