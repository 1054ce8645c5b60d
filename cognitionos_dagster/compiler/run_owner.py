"""Runs executed by `cognos run` in their own process, and what to do when that process is gone.

No daemon watches such a run: if its process is killed (SIGKILL, OOM, a closed laptop lid
that never came back), Dagster keeps it STARTED and `workflow_executions` keeps it
`running` for good, and a replay from failure refuses it. The run therefore carries its
owner's pid and hostname as tags; a replay on the same host checks that pid and, when the
process is gone, marks the run failed through Dagster's API before resuming it.
"""

from __future__ import annotations

import os
import socket

import dagster as dg

from cognitionos_dagster.compiler.names import TAG_OWNER_HOST, TAG_OWNER_PID
from cognitionos_dagster.db.repositories.executions import ExecutionRepository

_IN_FLIGHT = (dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED)


def owner_tags() -> dict[str, str]:
    return {TAG_OWNER_PID: str(os.getpid()), TAG_OWNER_HOST: socket.gethostname()}


def process_alive(pid: int) -> bool:
    """A zombie (killed, not yet reaped by its parent) counts as gone: it runs nothing."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def gone_owner(run: dg.DagsterRun) -> str | None:
    """Why the in-flight `run` has no process left ("process 123 on host is gone"), else None.

    None too when it cannot be known here: no owner tags (a daemon-launched run, which run
    monitoring covers) or another host (its pids mean nothing on this one).
    """
    pid, host = run.tags.get(TAG_OWNER_PID), run.tags.get(TAG_OWNER_HOST)
    if run.status not in _IN_FLIGHT or not pid or not pid.isdigit() or host != socket.gethostname():
        return None
    if int(pid) == os.getpid() or process_alive(int(pid)):
        return None
    return f"process {pid} on {host} that ran it is gone"


def fail_orphaned(instance: dg.DagsterInstance, run: dg.DagsterRun,
                  executions: ExecutionRepository | None) -> str | None:
    """Mark a run whose owner process is gone as failed (Dagster and `workflow_executions`);
    the line saying so, or None when the run was left alone."""
    reason = gone_owner(run)
    if reason is None:
        return None
    message = f"run {run.run_id} was {run.status.value} but the {reason}; marked failed"
    instance.report_run_failed(run, message=message)
    if executions is not None:
        executions.finish(run.run_id, status="failure", error=message)
    return message
