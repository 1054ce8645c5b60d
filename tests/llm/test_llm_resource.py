"""LLMResource inside a real Dagster materialization, against the local server."""

from __future__ import annotations

import json

import dagster as dg
import pytest
from support.model_fixtures import SECRET

from cognitionos_dagster.agents.runtime import AgentRequest, AgentResult
from cognitionos_dagster.errors import ConfigError
from cognitionos_dagster.integrations.llm import LLMResource
from cognitionos_dagster.llm.endpoints import Endpoint


def test_resource_reads_the_key_from_the_environment_at_launch(openai_server, monkeypatch, chat_request) -> None:
    monkeypatch.setenv("H1_TEST_KEY", SECRET)
    resource = LLMResource(base_url=openai_server.base_url, api_key=dg.EnvVar("H1_TEST_KEY"), model="gpt-4o",
                           max_retries=0)
    seen: dict[str, object] = {}

    @dg.asset
    def answer(llm: LLMResource) -> None:
        client = llm.model_client()
        seen["client"] = repr(client)
        seen["text"] = client.complete_structured(chat_request()).text

    assert dg.materialize([answer], resources={"llm": resource}).success
    assert "[test-server]" in json.loads(str(seen["text"]))["summary"]
    request = openai_server.chat_requests()[0]
    assert request.headers["authorization"] == f"Bearer {SECRET}" and request.json["model"] == "gpt-4o"
    assert SECRET not in repr(resource) and SECRET not in str(seen["client"])


def test_an_asset_runs_a_role_through_the_resource(openai_server) -> None:
    """`agent_runtime` is how a hand-written asset runs a role with the resource's endpoint and retries."""
    seen: dict[str, object] = {}

    @dg.asset
    def summary(llm: LLMResource) -> None:
        seen["result"] = llm.agent_runtime().run(AgentRequest(role="summarizer", input={"content": "text"},
                                                              model="gpt-4o"))

    resource = LLMResource(base_url=openai_server.base_url, api_key=SECRET, model="gpt-4o-mini", max_retries=0)
    assert dg.materialize([summary], resources={"llm": resource}).success
    result = seen["result"]
    assert isinstance(result, AgentResult) and not result.offline
    assert result.output["summary"].startswith("[test-server]")
    assert [r.json["model"] for r in openai_server.chat_requests()] == ["gpt-4o"]


def test_nothing_configured_means_offline(monkeypatch) -> None:
    runtime = LLMResource().agent_runtime()
    assert runtime.client.offline
    result = runtime.run(AgentRequest(role="summarizer", input={"content": "text"}))
    assert result.offline and result.output["summary"].startswith("[offline]")


def test_azure_openai_deployments_are_reached(openai_server, chat_request) -> None:
    root = openai_server.base_url.removesuffix("/v1")
    resource = LLMResource(base_url=root, api_key=SECRET, model="my-deployment", azure_api_version="2024-10-21",
                           max_retries=0)
    completion = resource.model_client().complete_structured(chat_request())
    assert completion.model == "my-deployment" and not completion.offline
    request = openai_server.chat_requests()[0]
    assert request.path == "/openai/deployments/my-deployment/chat/completions?api-version=2024-10-21"
    assert request.headers["api-key"] == SECRET


def test_azure_without_an_endpoint_says_what_to_set(monkeypatch) -> None:
    monkeypatch.delenv("AZURE_OPENAI_ENDPOINT", raising=False)
    with pytest.raises(ConfigError, match="Azure OpenAI needs the resource's endpoint as base_url"):
        Endpoint(base_url=None, azure_api_version="2024-10-21").open()
