"""Agent memory as software-defined assets: one `memories` partition per namespace.

Materialising a partition applies the namespace's lifecycle policy and reports what the
namespace holds. The seed's background jobs are schedules of that one job (stopped by
default); sensors keep the partitions in sync with `memory_namespaces` and compress a
namespace at once when it passes its quota. Asset checks guard the embeddings, the TTL
and the HNSW index.
"""

import warnings
from collections.abc import Sequence

import dagster as dg

from cognitionos_dagster.errors import MemoryStoreError
from cognitionos_dagster.integrations.memory import MemoryResource
from cognitionos_dagster.memory.index import INDEX_NAME, index_present
from cognitionos_dagster.memory.lifecycle import apply_policies, compressible
from cognitionos_dagster.memory.lifecycle_steps import STEPS
from cognitionos_dagster.memory.namespaces import NamespaceManager
from cognitionos_dagster.memory.stats import access_heatmap, namespace_stats
from cognitionos_dagster.memory.summaries import summarize_compressed

MEMORY_PARTITIONS_NAME = "memory_namespaces"  # the definition's `name` is optional in its type
MEMORY_PARTITIONS = dg.DynamicPartitionsDefinition(name=MEMORY_PARTITIONS_NAME)

# Partitioned asset checks are "preview" in Dagster 1.13; they are the right model here (a check
# result per namespace), so that one warning is silenced, nothing else.
warnings.filterwarnings(
    "ignore", message="Specifying a partitions_def on an AssetCheckSpec", category=dg.PreviewWarning
)

# The seed's jobs/: gc_daily, compress_old, archive_stale. Crons are in the server's time zone.
# Each name starts with the job it runs, so it is never taken for the `memory_gc` workflow's
# own `memory_gc_schedule`.
SCHEDULES = {
    "memory_lifecycle_gc_daily": ("0 3 * * *", ["expire", "gc"]),
    "memory_lifecycle_compress_daily": ("30 3 * * *", ["compress"]),
    "memory_lifecycle_archive_daily": ("0 4 * * *", ["archive"]),
}


class MemoryLifecycleConfig(dg.Config):
    steps: list[str] = list(STEPS)
    dry_run: bool = False
    force_compress: bool = False
    summarize: bool = True
    """After a pass that compressed, summarize what the namespace's policy asks to (`summarize: true`)."""


def _run_config(steps: list[str], *, force_compress: bool = False) -> dict:
    return {"ops": {"memories": {"config": {"steps": steps, "force_compress": force_compress}}}}


@dg.asset(
    partitions_def=MEMORY_PARTITIONS,
    group_name="memory",
    kinds={"postgres"},
    description="Agent memories of one namespace; materialising applies its lifecycle policy.",
)
def memories(
    context: dg.AssetExecutionContext, config: MemoryLifecycleConfig, memory: MemoryResource
) -> dg.MaterializeResult:
    namespace = context.partition_key
    db = memory.db()
    before = namespace_stats(db, namespace)[0]
    report = apply_policies(
        db, namespace=namespace, dry_run=config.dry_run, steps=config.steps, force_compress=config.force_compress
    )
    summaries: dict = {}
    if config.summarize and "compress" in config.steps:
        try:
            done = summarize_compressed(db, memory.summarizer(), namespace=namespace, dry_run=config.dry_run)
            summaries = {"summaries_pending": done.pending, "summaries_written": done.written,
                         "summaries_failed": done.failed}
            if done.errors:
                context.log.warning(f"{done.failed} memory summaries failed; first: {done.errors[0]}")
        except MemoryStoreError as exc:  # optional work: the pass itself succeeded and stays reported
            context.log.warning(f"memory summaries stopped: {exc}")
            summaries = {"summaries_error": str(exc)}
    after = namespace_stats(db, namespace)[0]
    heatmap = access_heatmap(db, namespace)
    metadata: dict = {
        "policy": after.policy or "none",
        "total": after.total,
        "active": after.active,
        "compressed": after.compressed,
        "archived": after.archived,
        "expired": after.expired,
        "bytes_before": before.stored_bytes,
        "bytes_after": after.stored_bytes,
        "compression_ratio": dg.MetadataValue.float(after.compression_ratio or 1.0),
        "oldest": str(after.oldest) if after.oldest else "none",
        "newest": str(after.newest) if after.newest else "none",
        "access_heatmap": dg.MetadataValue.md(heatmap.to_markdown()),
        "lifecycle": dg.MetadataValue.json(report.model_dump(mode="json")),
        "dry_run": config.dry_run,
    }
    metadata.update({f"{s.step}_rows": s.rows for s in report.steps})
    metadata.update(summaries)
    return dg.MaterializeResult(metadata=metadata)


@dg.asset_check(asset=memories, partitions_def=MEMORY_PARTITIONS, description="Every memory has an embedding "
                "of the column's dimension.")
def embeddings_present(context: dg.AssetCheckExecutionContext, memory: MemoryResource) -> dg.AssetCheckResult:
    row = memory.db().fetch_one(
        """
        SELECT count(*) FILTER (WHERE e.memory_id IS NULL) AS missing,
               count(*) FILTER (WHERE vector_dims(e.embedding) <> a.atttypmod) AS wrong_dim,
               max(a.atttypmod) AS dim
        FROM memories m JOIN memory_namespaces n ON n.id = m.namespace_id
        LEFT JOIN memory_embeddings e ON e.memory_id = m.id
        CROSS JOIN (SELECT atttypmod FROM pg_attribute
                    WHERE attrelid = 'memory_embeddings'::regclass AND attname = 'embedding') a
        WHERE n.name = %s
        """,
        (context.partition_key,),
    )
    assert row is not None  # an aggregate without GROUP BY returns one row
    missing, wrong = int(row["missing"]), int(row["wrong_dim"])
    return dg.AssetCheckResult(passed=missing == 0 and wrong == 0,
                               metadata={"missing": missing, "wrong_dimension": wrong})


@dg.asset_check(asset=memories, partitions_def=MEMORY_PARTITIONS, description="After GC no memory is past its "
                "TTL (the policy's ttl_days or its own expires_at).")
def no_rows_past_ttl(context: dg.AssetCheckExecutionContext, memory: MemoryResource) -> dg.AssetCheckResult:
    row = memory.db().fetch_one(
        """
        SELECT count(*) AS n FROM memories m
        JOIN memory_namespaces ns ON ns.id = m.namespace_id
        JOIN memory_lifecycle_policies p ON p.id = ns.policy_id
        WHERE ns.name = %s AND p.ttl_days IS NOT NULL
          AND (m.expires_at <= now() OR m.created_at <= now() - make_interval(days => p.ttl_days))
        """,
        (context.partition_key,),
    )
    assert row is not None  # an aggregate without GROUP BY returns one row
    past = int(row["n"])
    return dg.AssetCheckResult(passed=past == 0, metadata={"past_ttl": past})


@dg.asset_check(asset=memories, partitions_def=MEMORY_PARTITIONS, description="The HNSW index that serves "
                "vector search exists and is valid.")
def hnsw_index_present(context: dg.AssetCheckExecutionContext, memory: MemoryResource) -> dg.AssetCheckResult:
    present = index_present(memory.db())
    return dg.AssetCheckResult(
        passed=present,
        metadata={"index": INDEX_NAME, "hint": "" if present else "rebuild it with `cognos memory reindex`"},
    )


memory_lifecycle_job = dg.define_asset_job(
    "memory_lifecycle",
    selection=dg.AssetSelection.assets(memories),
    partitions_def=MEMORY_PARTITIONS,
    description="Applies one namespace's lifecycle policy (the partition) and checks the result.",
    tags={"cognitionos/kind": "memory"},
)


def _lifecycle_schedule(name: str, cron: str, steps: list[str]) -> dg.ScheduleDefinition:
    @dg.schedule(name=name, cron_schedule=cron, job=memory_lifecycle_job,
                 default_status=dg.DefaultScheduleStatus.STOPPED,
                 description=f"Runs the lifecycle steps {', '.join(steps)} on every memory namespace.")
    def _schedule(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
        stamp = context.scheduled_execution_time.isoformat()
        return [
            dg.RunRequest(run_key=f"{name}:{ns}:{stamp}", partition_key=ns, run_config=_run_config(steps))
            for ns in context.instance.get_dynamic_partitions(MEMORY_PARTITIONS_NAME)
        ]

    return _schedule


memory_schedules = [_lifecycle_schedule(name, cron, steps) for name, (cron, steps) in SCHEDULES.items()]


@dg.sensor(minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Adds a `memories` partition for every new namespace and removes deleted ones.")
def memory_namespace_sensor(context: dg.SensorEvaluationContext, memory: MemoryResource) -> dg.SensorResult:
    names = set(NamespaceManager(memory.db()).names())
    known = set(context.instance.get_dynamic_partitions(MEMORY_PARTITIONS_NAME))
    requests: list[dg.AddDynamicPartitionsRequest | dg.DeleteDynamicPartitionsRequest] = []
    if names - known:
        requests.append(MEMORY_PARTITIONS.build_add_request(sorted(names - known)))
    if known - names:
        requests.append(MEMORY_PARTITIONS.build_delete_request(sorted(known - names)))
    return dg.SensorResult(dynamic_partitions_requests=requests)


@dg.sensor(job=memory_lifecycle_job, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.STOPPED,
           description="Compresses a namespace at once when its stored text passes memory_namespaces.quota_bytes.")
def memory_quota_sensor(context: dg.SensorEvaluationContext, memory: MemoryResource) -> dg.SensorResult:
    known = set(context.instance.get_dynamic_partitions(MEMORY_PARTITIONS_NAME))
    db = memory.db()
    requests = [
        dg.RunRequest(
            run_key=f"quota:{s.namespace}:{s.stored_bytes}",  # one run per over-quota state, not per tick
            partition_key=s.namespace,
            run_config=_run_config(["compress"], force_compress=True),
            tags={"cognitionos/reason": "over-quota"},
        )
        for s in namespace_stats(db)
        if s.over_quota and s.namespace in known and compressible(db, s.namespace) > 0
    ]
    return dg.SensorResult(run_requests=requests)


def memory_definitions(handoffs: Sequence[dg.AssetKey] = ()) -> dg.Definitions:
    """`handoffs`: workflow assets whose values are stored as memories (`memory:`), drawn upstream of `memories`."""
    assets = memories.map_asset_specs(lambda s: s.merge_attributes(deps=list(handoffs))) if handoffs else memories
    return dg.Definitions(
        assets=[assets],
        asset_checks=[embeddings_present, no_rows_past_ttl, hnsw_index_present],
        jobs=[memory_lifecycle_job],
        schedules=memory_schedules,
        sensors=[memory_namespace_sensor, memory_quota_sensor],
        resources={"memory": MemoryResource()},
    )
