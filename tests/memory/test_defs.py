"""The memories asset, its checks, schedules and sensors on a real Dagster instance (PostgreSQL storage)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest

from cognitionos_dagster.db.connection import Database
from cognitionos_dagster.defs.memory import (
    MEMORY_PARTITIONS,
    embeddings_present,
    hnsw_index_present,
    memories,
    memory_definitions,
    memory_namespace_sensor,
    memory_quota_sensor,
    memory_schedules,
    no_rows_past_ttl,
)
from cognitionos_dagster.integrations.database import DatabaseResource
from cognitionos_dagster.integrations.memory import MemoryResource
from cognitionos_dagster.memory.namespaces import NamespaceManager
from cognitionos_dagster.memory.policies import sync_policies
from cognitionos_dagster.memory.store import MemoryStore

CHECKS = [embeddings_present, no_rows_past_ttl, hnsw_index_present]


@pytest.fixture
def resource(database_url: str) -> MemoryResource:
    return MemoryResource(database=DatabaseResource(database_url=database_url))


@pytest.fixture
def ns(namespaces: NamespaceManager, store: MemoryStore, dagster_instance: dg.DagsterInstance,
       backdate) -> str:
    name = f"ns-{uuid.uuid4().hex[:8]}"  # the instance is shared by the session: unique partition keys
    namespaces.create(name, "alice", policy="standard")
    store.add_many(name, "alice", [f"memory {i} about the deploy pipeline" for i in range(6)])
    ids = [r["id"] for r in store.db.fetch_all("SELECT id::text AS id FROM memories ORDER BY content")]
    backdate(ids[:2], 400)  # past the TTL
    backdate(ids[2:4], 40)  # old enough to compress
    dagster_instance.add_dynamic_partitions(MEMORY_PARTITIONS.name, [name])
    return name


def _materialize(instance: dg.DagsterInstance, resource: MemoryResource, ns: str,
                 config: dict | None = None) -> dg.ExecuteInJobResult:
    return dg.materialize(
        [memories, *CHECKS], partition_key=ns, instance=instance, resources={"memory": resource},
        run_config={"ops": {"memories": {"config": config or {}}}}, raise_on_error=False,
    )


def _checks(result: dg.ExecuteInJobResult) -> dict[str, bool]:
    return {e.check_name: e.passed for e in result.get_asset_check_evaluations()}


def test_materialising_a_partition_applies_its_policy(dagster_instance: dg.DagsterInstance,
                                                      resource: MemoryResource, ns: str, db: Database) -> None:
    result = _materialize(dagster_instance, resource, ns)
    assert result.success
    meta = result.asset_materializations_for_node("memories")[0].metadata
    assert meta["total"].value == 4 and meta["compressed"].value == 2 and meta["expire_rows"].value == 2
    assert meta["gc_rows"].value == 2
    assert meta["bytes_after"].value < meta["bytes_before"].value
    assert meta["compression_ratio"].value > 0
    assert "| age \\ reads |" in meta["access_heatmap"].value and "| 30-90 days | 2 |" in meta["access_heatmap"].value
    assert _checks(result) == {"embeddings_present": True, "no_rows_past_ttl": True, "hnsw_index_present": True}
    row = dagster_instance.get_latest_materialization_event(dg.AssetKey("memories"))
    assert row is not None and row.dagster_event.partition == ns


def test_a_summarizing_policy_gets_summaries_with_the_pass(dagster_instance: dg.DagsterInstance,
                                                            resource: MemoryResource, ns: str, db: Database,
                                                            tmp_path: Path) -> None:
    (tmp_path / "digest-asset.yaml").write_text("ttl_days: 365\ncompression_after_days: 30\nsummarize: true\n")
    sync_policies(db, tmp_path)
    NamespaceManager(db).set_policy(ns, "digest-asset")
    dry = _materialize(dagster_instance, resource, ns, {"dry_run": True})
    meta = dry.asset_materializations_for_node("memories")[0].metadata
    assert meta["summaries_written"].value == 0 and meta["summaries_pending"].value == 0  # nothing compressed yet

    result = _materialize(dagster_instance, resource, ns)
    meta = result.asset_materializations_for_node("memories")[0].metadata
    assert meta["compress_rows"].value == 2 and meta["summaries_written"].value == 2
    summaries = [r["summary"] for r in db.fetch_all("SELECT summary FROM memories WHERE compressed")]
    assert len(summaries) == 2 and all(s.startswith("[offline]") for s in summaries)


def test_checks_fail_on_bad_data(dagster_instance: dg.DagsterInstance, resource: MemoryResource, ns: str,
                                 db: Database) -> None:
    db.execute("DELETE FROM memory_embeddings WHERE memory_id = (SELECT id FROM memories LIMIT 1)")
    db.execute("DROP INDEX idx_memory_embeddings_hnsw")
    result = _materialize(dagster_instance, resource, ns, {"steps": []})  # no lifecycle: the TTL is still passed
    assert _checks(result) == {"embeddings_present": False, "no_rows_past_ttl": False, "hnsw_index_present": False}


def test_namespace_sensor_adds_new_namespaces(dagster_instance: dg.DagsterInstance, resource: MemoryResource,
                                              namespaces: NamespaceManager) -> None:
    name = f"new-{uuid.uuid4().hex[:8]}"
    namespaces.create(name, "bob")
    with dg.build_sensor_context(instance=dagster_instance, resources={"memory": resource}) as context:
        result = memory_namespace_sensor(context)
    added = [k for r in result.dynamic_partitions_requests if isinstance(r, dg.AddDynamicPartitionsRequest)
             for k in r.partition_keys]
    assert name in added
    dagster_instance.add_dynamic_partitions(MEMORY_PARTITIONS.name, [name])
    with dg.build_sensor_context(instance=dagster_instance, resources={"memory": resource}) as context:
        again = memory_namespace_sensor(context)
    assert name not in [k for r in again.dynamic_partitions_requests
                        if isinstance(r, dg.AddDynamicPartitionsRequest) for k in r.partition_keys]


def test_quota_sensor_requests_compression_and_stops_when_done(
    dagster_instance: dg.DagsterInstance, resource: MemoryResource, ns: str, db: Database
) -> None:
    db.execute("UPDATE memory_namespaces SET quota_bytes = 10 WHERE name = %s", (ns,))
    with dg.build_sensor_context(instance=dagster_instance, resources={"memory": resource}) as context:
        result = memory_quota_sensor(context)
    requests = [r for r in result.run_requests if r.partition_key == ns]
    assert len(requests) == 1
    config = requests[0].run_config["ops"]["memories"]["config"]
    assert config == {"steps": ["compress"], "force_compress": True}
    run = _materialize(dagster_instance, resource, ns, config)
    assert run.success
    # Everything compressed at once, whatever its age, except what is past its TTL (GC's to remove).
    states = db.fetch_all("SELECT compressed, created_at < now() - interval '365 days' AS doomed FROM memories")
    assert sorted((r["doomed"], r["compressed"]) for r in states) == [(False, True)] * 4 + [(True, False)] * 2
    with dg.build_sensor_context(instance=dagster_instance, resources={"memory": resource}) as context:
        after = memory_quota_sensor(context)
    assert [r for r in after.run_requests if r.partition_key == ns] == []


def test_schedules_are_stopped_by_default_with_documented_crons(dagster_instance: dg.DagsterInstance,
                                                                ns: str) -> None:
    assert {s.name: (s.cron_schedule, s.default_status) for s in memory_schedules} == {
        "memory_lifecycle_gc_daily": ("0 3 * * *", dg.DefaultScheduleStatus.STOPPED),
        "memory_lifecycle_compress_daily": ("30 3 * * *", dg.DefaultScheduleStatus.STOPPED),
        "memory_lifecycle_archive_daily": ("0 4 * * *", dg.DefaultScheduleStatus.STOPPED),
    }
    gc = next(s for s in memory_schedules if s.name == "memory_lifecycle_gc_daily")
    tick = datetime(2026, 1, 1, 3, 0, tzinfo=UTC)
    with dg.build_schedule_context(instance=dagster_instance, scheduled_execution_time=tick) as context:
        requests = list(gc(context))
    mine = [r for r in requests if r.partition_key == ns]
    assert len(mine) == 1 and mine[0].run_config["ops"]["memories"]["config"]["steps"] == ["expire", "gc"]


def test_definitions_snapshot() -> None:
    defs = memory_definitions()
    assert [a.key.to_user_string() for a in defs.assets] == ["memories"]
    assert sorted(k.name for c in defs.asset_checks for k in c.check_keys) == [
        "embeddings_present", "hnsw_index_present", "no_rows_past_ttl"]
    assert defs.resolve_job_def("memory_lifecycle").partitions_def == MEMORY_PARTITIONS
    assert sorted(s.name for s in defs.sensors) == ["memory_namespace_sensor", "memory_quota_sensor"]
