"""Real runs of compiled workflows on the PostgreSQL-backed Dagster instance, one per feature."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import pytest

from cognitionos_dagster.db.connection import Database
from cognitionos_dagster.db.repositories.escalations import EscalationRepository
from cognitionos_dagster.db.repositories.executions import ExecutionRepository

Writer = Callable[[str, str], Path]


def _steps(db: Database, run_id: str) -> dict[str, dict]:
    return {r["step_id"]: r for r in ExecutionRepository(db).steps(run_id)}


def _result(res: dg.ExecuteInProcessResult, node: str) -> dict:
    return res.output_for_node(node)


def test_foreach_keeps_input_order_and_bounds_concurrency(write_spec: Writer, run_job, db: Database) -> None:
    write_spec("fan", """
        id: fan
        version: 1.0.0
        inputs:
          items: {type: array, items: integer, default: [5, 3, 1, 4, 2, 0]}
        steps:
          - id: work
            tool: execute_python
            foreach: "{{ inputs.items }}"
            concurrency: 3
            input:
              code: "import time; time.sleep({{ item }} * 0.05 + 0.25); print({{ item }} * 10, {{ index }})"
        outputs:
          lines: "{{ steps.work.output | map(attribute='stdout') | map('trim') | list }}"
    """)
    started = time.perf_counter()
    res = run_job("fan")
    elapsed = time.perf_counter() - started
    assert res.success
    assert _result(res, "_outputs")["output"]["lines"] == ["50 0", "30 1", "10 2", "40 3", "20 4", "0 5"]
    steps = _steps(db, res.run_id)
    assert {f"work[{i}]" for i in range(6)} <= set(steps)
    assert steps["work"]["status"] == "succeeded"
    # six items of >= 0.25 s, three at a time: two waves, not six sequential sleeps
    assert elapsed < 6 * 0.25 + 1.5
    spans = sorted((steps[f"work[{i}]"]["started_at"], steps[f"work[{i}]"]["completed_at"]) for i in range(6))
    overlapping = max(sum(1 for s, e in spans if s <= t < e) for t, _ in spans)
    assert 2 <= overlapping <= 3


def test_when_false_skips_and_dependents_still_run(write_spec: Writer, run_job, db: Database) -> None:
    write_spec("cond", """
        id: cond
        version: 1.0.0
        inputs:
          environment: {type: string, enum: [staging, prod], default: staging}
        steps:
          - id: review
            tool: execute_python
            when: "{{ inputs.environment == 'prod' }}"
            input: {code: "print('reviewed')"}
          - id: after
            tool: execute_python
            input: {code: "print('{{ steps.review.status }}', {{ steps.review.output is none }})"}
        outputs:
          seen: "{{ steps.after.output.stdout | trim }}"
    """)
    res = run_job("cond")
    assert res.success
    assert _result(res, "_outputs")["output"] == {"seen": "skipped True"}
    assert _steps(db, res.run_id)["review"]["status"] == "skipped"
    res_prod = run_job("cond", {"environment": "prod"})
    assert res_prod.success
    assert _result(res_prod, "_outputs")["output"] == {"seen": "succeeded False"}


def test_skip_strategy_lets_the_run_succeed(write_spec: Writer, run_job, db: Database) -> None:
    write_spec("skippy", """
        id: skippy
        version: 1.0.0
        steps:
          - id: flaky
            tool: execute_python
            input: {code: "raise SystemExit(3)"}
            on_failure: skip
          - id: next
            tool: execute_python
            input: {code: "print('{{ steps.flaky.status }}')"}
        outputs: {seen: "{{ steps.next.output.stdout | trim }}"}
    """)
    res = run_job("skippy")
    assert res.success
    assert _result(res, "_outputs")["output"] == {"seen": "skipped"}
    row = _steps(db, res.run_id)["flaky"]
    assert row["status"] == "skipped" and "exit code 3" in row["error"]
    assert ExecutionRepository(db).get(res.run_id)["status"] == "success"


def test_fail_strategy_fails_at_once_without_retries(write_spec: Writer, run_job, db: Database) -> None:
    write_spec("failing", """
        id: failing
        version: 1.0.0
        defaults:
          retry: {max_attempts: 3, delay_seconds: 0}
        steps:
          - id: boom
            tool: execute_python
            input: {code: "raise SystemExit(2)"}
            on_failure: fail
          - id: never
            tool: execute_python
            depends_on: [boom]
            input: {code: "print(1)"}
    """)
    res = run_job("failing")
    assert not res.success
    steps = _steps(db, res.run_id)
    assert steps["boom"]["status"] == "failed" and steps["boom"]["attempts"] == 1
    assert "never" not in steps
    execution = ExecutionRepository(db).get(res.run_id)
    assert execution["status"] == "failure" and "boom" in execution["error"]


@pytest.mark.parametrize("failures, succeeds, attempts", [(2, True, 3), (10, False, 2)])
def test_retry_counts_attempts(write_spec: Writer, run_job, db: Database, flaky_server,
                               failures: int, succeeds: bool, attempts: int) -> None:
    """A server failing `failures` times: four attempts get through two failures; two attempts do not."""
    url = flaky_server(failures=failures)
    write_spec("retrying", f"""
        id: retrying
        version: 1.0.0
        steps:
          - id: call
            tool: http_request
            input: {{url: "{url}", method: GET}}
            retry: {{max_attempts: {4 if succeeds else 2}, backoff: constant, delay_seconds: 0}}
            on_failure: retry
        outputs: {{status: "{{{{ steps.call.output.status_code }}}}"}}
    """)
    res = run_job("retrying")
    assert res.success is succeeds
    row = _steps(db, res.run_id)["call"]
    assert row["attempts"] == attempts
    retries = [e for e in res.all_events if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY]
    assert len(retries) == attempts - 1
    if succeeds:
        assert _result(res, "_outputs")["output"] == {"status": 200} and row["status"] == "succeeded"
    else:
        assert row["status"] == "failed" and "HTTP 500" in row["error"]


def test_escalate_records_an_escalation_and_fails(write_spec: Writer, run_job, db: Database,
                                                  dagster_instance: dg.DagsterInstance) -> None:
    write_spec("esc", """
        id: esc
        version: 2.0.0
        steps:
          - id: review
            tool: execute_python
            input: {code: "import sys; print('bad output', file=sys.stderr); sys.exit(1)"}
            on_failure: escalate
    """)
    res = run_job("esc")
    assert not res.success
    escalations = EscalationRepository(db).for_run(res.run_id)
    assert len(escalations) == 1
    assert escalations[0]["step_id"] == "review" and "bad output" in escalations[0]["error"]
    assert escalations[0]["workflow_version"] == "2.0.0"
    assert _steps(db, res.run_id)["review"]["status"] == "escalated"
    run = dagster_instance.get_run_by_id(res.run_id)
    assert run is not None and run.tags["cognitionos/escalations"] == "review"


def test_typed_inputs_are_enforced(write_spec: Writer, compile_defs, dagster_instance) -> None:
    write_spec("typed", """
        id: typed
        version: 1.0.0
        inputs:
          repo_url: {type: string, required: true}
          environment: {type: string, enum: [staging, prod], default: staging}
          n: {type: integer, default: 2}
        steps:
          - id: echo
            tool: execute_python
            input: {code: "print('{{ inputs.repo_url }}', '{{ inputs.environment }}', {{ inputs.n }})"}
        outputs: {line: "{{ steps.echo.output.stdout | trim }}"}
    """)
    job = compile_defs().resolve_job_def("typed")
    fields = job.run_config_schema.config_type.fields
    assert set(fields) == {"repo_url", "environment", "n"}
    assert fields["repo_url"].is_required and not fields["environment"].is_required
    ok = job.execute_in_process(run_config={"repo_url": "git@x:y.git"}, instance=dagster_instance)
    assert ok.output_for_node("_outputs")["output"] == {"line": "git@x:y.git staging 2"}
    for bad in ({}, {"repo_url": "r", "environment": "qa"}, {"repo_url": "r", "n": "two"}):
        try:
            job.execute_in_process(run_config=bad, instance=dagster_instance)
        except dg.DagsterInvalidConfigError as exc:
            assert "repo_url" in str(exc) or "environment" in str(exc) or "n" in str(exc)
        else:
            raise AssertionError(f"run config {bad} was accepted")


def test_sub_workflow_versions_side_by_side(write_spec: Writer, run_job, db: Database) -> None:
    for version, word in (("1.0.0", "old"), ("1.1.0", "new")):
        write_spec(f"child_{version}", f"""
            id: child
            version: {version}
            inputs:
              who: {{type: string, default: nobody}}
            steps:
              - id: hello
                tool: execute_python
                input: {{code: "print('{word} ' + '{{{{ inputs.who }}}}')"}}
            outputs: {{greeting: "{{{{ steps.hello.output.stdout | trim }}}}"}}
        """)
    write_spec("parent", """
        id: parent
        version: 1.0.0
        steps:
          - id: pinned
            workflow: child@1.0.0
            input: {who: alice}
          - id: newest
            workflow: child
            input: {who: "{{ steps.pinned.output.greeting }}"}
        outputs:
          pinned: "{{ steps.pinned.output.greeting }}"
          newest: "{{ steps.newest.output.greeting }}"
    """)
    res = run_job("parent")
    assert res.success
    assert _result(res, "_outputs")["output"] == {"pinned": "old alice", "newest": "new old alice"}
    steps = _steps(db, res.run_id)
    assert steps["pinned.hello"]["status"] == "succeeded"
    assert steps["newest"]["status"] == "succeeded"
    assert steps["newest"]["output"] == {"greeting": "new old alice"}
