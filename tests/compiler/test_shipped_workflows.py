"""The shipped workflows run offline from `cognos run`, against the real database and instance."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cognitionos_dagster.cli.main import app
from cognitionos_dagster.db.connection import Database
from cognitionos_dagster.settings import PROJECT_ROOT

runner = CliRunner()


@pytest.fixture(autouse=True)
def shipped_specs(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path) -> None:
    monkeypatch.setenv("COGNITIONOS_WORKFLOW_SPECS", str(PROJECT_ROOT / "workflow_specs"))
    monkeypatch.setenv("COGNITIONOS_HOME", str(tmp_path / "home"))


def run(*args: str) -> dict:
    result = runner.invoke(app, ["run", *args, "--json"])
    report = json.loads(result.stdout)
    assert (result.exit_code == 0) == (report["status"] == "success")
    return report


def test_lint_accepts_every_shipped_spec() -> None:
    result = runner.invoke(app, ["lint"])
    assert result.exit_code == 0, result.stderr
    assert "0 error(s)" in result.stdout


def test_health_check() -> None:
    report = run("health_check")
    assert report["status"] == "success"
    assert report["outputs"]["database"] is True
    assert report["outputs"]["pgvector"].startswith("pgvector 0.")
    assert report["outputs"]["sandbox"].startswith("sandbox ok")
    assert "offline" in report["outputs"]["model"]


@pytest.mark.parametrize("environment, reviewed", [("staging", "skipped"), ("prod", "succeeded")])
def test_deploy_web_app(environment: str, reviewed: str) -> None:
    report = run("deploy_web_app", "-i", "repo_url=git@example.com:acme/web.git", "-i", f"environment={environment}",
                 "-i", "services=[web, api, worker]")
    assert report["status"] == "success", report["steps"]
    steps = report["steps"]
    assert steps["review"]["status"] == reviewed
    assert [steps[f"deploy_each[{i}]"]["status"] for i in range(3)] == ["succeeded"] * 3
    assert steps["rollout"]["status"] == "succeeded" and steps["rollout.database"]["status"] == "succeeded"
    assert report["outputs"]["summary"].startswith("[offline]")


def test_memory_gc_previews_then_applies(db: Database) -> None:
    for args in (["memory", "namespace", "create", "scratch", "--owner", "ana", "--policy", "ephemeral"],
                 ["memory", "add", "--namespace", "scratch", "--user", "ana", "old note"],
                 ["memory", "add", "--namespace", "scratch", "--user", "ana", "fresh note"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.stdout + result.stderr
    db.execute("UPDATE memories SET created_at = now() - interval '30 days', expires_at = NULL "
               "WHERE content = 'old note'")

    preview = run("memory_gc")
    assert preview["status"] == "success"
    assert preview["outputs"]["would_change"] >= 1 and preview["outputs"]["changed"] == 0
    assert preview["steps"]["apply"]["status"] == "skipped"
    assert db.fetch_one("SELECT count(*) AS n FROM memories")["n"] == 2

    applied = run("memory_gc", "-i", "dry_run=false", "-i", "namespace=scratch")
    assert applied["status"] == "success"
    assert applied["outputs"]["changed"] >= 1
    remaining = [r["content"] for r in db.fetch_all("SELECT content FROM memories")]
    assert remaining == ["fresh note"]


def test_agent_training_grades_every_exercise(db: Database) -> None:
    report = run("agent_training", "-i", "skill=writing rollback plans")
    assert report["status"] == "success", report["steps"]
    exercises = report["outputs"]["exercises"]
    assert exercises >= 1
    assert all(report["steps"][f"grade[{i}]"]["status"] == "succeeded" for i in range(exercises))
    assert 0.0 <= report["outputs"]["mean_quality"] <= 1.0
    rows = db.fetch_all("SELECT agent_role, confidence, prompt_version FROM workflow_execution_steps "
                        "WHERE execution_id = %s AND step_id LIKE 'grade[%%'", (report["run_id"],))
    assert len(rows) == exercises and all(r["agent_role"] == "critic" and r["confidence"] for r in rows)


def test_research_notes_feed_research_digest(db: Database) -> None:
    notes = run("research_notes")
    assert notes["status"] == "success"
    asset = notes["assets"]["research_notes/notes"]
    assert asset["materialized"] and set(asset["checks"]) == {"quality_gate_default", "has_content"}
    assert asset["checks"]["has_content"] == {"passed": True, "blocking": True,
                                              "metadata": asset["checks"]["has_content"]["metadata"]}
    digest = run("research_digest")
    assert digest["status"] == "success"
    assert digest["assets"]["research_digest/digest"]["materialized"]
    assert digest["outputs"]["summary"].startswith("[offline]")
    stored = db.fetch_one("SELECT count(*) AS n FROM memories m JOIN memory_namespaces n ON n.id = m.namespace_id "
                          "WHERE n.name = 'digests'")
    assert stored is not None and stored["n"] == 1


def test_tool_agent_runs_code_through_a_tool_call_offline(db: Database) -> None:
    report = run("tool_agent", "-i", "expression=6*7")
    assert report["status"] == "success", report["steps"]
    assert report["outputs"] == {"result": "[offline] execute_python returned: 42", "tools_used": ["execute_python"]}
    step = db.fetch_one("SELECT tool_calls FROM workflow_execution_steps WHERE execution_id = %s AND step_id = %s",
                        (report["run_id"], "compute"))
    assert step is not None and step["tool_calls"] == [{"round": 1, "tool": "execute_python", "status": "ok",
                                                         "error": None}]
    ran = db.fetch_all("SELECT name, status, request FROM call_records WHERE run_id = %s AND kind = 'tool' "
                       "AND name = 'execute_python'", (report["run_id"],))
    assert [(r["status"], r["request"]["input"]["code"]) for r in ran] == [("ok", "print(6*7)")]
