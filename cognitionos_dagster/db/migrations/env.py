"""Alembic environment: runs migrations online under a PostgreSQL advisory lock.

The lock makes concurrent `upgrade`s (two `cognos` processes, xdist workers, a code
server starting beside the CLI) queue up instead of racing: the second one finds the
schema at head and does nothing.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool, text

MIGRATION_LOCK_KEY = 0x436F676E4F53  # "CognOS"

config = context.config


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url is set by cognitionos_dagster.db.migrate"
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
        connection.commit()
        try:
            context.configure(
                connection=connection,
                transaction_per_migration=True,
                version_table="alembic_version",
            )
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK_KEY})
            connection.commit()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; run `cognos db upgrade`")
run_migrations_online()
