"""The planner searches memory through its tool loop, offline, as the step's user."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from cognitionos_dagster.agents.runtime import AgentRequest, AgentRuntime
from cognitionos_dagster.db.connection import Database
from cognitionos_dagster.llm.local_embedding import LocalEmbedder
from cognitionos_dagster.memory.namespaces import NamespaceManager
from cognitionos_dagster.memory.store import MemoryStore


@pytest.fixture
def store(db: Database) -> Iterator[MemoryStore]:
    s = MemoryStore(db, LocalEmbedder(384))
    yield s
    s.close()


def test_planner_calls_search_offline_and_sees_only_its_users_memories(
    db: Database, store: MemoryStore, make_runtime: Callable[..., AgentRuntime],
) -> None:
    namespaces = NamespaceManager(db)
    namespaces.create("alice-notes", "alice")
    namespaces.create("bob-notes", "bob")
    alices = store.store("alice-notes", "alice", "ERR4711 means the vendor changed the csv header")
    store.store("bob-notes", "bob", "ERR4711 vendor csv header: bob's private note")
    runtime = make_runtime(db=db, memory=store)
    result = runtime.run(AgentRequest(role="planner", input={"goal": "use search to `ERR4711 vendor`"},
                                      run_id="run-1", step_id="plan", user="alice"))
    assert result.tool_calls == [{"round": 1, "tool": "search", "status": "ok", "error": None}]
    assert result.tools_used == ["search"]
    row = db.fetch_one("SELECT request, response, status FROM call_records WHERE kind = 'tool' AND run_id = 'run-1'")
    assert row is not None and row["status"] == "ok"
    assert row["request"] == {"tool": "search", "input": {"query": "ERR4711 vendor", "namespaces": None, "k": 5,
                                                          "include_archived": False}}
    hits: list[dict[str, Any]] = row["response"]["hits"]
    assert [h["id"] for h in hits] == [alices] and hits[0]["text_rank"] == 1  # bob's note never came back
