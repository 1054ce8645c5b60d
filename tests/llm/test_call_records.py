"""Every model call lands in call_records (real PostgreSQL), and deterministic replay answers from them."""

from __future__ import annotations

import json
import time

import pytest
from support.model_fixtures import SECRET
from support.openai_server import chat_reply, error_reply

from cognitionos_dagster.db.repositories.calls import CallRecordRepository
from cognitionos_dagster.errors import ModelTimeout, ReplayError
from cognitionos_dagster.llm.client import ModelClient
from cognitionos_dagster.llm.deadline import within
from cognitionos_dagster.llm.types import CallContext

RUN = CallContext(run_id="run-1", step_id="plan", prompt_version="v3")


def test_successes_and_failures_are_recorded(openai_server, make_client, chat_request, db) -> None:
    openai_server.enqueue(error_reply(500, f"boom {SECRET}"),
                          chat_reply({"summary": "ok", "confidence": 0.9}, prompt_tokens=1000, completion_tokens=100))
    make_client(openai_server, db=db).complete_structured(chat_request(), call=RUN)
    rows = CallRecordRepository(db).for_run("run-1")
    assert [r["status"] for r in rows] == ["error", "ok"]
    failed, ok = rows
    assert failed["cost_usd"] == 0 and failed["response"] is None and "HTTP 500" in failed["error"]
    assert SECRET not in failed["error"]
    assert ok["kind"] == "llm" and ok["name"] == "gpt-4o-mini" and ok["step_id"] == "plan"
    assert ok["prompt_version"] == "v3"
    assert (ok["input_tokens"], ok["output_tokens"]) == (1000, 100)
    assert ok["cost_usd"] == pytest.approx(1000 * 0.15e-6 + 100 * 0.6e-6)
    assert json.loads(ok["response"]["text"]) == {"summary": "ok", "confidence": 0.9}
    assert ok["request"]["messages"][1]["content"] == "Summarise: the sky is blue."
    assert "model" not in ok["request"]  # the replay key is the question, whichever model answered


def test_replay_serves_the_nth_recorded_answer_without_calling_a_model(openai_server, make_client, chat_request,
                                                                        db) -> None:
    openai_server.enqueue(chat_reply({"summary": "first", "confidence": 0.9}),
                          chat_reply({"summary": "second", "confidence": 0.8}))
    live = make_client(openai_server, db=db)
    live.complete_structured(chat_request(), call=RUN)
    live.complete_structured(chat_request(), call=RUN)  # same question twice in one step
    assert [r["sequence"] for r in CallRecordRepository(db).for_run("run-1")] == [0, 1]
    served_before = len(openai_server.requests)

    replay = CallContext(run_id="run-2", step_id="plan", replay_run_id="run-1")
    again = make_client(openai_server, db=db)
    answers = [again.complete_structured(chat_request(), call=replay) for _ in range(2)]
    assert [json.loads(a.text)["summary"] for a in answers] == ["first", "second"]
    assert all(a.mode == "replay" and a.cost_usd == 0 for a in answers)
    assert len(openai_server.requests) == served_before  # no model was asked
    assert len(CallRecordRepository(db).for_run("run-2")) == 2  # the replay is itself replayable

    with pytest.raises(ReplayError, match=r"run-1 has no recorded model call #3 .* step 'plan'"):
        again.complete_structured(chat_request(), call=replay)


def test_replay_of_a_changed_question_names_what_is_missing(db, chat_request) -> None:
    offline = ModelClient(default_model="m", db=db)
    offline.complete_structured(chat_request("original"), call=RUN)
    with pytest.raises(ReplayError) as info:
        offline.complete_structured(chat_request("edited"),
                                    call=CallContext(run_id="run-3", step_id="plan", replay_run_id="run-1"))
    assert "run-1" in str(info.value) and "'plan'" in str(info.value) and "#1" in str(info.value)
    assert "--deterministic" in str(info.value)


def test_replay_without_a_database_says_so(chat_request) -> None:
    with pytest.raises(ReplayError, match="needs the database"):
        ModelClient(default_model="m").complete_structured(
            chat_request(), call=CallContext(run_id="r", step_id="s", replay_run_id="r0"))


def test_a_call_cut_by_the_step_budget_is_recorded_as_timeout(openai_server, make_client, chat_request, db) -> None:
    openai_server.enqueue(chat_reply({"summary": "late", "confidence": 0.9}, delay=6))
    started = time.monotonic()
    with within(1.0), pytest.raises(ModelTimeout, match="within the step's timeout"):
        make_client(openai_server, db=db, timeout=30).complete_structured(chat_request(), call=RUN)
    assert time.monotonic() - started < 4  # cut at the 1 s budget, not after the reply's 6 s
    rows = CallRecordRepository(db).for_run("run-1")
    assert [r["status"] for r in rows] == ["timeout"] and rows[0]["latency_ms"] < 4000
    assert len(openai_server.chat_requests()) == 1  # neither retried nor handed to a fallback model
