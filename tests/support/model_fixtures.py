"""Fixtures for tests of model calls: a ModelClient on the local server with short, recorded backoffs.

Register them in a conftest.py with `from support.model_fixtures import *  # noqa: F403`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import SecretStr

from cognitionos_dagster.db.connection import Database
from cognitionos_dagster.llm.client import ModelClient
from cognitionos_dagster.llm.endpoints import Endpoint
from cognitionos_dagster.llm.pricing import load_price_table
from cognitionos_dagster.llm.retry import RetryPolicy
from cognitionos_dagster.llm.types import ChatMessage, ChatRequest
from cognitionos_dagster.settings import PROJECT_ROOT
from support.openai_server import OpenAIServer, openai_server

__all__ = ["SCHEMA", "SECRET", "Sleeps", "chat_request", "make_client", "openai_server", "sleeps"]

SECRET = "sk-test-0123456789abcdef-SECRET"
SCHEMA = {
    "type": "object",
    "properties": {"summary": {"type": "string"}, "confidence": {"type": "number", "minimum": 0, "maximum": 1}},
    "required": ["summary", "confidence"],
}


class Sleeps(list[float]):
    """Records every backoff delay and sleeps a tenth of it (at most 50 ms): waits are real but short."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)
        time.sleep(min(seconds / 10, 0.05))


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def retry_policy(sleeps: Sleeps, max_retries: int = 3) -> RetryPolicy:
    return RetryPolicy(max_retries=max_retries, base_delay=0.01, jitter=False, sleep=sleeps)


def endpoint_for(server: OpenAIServer, timeout: float = 5.0) -> Endpoint:
    return Endpoint(base_url=server.base_url, api_key=SecretStr(SECRET), timeout_seconds=timeout)


@pytest.fixture
def make_client(sleeps: Sleeps) -> Callable[..., ModelClient]:
    def make(server: OpenAIServer, *, db: Database | None = None, model: str = "gpt-4o-mini", timeout: float = 5.0,
             max_retries: int = 3, resources: Path = PROJECT_ROOT / "resources") -> ModelClient:
        return ModelClient(default_model=model, endpoint=endpoint_for(server, timeout),
                           prices=load_price_table(resources), retry=retry_policy(sleeps, max_retries), db=db)

    return make


def build_chat_request(text: str = "Summarise: the sky is blue.") -> ChatRequest:
    return ChatRequest(messages=(ChatMessage(role="system", content="You summarise."),
                                 ChatMessage(role="user", content=text)),
                       schema_name="Summary", json_schema=SCHEMA, offline_hint={"content": text})


@pytest.fixture
def chat_request() -> Callable[..., ChatRequest]:
    return build_chat_request
