"""Database connection: SQLite (default) or PostgreSQL, migrated to the current schema on open.

SQLite is set up for a clinic's few concurrent writers: foreign keys on (they
are off by default), write-ahead log (readers never wait for a writer),
``synchronous=FULL`` (a committed visit survives a power cut), a 30 s busy
timeout, and writes that take the write lock when they begin
(``BEGIN IMMEDIATE``), so two practitioners saving at once queue instead of
failing with "database is locked".
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

__all__ = ["connect", "migrate", "WRITE"]

_MIGRATIONS = Path(__file__).with_name("migrations")
_BUSY_TIMEOUT_S = 30

#: Execution options of a writing transaction (``engine.execution_options(**WRITE)``).
WRITE = {"analyzer_write": True}


def connect(url: str) -> Engine:
    """An engine for ``url``, migrated to the newest schema.

    Parameters
    ----------
    url : str
        SQLAlchemy URL, e.g. ``sqlite:////srv/clinic/data/analyzer.sqlite3`` or
        ``postgresql+psycopg://clinic@db/analyzer``. A SQLite file's folder is created.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"timeout": _BUSY_TIMEOUT_S, "check_same_thread": False})
        _tune_sqlite(engine)
    else:
        engine = create_engine(parsed, pool_pre_ping=True)
    migrate(engine)
    return engine


def migrate(engine: Engine) -> None:
    """Apply every Alembic migration the database has not had yet (idempotent).

    On SQLite, foreign keys are off while the migrations run: SQLite alters a
    table by copying it and dropping the old one, and with foreign keys on that
    drop deletes every row referring to it (``ON DELETE CASCADE``: rebuilding
    ``patients`` emptied the sessions, rebuilding ``analyses`` their change
    maps). They are checked before the migration commits, so a migration that
    left a row pointing nowhere is rolled back, and turned on again after.
    """
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    with engine.execution_options(**WRITE).connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        raw = conn.connection.driver_connection
        if sqlite:
            raw.execute("PRAGMA foreign_keys = OFF")  # outside a transaction: inside one it does nothing
        committed = False
        try:
            with conn.begin():
                config.attributes["connection"] = conn
                before = _dangling(conn) if sqlite else set()  # rows broken already are not the migration's
                command.upgrade(config, "head")
                after = _dangling(conn) if sqlite else set()
                broken = sorted({f"{table} -> {parent}" for table, _, parent in after - before})
                if broken:
                    raise RuntimeError(f"a migration left rows pointing at rows that are gone "
                                       f"({', '.join(broken)}); the database is left as it was")
            committed = True
        finally:
            if sqlite and committed:
                raw.execute("PRAGMA foreign_keys = ON")
            elif sqlite:  # a transaction may still be open, where the pragma does nothing: drop it
                conn.invalidate()


def _dangling(conn) -> set[tuple]:
    """SQLite's rows whose foreign key points at no row: (table, rowid, parent table).

    Not the key's index, which a rebuilt table renumbers.
    """
    return {tuple(row[:3]) for row in conn.exec_driver_sql("PRAGMA foreign_key_check")}


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_S * 1000}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:
        write = conn.get_execution_options().get("analyzer_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
