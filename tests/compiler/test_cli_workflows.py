"""The workflow commands through typer's runner, on the real database and Dagster instance."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cognitionos_dagster.cli.main import app
from cognitionos_dagster.db.connection import Database

Writer = Callable[[str, str], Path]
runner = CliRunner()


def cognos(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


ECHO = """
    id: echo
    version: 1.0.0
    inputs:
      n: {type: integer, required: true}
      items: {type: array, items: integer, default: []}
    steps:
      - id: twice
        tool: execute_python
        input: {code: "print({{ inputs.n }} * 2, sum({{ inputs.items }}))"}
    outputs: {line: "{{ steps.twice.output.stdout | trim }}"}
"""


def test_run_json_success_and_typed_inputs(write_spec: Writer) -> None:
    write_spec("echo", ECHO)
    code, out, _ = cognos("run", "echo", "--input", "n=21", "--input", "items=[1,2]", "--json")
    assert code == 0, out
    report = json.loads(out)
    assert report["status"] == "success" and report["workflow_id"] == "echo" and report["version"] == "1.0.0"
    assert report["outputs"] == {"line": "42 3"}
    assert report["steps"]["twice"]["status"] == "succeeded"
    assert report["steps"]["twice"]["attempts"] == 1

    code, _, err = cognos("run", "echo", "--input", "n=two")
    assert code == 1 and "n" in err and "integer" in err
    code, _, err = cognos("run", "nope")
    assert code == 1 and "no workflow `nope`" in err and "echo@1.0.0" in err


def test_run_failure_reports_json_and_exit_1(write_spec: Writer) -> None:
    write_spec("bad", """
        id: bad
        version: 1.0.0
        steps:
          - id: boom
            tool: execute_python
            input: {code: "raise SystemExit(4)"}
    """)
    code, out, _ = cognos("run", "bad", "--json")
    assert code == 1
    report = json.loads(out)
    assert report["status"] == "failure"
    assert report["steps"]["boom"]["status"] == "failed" and "exit code 4" in report["steps"]["boom"]["error"]


def test_lint_reports_positions_and_exits_1(write_spec: Writer, db: Database) -> None:
    write_spec("good", ECHO)
    write_spec("broken", """
        id: broken
        version: 1.0.0
        steps:
          - id: a
            tool: execute_python
            depends_on: [ghost]
            input: {code: "print(1)"}
    """)
    code, out, err = cognos("lint")
    assert code == 1
    assert "broken.yaml:6:" in err and "ghost" in err
    assert "1 spec(s) valid" in out
    rows = db.fetch_all("SELECT id, version FROM workflows")
    assert {(r["id"], r["version"]) for r in rows} == {("echo", "1.0.0")}


def test_lint_syntax_only_accepts_unknown_names_and_registers_nothing(write_spec: Writer, db: Database) -> None:
    write_spec("later", """
        id: later
        version: 1.0.0
        steps:
          - id: a
            agent: not_written_yet
            input: {content: x}
          - id: b
            tool: execute_python
            depends_on: [ghost]
            input: {code: "print(1)"}
    """)
    code, _, err = cognos("lint")
    assert code == 1 and "not_written_yet" in err
    code, _, err = cognos("lint", "--syntax-only")
    assert code == 1 and "not_written_yet" not in err and "ghost" in err  # structure is still checked
    write_spec("later", """
        id: later
        version: 1.0.0
        steps:
          - id: a
            agent: not_written_yet
            input: {content: x}
    """)
    code, out, _ = cognos("lint", "--syntax-only")
    assert code == 0 and "1 spec(s) valid" in out
    assert db.fetch_all("SELECT id FROM workflows") == []


def test_lint_refuses_changed_content_under_a_registered_version(write_spec: Writer) -> None:
    path = write_spec("echo", ECHO)
    assert cognos("lint")[0] == 0
    path.write_text(path.read_text().replace("* 2", "* 3"))
    code, _, err = cognos("lint")
    assert code == 1 and "already registered" in err and "bump" in err


@pytest.mark.parametrize("fmt, marker", [("mermaid", "flowchart TD"), ("dot", "digraph"), ("json", '"nodes"')])
def test_graph_formats(write_spec: Writer, fmt: str, marker: str) -> None:
    write_spec("echo", ECHO)
    code, out, _ = cognos("graph", "echo@1.0.0", "--format", fmt)
    assert code == 0 and marker in out and "twice" in out


def test_replay_from_failure_reruns_only_what_failed(write_spec: Writer, flaky_server, db: Database) -> None:
    url = flaky_server(failures=1)
    write_spec("chain", f"""
        id: chain
        version: 1.0.0
        steps:
          - id: first
            tool: execute_python
            input: {{code: "import random; print(random.random())"}}
          - id: call
            tool: http_request
            depends_on: [first]
            input: {{url: "{url}"}}
        outputs:
          first: "{{{{ steps.first.output.stdout | trim }}}}"
          status: "{{{{ steps.call.output.status_code }}}}"
    """)
    code, out, _ = cognos("run", "chain", "--json")
    assert code == 1
    failed = json.loads(out)
    first_value = failed["steps"]["first"]["output"]["stdout"].strip()

    code, out, _ = cognos("replay", failed["run_id"], "--from-failure", "--json")
    assert code == 0, out
    replayed = json.loads(out)
    assert replayed["status"] == "success"
    assert replayed["outputs"] == {"first": first_value, "status": 200}  # `first` was not run again
    assert set(replayed["steps"]) == {"call"}
    execution = db.fetch_one("SELECT parent_run_id, status FROM workflow_executions WHERE run_id = %s",
                             (replayed["run_id"],))
    assert execution == {"parent_run_id": failed["run_id"], "status": "success"}

    code, _, err = cognos("replay", replayed["run_id"], "--from-failure")
    assert code == 1 and "did not fail" in err


def test_deterministic_replay_serves_recorded_calls(write_spec: Writer, db: Database) -> None:
    write_spec("noisy", """
        id: noisy
        version: 1.0.0
        steps:
          - id: roll
            tool: execute_python
            input: {code: "import random; print(random.random())"}
          - id: plan
            agent: planner
            input: {goal: "use {{ steps.roll.output.stdout | trim }}"}
        outputs:
          roll: "{{ steps.roll.output.stdout | trim }}"
          plan: "{{ steps.plan.output.plan }}"
    """)
    code, out, _ = cognos("run", "noisy", "--json")
    assert code == 0, out
    original = json.loads(out)

    code, out, _ = cognos("replay", original["run_id"], "--deterministic", "--json")
    assert code == 0, out
    replayed = json.loads(out)
    assert replayed["outputs"] == original["outputs"]  # the random number came from the recording

    code, out, _ = cognos("replay", original["run_id"], "--json")
    assert code == 0
    assert json.loads(out)["outputs"]["roll"] != original["outputs"]["roll"]  # a plain replay runs again

    db.execute("DELETE FROM call_records WHERE run_id = %s AND kind = 'tool'", (original["run_id"],))
    code, out, _ = cognos("replay", original["run_id"], "--deterministic", "--json")
    assert code == 1
    report = json.loads(out)
    assert "roll" in report["steps"] and "record" in (report["steps"]["roll"]["error"] or "").lower()


def test_deterministic_replay_of_an_agent_that_called_a_tool(write_spec: Writer, db: Database) -> None:
    write_spec("agent_tool", """
        id: agent_tool
        version: 1.0.0
        steps:
          - id: roll
            agent: executor
            tools: [execute_python]
            input: {task_description: "use execute_python to run `import random; print(random.random())`"}
        outputs:
          result: "{{ steps.roll.output.result }}"
    """)
    code, out, _ = cognos("run", "agent_tool", "--json")
    assert code == 0, out
    original = json.loads(out)
    assert original["outputs"]["result"].startswith("[offline] execute_python returned: 0.")

    code, out, _ = cognos("replay", original["run_id"], "--deterministic", "--json")
    assert code == 0, out
    assert json.loads(out)["outputs"] == original["outputs"]  # the tool's random number came from the record

    code, out, _ = cognos("replay", original["run_id"], "--json")
    assert code == 0 and json.loads(out)["outputs"] != original["outputs"]  # a plain replay runs the tool again
