"""ModelClient against a real HTTP server through the real `openai` client."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from support.model_fixtures import SCHEMA, SECRET
from support.openai_server import chat_reply, error_reply

from cognitionos_dagster.errors import ModelError, ModelTimeout
from cognitionos_dagster.llm.client import ModelClient
from cognitionos_dagster.llm.deadline import within
from cognitionos_dagster.llm.offline import OFFLINE_MARK


def test_structured_output_sends_the_json_schema(openai_server, make_client, chat_request) -> None:
    openai_server.enqueue(chat_reply({"summary": "blue sky", "confidence": 0.8}, prompt_tokens=42,
                                     completion_tokens=7))
    completion = make_client(openai_server).complete_structured(chat_request())
    assert json.loads(completion.text) == {"summary": "blue sky", "confidence": 0.8}
    assert (completion.mode, completion.attempts, completion.offline) == ("json_schema", 1, False)
    assert (completion.input_tokens, completion.output_tokens) == (42, 7)
    sent = openai_server.chat_requests()[0]
    assert sent.json["response_format"]["type"] == "json_schema"
    assert sent.json["response_format"]["json_schema"]["schema"] == SCHEMA
    assert sent.json["model"] == "gpt-4o-mini"
    assert sent.headers["authorization"] == f"Bearer {SECRET}"


def test_json_mode_fallback_when_json_schema_is_rejected_and_remembered(openai_server, make_client,
                                                                         chat_request) -> None:
    openai_server.reject_json_schema = True
    client = make_client(openai_server)
    first = client.complete_structured(chat_request())
    second = client.complete_structured(chat_request("again"))
    kinds = [r.json["response_format"]["type"] for r in openai_server.chat_requests()]
    assert kinds == ["json_schema", "json_object", "json_object"]  # remembered: no second rejection
    assert first.mode == second.mode == "json_object"
    system = openai_server.chat_requests()[1].json["messages"][0]
    assert system["role"] == "system" and json.dumps(SCHEMA, separators=(",", ":")) in system["content"]


def test_other_bad_requests_are_not_mistaken_for_format_support(openai_server, make_client, chat_request) -> None:
    openai_server.enqueue(error_reply(400, "This model's maximum context length is 8192 tokens"))
    with pytest.raises(ModelError, match="maximum context length"):
        make_client(openai_server).complete_structured(chat_request())
    assert len(openai_server.chat_requests()) == 1  # not retried, no JSON-mode detour


def test_429_honours_retry_after(openai_server, make_client, chat_request, sleeps) -> None:
    openai_server.enqueue(error_reply(429, "rate limited", headers={"Retry-After": "0.3"}),
                          chat_reply({"summary": "ok", "confidence": 0.9}))
    completion = make_client(openai_server).complete_structured(chat_request())
    assert completion.attempts == 2
    assert sleeps == [0.3]


def test_retry_after_ms_and_cap(openai_server, make_client, chat_request, sleeps) -> None:
    openai_server.enqueue(error_reply(429, "slow", headers={"retry-after-ms": "120"}),
                          error_reply(503, "later", headers={"Retry-After": "3600"}),
                          chat_reply({"summary": "ok", "confidence": 0.9}))
    make_client(openai_server).complete_structured(chat_request())
    assert sleeps == [0.12, 30.0]  # the policy's max_delay caps a server asking for an hour


def test_500_then_success_backs_off_exponentially(openai_server, make_client, chat_request, sleeps) -> None:
    openai_server.enqueue(error_reply(500, "boom"), error_reply(502, "bad gateway"),
                          chat_reply({"summary": "ok", "confidence": 0.9}))
    completion = make_client(openai_server).complete_structured(chat_request())
    assert completion.attempts == 3
    assert sleeps == [0.01, 0.02]


def test_timeout_is_retried(openai_server, make_client, chat_request) -> None:
    openai_server.enqueue(chat_reply({"summary": "late", "confidence": 0.9}, delay=1.0),
                          chat_reply({"summary": "on time", "confidence": 0.9}))
    completion = make_client(openai_server, timeout=0.25).complete_structured(chat_request())
    assert json.loads(completion.text)["summary"] == "on time"
    assert completion.attempts == 2


def test_fallback_chain_after_retries_are_exhausted(openai_server, make_client, chat_request) -> None:
    openai_server.enqueue(*[error_reply(500, "down") for _ in range(3)],
                          chat_reply({"summary": "from fallback", "confidence": 0.9}))
    client = make_client(openai_server, max_retries=2)
    completion = client.complete_structured(chat_request(), models=["gpt-4o-mini", "gpt-4o"])
    assert completion.model == "gpt-4o"
    assert [r.json["model"] for r in openai_server.chat_requests()] == ["gpt-4o-mini"] * 3 + ["gpt-4o"]


def test_every_model_failing_is_a_model_error_naming_each(openai_server, make_client, chat_request) -> None:
    openai_server.enqueue(error_reply(404, "model a not found"), error_reply(404, "model b not found"))
    with pytest.raises(ModelError) as info:
        make_client(openai_server).complete_structured(chat_request(), models=["a", "b"])
    assert "a: HTTP 404" in str(info.value) and "b: HTTP 404" in str(info.value)


def test_wrong_key_fails_fast_without_fallback_and_without_the_key(openai_server, make_client, chat_request,
                                                                    caplog) -> None:
    caplog.set_level(logging.DEBUG)
    openai_server.enqueue(error_reply(401, f"Incorrect API key provided: {SECRET}"))
    client = make_client(openai_server)
    with pytest.raises(ModelError) as info:
        client.complete_structured(chat_request(), models=["a", "b"])
    assert len(openai_server.chat_requests()) == 1
    assert "OPENAI_API_KEY" in str(info.value)
    for text in (str(info.value), caplog.text, repr(client), repr(client.endpoint)):
        assert SECRET not in text


def test_tokens_and_cost_come_from_the_price_table(openai_server, make_client, chat_request, tmp_path: Path) -> None:
    (tmp_path / "models.yaml").write_text("models:\n  gpt-4o: {input_per_million: 2.5, output_per_million: 10}\n")
    openai_server.enqueue(chat_reply({"summary": "x", "confidence": 0.9}, prompt_tokens=1000, completion_tokens=500))
    client = make_client(openai_server, model="gpt-4o-2024-08-06", resources=tmp_path)  # a dated snapshot
    completion = client.complete_structured(chat_request())
    assert completion.cost_usd == pytest.approx(1000 * 2.5e-6 + 500 * 10e-6)


def test_offline_provider_answers_without_network(chat_request) -> None:
    client = ModelClient(default_model="gpt-4o-mini")
    assert client.offline
    completion = client.complete_structured(chat_request("Summarise the release notes"))
    data = json.loads(completion.text)
    assert completion.offline and completion.model == "offline" and completion.cost_usd == 0
    assert data["summary"].startswith(OFFLINE_MARK) and "release notes" in data["summary"]
    assert 0.8 <= data["confidence"] <= 1
    assert client.complete_structured(chat_request("Summarise the release notes")).text == completion.text


def test_a_back_off_longer_than_the_step_budget_is_not_waited(openai_server, make_client, chat_request,
                                                              sleeps) -> None:
    openai_server.enqueue(error_reply(429, "slow down", headers={"Retry-After": "10"}))
    with within(2.0), pytest.raises(ModelTimeout, match=r"less than the 10\.0 s back-off"):
        make_client(openai_server).complete_structured(chat_request(), models=["gpt-4o-mini", "gpt-4o"])
    assert sleeps == [] and len(openai_server.chat_requests()) == 1


def test_a_429_gives_a_structured_error_with_retry_after(openai_server, make_client, chat_request, sleeps) -> None:
    openai_server.enqueue(error_reply(429, "rate limited", headers={"Retry-After": "7"}))
    with pytest.raises(ModelError) as info:
        make_client(openai_server, max_retries=0).complete_structured(chat_request())
    error = info.value
    assert (error.status_code, error.model_name, error.retry_after) == (429, "gpt-4o-mini", 7.0)
    assert error.provider == openai_server.base_url.split("/")[2]  # a self-hosted server: its host
    assert error.body is not None and "rate limited" in error.body
    assert not error.permanent and [f.status_code for f in error.failures] == [429]


def test_a_500_body_is_kept_without_secrets(openai_server, make_client, chat_request, caplog) -> None:
    other_key = "sk-proj-Zx81LeakedKey0000aaaa"
    token = "eyJhbGciOiJIUzI1NiJ9.leaked.token"
    message = f"upstream echoed Authorization: Bearer {token}, api_key={SECRET} and {other_key}"
    openai_server.enqueue(error_reply(500, message))
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ModelError) as info:
        make_client(openai_server, max_retries=0).complete_structured(chat_request())
    error = info.value
    assert error.status_code == 500 and error.body is not None and "upstream echoed" in error.body
    for text in (error.body, str(error), caplog.text, str(error.fields())):
        for secret in (SECRET, other_key, token):
            assert secret not in text
    assert "Bearer ***" in error.body


def test_model_not_found_everywhere_is_permanent(openai_server, make_client, chat_request) -> None:
    openai_server.enqueue(error_reply(404, "no a"), error_reply(500, "b down"))
    with pytest.raises(ModelError) as info:
        make_client(openai_server, max_retries=0).complete_structured(chat_request(), models=["a", "b"])
    assert not info.value.permanent  # b may come back
    openai_server.enqueue(error_reply(404, "no a"), error_reply(404, "no b"))
    with pytest.raises(ModelError) as info:
        make_client(openai_server, max_retries=0).complete_structured(chat_request(), models=["a", "b"])
    assert info.value.permanent and [f.model_name for f in info.value.failures] == ["a", "b"]
