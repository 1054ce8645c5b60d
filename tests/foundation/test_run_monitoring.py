"""Run monitoring fails a daemon-launched run whose run worker was killed (SIGKILL), and the
workflow execution follows; measured, since it waits for the daemon's polls."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from cognitionos_dagster.compiler.names import TAG_OWNER_PID
from cognitionos_dagster.db import server
from cognitionos_dagster.db.connection import Database
from cognitionos_dagster.db.repositories.executions import ExecutionRepository
from cognitionos_dagster.settings import load_settings
from foundation.test_dev_end_to_end import LAUNCH, RUN, Dev, free_port

TAGS = """query($id: ID!) { runOrError(runId: $id) { ... on Run { status tags { key value } } } }"""
SLOW = """
id: slow_worker
version: 1.0.0
steps:
  - id: first
    tool: execute_python
    input: {code: "print(1)"}
  - id: wait
    tool: execute_python
    input: {code: "import time; time.sleep(25); print({{ steps.first.output.stdout | trim }})"}
"""


@pytest.mark.slow
def test_a_killed_run_worker_is_marked_failed_by_run_monitoring(
    fresh_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "slow_worker.yaml").write_text(SLOW)
    monkeypatch.setenv("COGNITIONOS_WORKFLOW_SPECS", str(specs))
    dev = Dev(fresh_home, free_port(), tmp_path / "dev.log")
    try:
        dev.wait_until_loaded()
        selector = {"repositoryLocationName": "cognitionos_dagster", "repositoryName": "__repository__",
                    "jobName": "slow_worker__v1_0_0"}
        launched = dev.gql(LAUNCH, {"p": {"selector": selector, "runConfigData": {}}})["launchRun"]
        assert launched["__typename"] == "LaunchRunSuccess", launched
        run_id = launched["run"]["runId"]
        tags: dict[str, str] = {}

        def owned() -> bool:
            run = dev.gql(TAGS, {"id": run_id})["runOrError"]
            assert run["status"] not in ("FAILURE", "SUCCESS", "CANCELED"), f"run {run['status']}:\n{dev.tail()}"
            tags.update({t["key"]: t["value"] for t in run["tags"]})
            return run["status"] == "STARTED" and TAG_OWNER_PID in tags

        dev.wait_for("the run worker to start", owned, 120)
        worker = int(tags[TAG_OWNER_PID])
        assert worker != dev.proc.pid and worker in {p.pid for p in dev.processes()}  # a code server's child
        time.sleep(3)  # into the second step
        os.kill(worker, signal.SIGKILL)
        killed = time.monotonic()
        dev.wait_for("run monitoring to fail the run",
                     lambda: dev.gql(RUN, {"id": run_id})["runOrError"]["status"] == "FAILURE", 90)
        detected = time.monotonic() - killed
        executions = ExecutionRepository(Database(server.resolve(load_settings(home=fresh_home)).app_url))
        dev.wait_for("the execution_closer sensor",
                     lambda: (executions.get(run_id) or {}).get("status") == "failure", 90)
        closed = time.monotonic() - killed
        print(f"killed run worker: run failed after {detected:.1f} s, execution closed after {closed:.1f} s")
        assert detected <= 70  # one poll interval (30 s) plus a slow daemon iteration
    finally:
        os.killpg(dev.proc.pid, signal.SIGTERM)
        try:
            dev.proc.wait(40)
        except Exception:
            os.killpg(dev.proc.pid, signal.SIGKILL)
