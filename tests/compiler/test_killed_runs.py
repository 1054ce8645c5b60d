"""A run whose process is killed with SIGKILL mid-run is detected, marked failed and resumed."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import dagster as dg

from cognitionos_dagster.compiler.names import TAG_OWNER_HOST, TAG_OWNER_PID, TAG_WORKFLOW_ID
from cognitionos_dagster.db.connection import Database
from cognitionos_dagster.db.repositories.calls import CallRecordRepository
from cognitionos_dagster.db.repositories.executions import ExecutionRepository
from cognitionos_dagster.defs.execution import open_instance, replay
from cognitionos_dagster.settings import load_settings

FOUR_STEPS = """
    id: four
    version: 1.0.0
    steps:
      - id: s1
        tool: execute_python
        input: {{code: "print(1)"}}
      - id: s2
        tool: execute_python
        input: {{code: "print({{{{ steps.s1.output.stdout | trim }}}} + 1)"}}
      - id: s3
        tool: execute_python
        input:
          code: |
            import os, time
            while not os.path.exists('{gate}'): time.sleep(0.05)
            print({{{{ steps.s2.output.stdout | trim }}}} + 1)
      - id: s4
        tool: execute_python
        input: {{code: "print({{{{ steps.s3.output.stdout | trim }}}} + 1)"}}
    outputs: {{last: "{{{{ steps.s4.output.stdout | trim }}}}"}}
"""


def _wait_for(predicate: Callable[[], object], seconds: float, what: str) -> object:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _tool_steps(db: Database, run_id: str) -> list[str]:
    return [r["step_id"] for r in CallRecordRepository(db).for_run(run_id) if r["kind"] == "tool"]


def test_kill_9_during_step_3_then_replay_from_failure_resumes_without_redoing_1_and_2(
    write_spec: Callable[[str, str], Path], db: Database, tmp_path: Path,
) -> None:
    shared = Path(tempfile.mkdtemp(prefix="cognos-gate-"))  # outside pytest's 0700 tree
    shared.chmod(0o755)  # sandboxed code runs as its own uid
    gate = shared / "go"
    write_spec("four", FOUR_STEPS.format(gate=gate))
    instance = open_instance(load_settings())
    cognos = Path(sys.executable).parent / "cognos"
    log = (tmp_path / "run.log").open("w")
    proc = subprocess.Popen([str(cognos), "run", "four"], stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        run = _wait_for(lambda: next(iter(instance.get_runs(dg.RunsFilter(tags={TAG_WORKFLOW_ID: "four"}))), None), 60,
                        f"the run ({tmp_path / 'run.log'})")
        assert isinstance(run, dg.DagsterRun)
        assert run.tags[TAG_OWNER_PID] == str(proc.pid) and TAG_OWNER_HOST in run.tags
        _wait_for(lambda: any(e.step_key == "s3" for e in instance.all_logs(
            run.run_id, of_type=dg.DagsterEventType.STEP_START)), 60, "step 3 to start")
        time.sleep(0.5)  # well inside the sandboxed code
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    run_id = run.run_id
    assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.STARTED  # nobody else will notice
    assert ExecutionRepository(db).get(run_id)["status"] == "running"
    assert _tool_steps(db, run_id) == ["s1", "s2"]

    gate.touch()
    said: list[str] = []
    try:
        report = replay(load_settings(), instance, run_id, from_failure=True, deterministic=False,
                        notify=said.append)
    finally:
        shutil.rmtree(shared)

    assert said and f"process {proc.pid}" in said[0] and "marked failed" in said[0]
    assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.FAILURE
    parent = ExecutionRepository(db).get(run_id)
    assert parent["status"] == "failure" and "marked failed" in parent["error"]
    assert report.status == "success" and report.outputs == {"last": "4"}
    assert _tool_steps(db, report.run_id) == ["s3", "s4"]  # steps 1 and 2 were not executed again
    assert _tool_steps(db, run_id) == ["s1", "s2"]
