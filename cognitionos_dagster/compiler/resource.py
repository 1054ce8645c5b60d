"""The one resource compiled workflow ops use: agents, tools, memory and the execution records.

Built once per run process from the settings (model endpoint, database, resources folder);
the pieces are plain domain objects, so the ops stay thin.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

import dagster as dg
from pydantic import PrivateAttr

from cognitionos_dagster.compiler.names import (
    TAG_OWNER_PID,
    TAG_REPLAY_OF,
    TAG_SPEC_SHA256,
    TAG_WORKFLOW_ID,
    TAG_WORKFLOW_VERSION,
)
from cognitionos_dagster.compiler.run_owner import owner_tags
from cognitionos_dagster.compiler.services import StepServices
from cognitionos_dagster.compiler.step_records import BufferedExecutions
from cognitionos_dagster.db.repositories.calls import CallRecordRepository
from cognitionos_dagster.db.repositories.escalations import EscalationRepository
from cognitionos_dagster.db.repositories.executions import ExecutionRepository, StepRecord
from cognitionos_dagster.dsl.models import WorkflowSpec
from cognitionos_dagster.integrations.database import DatabaseResource
from cognitionos_dagster.settings import Settings, load_settings
from cognitionos_dagster.tracing.spans import ensure_tracing, trace_tags

if TYPE_CHECKING:  # imported where used: a code location that runs no workflow step never loads them
    from cognitionos_dagster.db.connection import Database
    from cognitionos_dagster.db.repositories.workflow_assets import WorkflowAssetRepository
    from cognitionos_dagster.dsl.models import WorkflowSpec
    from cognitionos_dagster.memory.store import MemoryStore

SERVICES = "cognitionos"  # the key compiled ops require the resource under


class WorkflowServicesResource(dg.ConfigurableResource):
    """Agents, tools, memory and records for workflow steps.

    `record_executions: false` runs workflows without writing `workflow_executions` rows
    (model and tool calls are still recorded, so replay keeps working).
    """

    db: DatabaseResource
    record_executions: bool = True

    _services: StepServices | None = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def step_services(self) -> StepServices:
        with self._lock:
            if self._services is None:
                self._services = self._build()
            return self._services

    def _build(self) -> StepServices:
        from cognitionos_dagster.agents.runtime import AgentRuntime
        from cognitionos_dagster.tools.registry import default_registry

        settings = load_settings()
        ensure_tracing(settings)  # OTLP export when OTEL_EXPORTER_OTLP_ENDPOINT is set; else a no-op
        database = self.db.database()
        memory = _memory_store(database, settings)
        tools = default_registry()
        return StepServices(
            settings=settings,
            agents=AgentRuntime(settings, db=database, memory=memory, tools=tools),
            tools=tools,
            memory=memory,
            executions=BufferedExecutions(ExecutionRepository(database)) if self.record_executions else None,
            escalations=EscalationRepository(database),
            recorder=CallRecordRepository(database),
        )

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """Open the execution row as the run starts. A re-execution from failure skips the `_inputs`
        op, yet its steps still need their run's row (they reference it)."""
        run = context.dagster_run
        if run is not None and TAG_WORKFLOW_ID in run.tags:
            self._open(run, dict(run.run_config or {}), workflow_id=run.tags[TAG_WORKFLOW_ID],
                       workflow_version=run.tags[TAG_WORKFLOW_VERSION],
                       spec_sha256=run.tags.get(TAG_SPEC_SHA256))
            if context.instance is not None and run.tags.get(TAG_OWNER_PID) != str(os.getpid()):
                # whoever launched it, this process runs it: what run monitoring and replay check
                context.instance.add_run_tags(run.run_id, owner_tags())

    def asset_store(self) -> WorkflowAssetRepository:
        from cognitionos_dagster.db.repositories.workflow_assets import WorkflowAssetRepository

        return WorkflowAssetRepository(self.db.database())

    def store_asset_memory(self, namespace: str, key: str, text: str, *, run_id: str) -> None:
        """The `memory:` hand-off of a workflow asset: its value as one memory of `namespace`."""
        from cognitionos_dagster.memory.namespaces import NamespaceManager

        memory = self.step_services().memory
        if memory is not None:
            namespaces = NamespaceManager(self.db.database())
            if namespace not in namespaces.names():  # a hand-off may open its namespace, owned by `system`
                namespaces.create(namespace, "system", description=f"hand-off of workflow asset {key}")
            memory.store(namespace, "system", f"{key}: {text}"[:4000],
                         metadata={"asset": key, "run_id": run_id, "source": "workflow_asset"})

    # ------------------------------------------------------------------ execution rows
    def start_execution(self, context: dg.OpExecutionContext, spec: WorkflowSpec, inputs: dict[str, Any]) -> None:
        """The `_inputs` op records the validated inputs (defaults applied) over the launch config, and
        tags the run with its trace id (and a link when COGNITIONOS_TRACE_URL is set: the UI renders a
        tag holding a URL as a link on the run page).

        `spec` names the workflow when the run's tags do not: a run launched as `dagster asset
        materialize` carries no workflow tags."""
        tags = context.run.tags
        self._open(context.run, inputs, workflow_id=tags.get(TAG_WORKFLOW_ID) or spec.id,
                   workflow_version=tags.get(TAG_WORKFLOW_VERSION) or spec.version,
                   spec_sha256=tags.get(TAG_SPEC_SHA256) or spec.sha256)
        trace = trace_tags(context.run_id, load_settings().trace_url)
        if trace:
            context.instance.add_run_tags(context.run_id, trace)

    def _open(self, run: dg.DagsterRun, inputs: dict[str, Any], *, workflow_id: str, workflow_version: str,
              spec_sha256: str | None) -> None:
        executions = self.step_services().executions
        if executions is None:
            return
        executions.start(
            run.run_id, workflow_id=workflow_id, workflow_version=workflow_version,
            spec_sha256=spec_sha256, inputs=inputs, parent_run_id=run.parent_run_id,
            root_run_id=run.root_run_id, deterministic_replay=TAG_REPLAY_OF in run.tags,
        )

    def finish_execution(self, context: dg.OpExecutionContext, status: str, outputs: Any) -> None:
        executions = self.step_services().executions
        if executions is not None:
            executions.finish(context.run_id, status=status, outputs=outputs)

    def fail_execution(self, run_id: str, error: str) -> None:
        executions = self.step_services().executions
        if executions is not None:
            executions.finish(run_id, status="failure", error=error)

    def record_step(self, rec: StepRecord) -> None:
        executions = self.step_services().executions
        if executions is not None:
            executions.record_step(rec)


def services_of(context: dg.OpExecutionContext) -> WorkflowServicesResource:
    """The ops' resource, typed: Dagster hands resources out by key, untyped."""
    resource = getattr(context.resources, SERVICES)
    if not isinstance(resource, WorkflowServicesResource):
        raise TypeError(f"resource {SERVICES!r} is a {type(resource).__name__}, not a WorkflowServicesResource")
    return resource


def _memory_store(database: Database, settings: Settings) -> MemoryStore:
    """The pgvector store agents (memory context) and the memory tools use."""
    from cognitionos_dagster.llm.local_embedding import LocalEmbedder
    from cognitionos_dagster.memory.store import MemoryStore

    return MemoryStore(database, LocalEmbedder(settings.embedding_dim))
