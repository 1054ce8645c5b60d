"""`retrieve_memory` and `store_memory` through a MemoryProvider taken from the context."""

from __future__ import annotations

from typing import Any

from cognitionos_dagster.errors import PermissionDenied
from cognitionos_dagster.memory.interface import MemoryHit, MemoryProvider
from cognitionos_dagster.tools import ToolContext, default_registry


class WordOverlapMemory:
    """A tiny MemoryProvider: scores by shared words, grants by a per-namespace set of writers."""

    def __init__(self, writers: dict[str, set[str]]) -> None:
        self.writers = writers
        self.items: list[tuple[str, str, str, float, dict[str, Any]]] = []

    def retrieve(self, namespace: str, user: str, query: str, *, k: int = 5,
                 filters: dict[str, Any] | None = None) -> list[MemoryHit]:
        words = set(query.lower().split())
        hits = [
            MemoryHit(id=i, namespace=ns, content=c, score=len(words & set(c.lower().split())) / len(words),
                      importance=imp, metadata=md)
            for i, ns, c, imp, md in self.items
            if ns == namespace and all(md.get(key) == v for key, v in (filters or {}).items())
        ]
        return sorted(hits, key=lambda h: -h.score)[:k]

    def store(self, namespace: str, user: str, content: str, *, importance: float = 0.5,
              metadata: dict[str, Any] | None = None) -> str:
        if user not in self.writers.get(namespace, set()):
            raise PermissionDenied(f"user '{user}' may not write to namespace '{namespace}'")
        memory_id = f"m{len(self.items) + 1}"
        self.items.append((memory_id, namespace, content, importance, metadata or {}))
        return memory_id


def test_store_then_retrieve(ctx: ToolContext) -> None:
    memory = WordOverlapMemory({"ops": {"alice"}})
    assert isinstance(memory, MemoryProvider)
    ctx.memory, ctx.user = memory, "alice"
    reg = default_registry()
    first = reg.run("store_memory", {"namespace": "ops", "content": "deploy uses blue green",
                                     "metadata": {"kind": "runbook"}}, ctx)
    reg.run("store_memory", {"namespace": "ops", "content": "the cafeteria opens at nine", "importance": 0.1}, ctx)
    assert first.success and first.result == "m1"
    out = reg.run("retrieve_memory", {"namespace": "ops", "query": "how does deploy work", "k": 1}, ctx)
    assert out.success and [h["id"] for h in out.result] == ["m1"]
    assert out.result[0]["metadata"] == {"kind": "runbook"}
    filtered = reg.run("retrieve_memory", {"namespace": "ops", "query": "deploy", "filters": {"kind": "x"}}, ctx)
    assert filtered.result == []


def test_the_calling_user_is_passed_and_checked(ctx: ToolContext) -> None:
    ctx.memory, ctx.user = WordOverlapMemory({"ops": {"alice"}}), "mallory"
    out = default_registry().run("store_memory", {"namespace": "ops", "content": "x"}, ctx)
    assert not out.success and "PermissionDenied: user 'mallory' may not write" in (out.error or "")


def test_no_memory_provider_is_a_clear_failure(ctx: ToolContext) -> None:
    out = default_registry().run("retrieve_memory", {"namespace": "ops", "query": "q"}, ctx)
    assert not out.success
    assert "retrieve_memory needs a memory provider, and none is configured" in (out.error or "")
