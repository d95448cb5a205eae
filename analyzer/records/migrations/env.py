"""Alembic environment: run by :func:`analyzer.records.db.migrate` with an open connection.

By hand (a developer adding a migration), with the settings' database:
``alembic -c analyzer/records/alembic.ini revision --autogenerate -m "what changed"``.
"""

from alembic import context
from sqlalchemy import engine_from_config, pool

from analyzer.records.models import Base
from analyzer.records.settings import Settings

config = context.config
target_metadata = Base.metadata


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:  # the alembic command line
    url = config.get_main_option("sqlalchemy.url") or Settings.from_env().database_url
    engine = engine_from_config({"sqlalchemy.url": url}, prefix="sqlalchemy.", poolclass=pool.NullPool)
    with engine.connect() as conn:
        _run(conn)
