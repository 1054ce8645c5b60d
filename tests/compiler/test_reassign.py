"""`on_failure: reassign` against a real OpenAI-compatible HTTP server: the step's model chain fails,
the reassigned model answers, and the step succeeds with the reassigned model recorded."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.openai_server import OpenAIServer, RecordedRequest, Reply, auto_reply, error_reply

from cognitionos_dagster.db.connection import Database
from cognitionos_dagster.db.repositories.executions import ExecutionRepository

BROKEN = {"broken-model", "gpt-4o"}  # the role's model and its fallback


def _route(request: RecordedRequest) -> Reply:
    model = (request.json or {}).get("model")
    return error_reply(404, f"model {model} does not exist") if model in BROKEN else auto_reply(request)


@pytest.fixture
def model_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAIServer]:
    with OpenAIServer(default=_route) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-secret")
        monkeypatch.setenv("COGNITIONOS_LLM_MODEL", "broken-model")
        yield server


@pytest.mark.parametrize("target, succeeds", [("backup-model", True), ("gpt-4o", False)])
def test_reassign_runs_the_step_again_on_another_model(
    write_spec: Callable[[str, str], Path], run_job, db: Database, model_server: OpenAIServer,
    target: str, succeeds: bool,
) -> None:
    """The reassigned model answers (backup-model) or is broken too (gpt-4o, which fails the step)."""
    write_spec("reassigning", f"""
        id: reassigning
        version: 1.0.0
        steps:
          - id: summary
            agent: summarizer
            input: {{content: "the deploy went fine"}}
            on_failure: reassign
            retry: {{max_attempts: 1}}    # else the role's max_retries applies first
            reassign_to: {{model: {target}}}
    """)
    res = run_job("reassigning")
    assert res.success is succeeds
    row = {r["step_id"]: r for r in ExecutionRepository(db).steps(res.run_id)}["summary"]
    asked = [r.json["model"] for r in model_server.chat_requests()]
    assert asked[:2] == ["broken-model", "gpt-4o"] and asked[-1] == target
    if succeeds:
        assert row["status"] == "succeeded" and row["model"] == target and row["attempts"] == 2
        assert row["output"]["summary"].startswith("[test-server]")
    else:
        assert row["status"] == "failed" and f"after reassigning to agent summarizer (model {target})" in row["error"]
