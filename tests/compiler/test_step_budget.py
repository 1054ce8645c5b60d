"""A model call never outlives its step: the step's timeout cuts the HTTP call and its retries."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from support.openai_server import OpenAIServer, chat_reply, openai_server  # noqa: F401 - fixture

from cognitionos_dagster.db.connection import Database
from cognitionos_dagster.db.repositories.calls import CallRecordRepository
from cognitionos_dagster.db.repositories.executions import ExecutionRepository

BUDGET = 2.0
MODEL_DELAY = 12.0


def _step_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("step_")]


def test_a_slow_model_is_cut_at_the_step_timeout_and_recorded_as_timeout(
    write_spec: Callable[[str, str], Path], run_job, db: Database, openai_server: OpenAIServer,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", openai_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    openai_server.enqueue(chat_reply({"summary": "late", "key_points": [], "confidence": 0.9}, delay=MODEL_DELAY))
    write_spec("slow_model", f"""
        id: slow_model
        version: 1.0.0
        steps:
          - id: ask
            agent: summarizer
            timeout_seconds: {BUDGET}
            on_failure: fail
            input: {{content: "the sky is blue"}}
    """)
    started = time.monotonic()
    res = run_job("slow_model")
    returned = time.monotonic()
    assert not res.success
    # the call itself stops: no worker thread is left waiting for the model (it would hold the process open)
    while _step_threads() and time.monotonic() - returned < 1.0:
        time.sleep(0.05)
    assert not _step_threads(), "the model call outlived its step"
    llm = [r for r in CallRecordRepository(db).for_run(res.run_id) if r["kind"] == "llm"]
    assert [r["status"] for r in llm] == ["timeout"]
    assert llm[0]["latency_ms"] <= (BUDGET + 1.0) * 1000
    step = next(r for r in ExecutionRepository(db).steps(res.run_id) if r["step_id"] == "ask")
    took = (step["completed_at"] - step["started_at"]).total_seconds()
    assert step["status"] == "failed" and took <= BUDGET + 1.0
    print(f"budget {BUDGET} s, model {MODEL_DELAY} s: step failed after {took:.2f} s, call cut after "
          f"{llm[0]['latency_ms'] / 1000:.2f} s, run (with job start) returned after {returned - started:.2f} s")
    assert len(openai_server.chat_requests()) == 1  # no retry nor fallback past the budget
