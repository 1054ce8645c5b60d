"""An escalated model failure keeps the structured error (status, model, provider, Retry-After) in its
record, against a real OpenAI-compatible HTTP server that rate-limits every request."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.openai_server import OpenAIServer, RecordedRequest, Reply, error_reply

from cognitionos_dagster.db.connection import Database
from cognitionos_dagster.db.repositories.escalations import EscalationRepository


def _rate_limited(request: RecordedRequest) -> Reply:
    return error_reply(429, "Too many requests for key sk-live-0123456789abcdef", headers={"Retry-After": "0"})


@pytest.fixture
def model_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAIServer]:
    with OpenAIServer(default=_rate_limited) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-secret")
        monkeypatch.setenv("COGNITIONOS_LLM_MODEL", "busy-model")
        yield server


def test_escalation_records_the_model_error_fields(write_spec: Callable[[str, str], Path], run_job, db: Database,
                                                   model_server: OpenAIServer) -> None:
    write_spec("busy", """
        id: busy
        version: 1.0.0
        steps:
          - id: summary
            agent: summarizer
            input: {content: "the deploy went fine"}
            retry: {max_attempts: 1}
            on_failure: escalate
    """)
    res = run_job("busy")
    assert not res.success
    [escalation] = EscalationRepository(db).for_run(res.run_id)
    fields = escalation["context"]["model_error"]
    assert (fields["status_code"], fields["retry_after"]) == (429, 0.0)
    assert fields["model_name"] == model_server.chat_requests()[-1].json["model"]
    assert fields["provider"] == model_server.base_url.split("/")[2]
    assert "Too many requests" in fields["body"] and "sk-live-0123456789abcdef" not in fields["body"]
