from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.model_fixtures import chat_request, make_client, openai_server, sleeps  # noqa: F401 - fixtures
from support.openai_server import OpenAIServer

from cognitionos_dagster.agents.runtime import AgentRuntime
from cognitionos_dagster.db.connection import Database
from cognitionos_dagster.memory.interface import MemoryHit, MemoryProvider
from cognitionos_dagster.settings import PROJECT_ROOT, load_settings


class ListMemory:
    """A MemoryProvider kept in a list: the agents only see the protocol, so any store will do."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str, float, dict[str, Any]]] = []
        self.queries: list[tuple[str, str, str, int]] = []

    def retrieve(self, namespace: str, user: str, query: str, *, k: int = 5,
                 filters: dict[str, Any] | None = None) -> list[MemoryHit]:
        self.queries.append((namespace, user, query, k))
        hits = [MemoryHit(id=str(i), namespace=ns, content=c, score=1.0, importance=imp)
                for i, (ns, c, imp, _) in enumerate(self.items) if ns == namespace]
        return hits[-k:]

    def store(self, namespace: str, user: str, content: str, *, importance: float = 0.5,
              metadata: dict[str, Any] | None = None) -> str:
        self.items.append((namespace, content, importance, metadata or {}))
        return str(len(self.items) - 1)


@pytest.fixture
def memory() -> MemoryProvider:
    return ListMemory()


@pytest.fixture
def resources(tmp_path: Path) -> Path:
    """A copy of the shipped resources that a test may extend with roles, prompts and policies."""
    target = tmp_path / "resources"
    shutil.copytree(PROJECT_ROOT / "resources", target)
    return target


@pytest.fixture
def make_runtime(make_client: Callable[..., Any]) -> Callable[..., AgentRuntime]:  # noqa: F811 - the fixture
    def make(server: OpenAIServer | None = None, *, resources: Path = PROJECT_ROOT / "resources",
             db: Database | None = None, memory: MemoryProvider | None = None, **client: Any) -> AgentRuntime:
        settings = load_settings(resources_dir=resources)
        model_client = make_client(server, db=db, resources=resources, **client) if server else None
        return AgentRuntime(settings, db=db, memory=memory, client=model_client)

    return make
