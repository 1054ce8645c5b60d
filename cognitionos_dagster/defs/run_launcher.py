"""Dagster's default run launcher, taught to tell when a run worker on this host has died.

The default launcher starts run workers as subprocesses of the code server and cannot check
their health, so run monitoring leaves a run whose worker was killed STARTED for good. Each
run worker tags its run with its pid and host (`WorkflowServicesResource`); with that,
monitoring (`run_monitoring` in dagster.yaml, every `poll_interval_seconds`) sees the worker
gone and marks the run failed. A worker of another host, or an untagged run, counts as
running: nothing here can tell, and failing a live run would be worse than waiting.
"""

from __future__ import annotations

import dagster as dg

from cognitionos_dagster.compiler.run_owner import gone_owner
from cognitionos_dagster.defs.dagster_private import CheckRunHealthResult, WorkerStatus


class MonitoredRunLauncher(dg.DefaultRunLauncher):
    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: dg.DagsterRun) -> CheckRunHealthResult:
        reason = gone_owner(run)
        if reason is None:
            return CheckRunHealthResult(WorkerStatus.RUNNING)
        return CheckRunHealthResult(WorkerStatus.FAILED, f"the run worker ({reason})")
