"""`platform_health`: is the platform fit to run work? One op per check, each with metadata.

A failing check fails its op with what to do; the others still run and report.
"""


import time

import dagster as dg

from cognitionos_dagster.db import migrate, server
from cognitionos_dagster.db.urls import redact
from cognitionos_dagster.integrations.database import DatabaseResource


@dg.op(description="Connects to CognitionOS's database and measures a round trip.")
def check_database(context: dg.OpExecutionContext, db: DatabaseResource) -> dict:
    target = db.target()
    started = time.perf_counter()
    row = DatabaseResource(database_url=db.database_url, require_migrated=False).database().fetch_one(
        "SELECT version() AS version, current_database() AS name"
    )
    latency_ms = (time.perf_counter() - started) * 1000
    assert row is not None
    context.add_output_metadata(
        {
            "server": str(row["version"]).split(" on ")[0],
            "database": str(row["name"]),
            "url": redact(target.app_url),
            "embedded": target.embedded,
            "round_trip_ms": dg.MetadataValue.float(round(latency_ms, 2)),
        }
    )
    return {"ok": True, "latency_ms": latency_ms}


@dg.op(description="pgvector must be installed in the database at >= 0.5 (HNSW indexes).")
def check_pgvector(context: dg.OpExecutionContext, db: DatabaseResource) -> dict:
    url = db.target().app_url
    version = server.check_pgvector(url)
    installed = (
        DatabaseResource(database_url=db.database_url, require_migrated=False)
        .database()
        .fetch_one("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
    )
    if installed is None:
        raise dg.Failure("pgvector is available but not created in this database",
                         metadata={"hint": "run `cognos db upgrade`"})
    context.add_output_metadata({"available": ".".join(map(str, version)), "installed": installed["extversion"]})
    return {"ok": True, "version": installed["extversion"]}


@dg.op(description="The schema must be at the newest migration the code ships.")
def check_migrations(context: dg.OpExecutionContext, db: DatabaseResource) -> dict:
    url = db.target().app_url
    current, head = migrate.current_revision(url), migrate.head_revision()
    context.add_output_metadata({"current": current or "none", "head": head})
    if current != head:
        raise dg.Failure(
            f"schema at revision {current or 'none'}, code needs {head}",
            metadata={"hint": "run `cognos db upgrade`"},
        )
    return {"ok": True, "revision": current}


@dg.op(description="Runs, event logs and schedules must be stored in PostgreSQL.")
def check_instance_storage(context: dg.OpExecutionContext) -> dict:
    storage = type(context.instance.run_storage).__name__
    event_storage = type(context.instance.event_log_storage).__name__
    records = context.instance.get_run_records(limit=1)
    context.add_output_metadata(
        {"run_storage": storage, "event_log_storage": event_storage, "latest_run_seen": bool(records)}
    )
    if "Postgres" not in storage or "Postgres" not in event_storage:
        raise dg.Failure(
            f"the Dagster instance stores runs in {storage}, not PostgreSQL",
            metadata={"hint": "start through `make run` / `cognos dev`, which writes a PostgreSQL dagster.yaml"},
        )
    return {"ok": True, "run_storage": storage}


@dg.job(
    description="Checks the database, pgvector, the schema revision and Dagster's instance storage.",
    tags={"cognitionos/kind": "platform"},
)
def platform_health() -> None:
    check_database()
    check_pgvector()
    check_migrations()
    check_instance_storage()
