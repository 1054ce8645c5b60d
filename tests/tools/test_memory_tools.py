"""`search`, `retrieve_memory` and `store_memory` on the real store, under row-level security."""

from __future__ import annotations

import pytest

from cognitionos_dagster.db.connection import Database, connect
from cognitionos_dagster.memory import access
from cognitionos_dagster.memory.hybrid import RRF_K
from cognitionos_dagster.memory.namespaces import NamespaceManager
from cognitionos_dagster.memory.store import MemoryStore
from cognitionos_dagster.tools import ToolContext, default_registry

# One word in a long text: the hashed vector of the text is far from the query's, so only the
# full-text ranking finds it among the short near-spellings below.
INCIDENT = ("the nightly import of the vendor catalogue crashed during the second stage with code ERR4711 after the "
            "vendor changed the header format of their exported spreadsheet files without telling anyone on the "
            "integration team so every product since tuesday is missing its price and stock level")
NEAR_SPELLINGS = [f"code XERR4711{c}" for c in "abcdefghijklmnopqrstuvwxyz"]




def as_user(ctx: ToolContext, store: MemoryStore, user: str) -> ToolContext:
    ctx.memory, ctx.user = store, user
    return ctx


def test_search_fuses_vector_and_text_rankings(ctx: ToolContext, store: MemoryStore,
                                               namespaces: NamespaceManager) -> None:
    namespaces.create("ops", "alice")
    incident = store.store("ops", "alice", INCIDENT)
    store.add_many("ops", "alice", NEAR_SPELLINGS)
    out = default_registry().run("search", {"query": "ERR4711", "k": 5}, as_user(ctx, store, "alice"))
    assert out.success
    by_id = {h["id"]: h for h in out.result}
    assert by_id[incident]["text_rank"] == 1 and by_id[incident]["vector_rank"] is None  # full text alone found it
    assert by_id[incident]["content"] == INCIDENT
    vector_only = [h for h in out.result if h["text_rank"] is None]
    assert len(vector_only) == 4 and all(h["content"].startswith("code XERR4711") for h in vector_only)
    assert all(h["score"] == pytest.approx(1 / (RRF_K + h["vector_rank"]), abs=1e-6) for h in vector_only)

    namespaces.create("design", "alice")
    store.store("design", "alice", "pick a colour palette for the dashboard")
    paraphrase = store.store("design", "alice", "the color of the status page")
    store.store("design", "alice", "lunch is at noon")
    out = default_registry().run("search", {"query": "colour", "k": 2, "namespaces": ["design"]}, ctx)
    first, second = out.result
    assert first["content"].startswith("pick a colour") and first["text_rank"] == first["vector_rank"] == 1
    assert first["score"] == pytest.approx(2 / (RRF_K + 1), abs=1e-6)  # both rankings count
    assert second["id"] == paraphrase and second["text_rank"] is None  # 'color' is not the lexeme 'colour'


def test_search_sees_only_what_the_user_may_read(ctx: ToolContext, store: MemoryStore,
                                                 namespaces: NamespaceManager) -> None:
    namespaces.create("alice-notes", "alice")
    namespaces.create("bob-notes", "bob")
    store.store("alice-notes", "alice", "alice: ERR4711 means the vendor changed the header")
    bobs = store.store("bob-notes", "bob", "bob: ERR4711 showed up in staging")
    reg = default_registry()
    out = reg.run("search", {"query": "ERR4711 vendor header", "k": 10}, as_user(ctx, store, "bob"))
    assert out.success and [h["id"] for h in out.result] == [bobs]  # alice's better match never shows

    refused = reg.run("search", {"query": "ERR4711", "namespaces": ["alice-notes"]}, ctx)
    assert not refused.success and refused.result is None
    assert "no access: user 'bob' may not read memory namespace 'alice-notes'" in (refused.error or "")

    namespaces.grant("alice-notes", "bob")
    out = reg.run("search", {"query": "ERR4711 vendor header", "namespaces": ["alice-notes"]}, ctx)
    assert [h["namespace"] for h in out.result] == ["alice-notes"]
    access.ensure_user(store.db, "carol")
    assert reg.run("search", {"query": "ERR4711"}, as_user(ctx, store, "carol")).result == []


def test_the_text_match_function_applies_the_read_policy(store: MemoryStore, namespaces: NamespaceManager) -> None:
    """Called directly as the app role, the owner's index lookup still returns only readable ids."""
    namespaces.create("alice-notes", "alice")
    namespaces.create("bob-notes", "bob")
    store.store("alice-notes", "alice", "alice: ERR4711")
    bobs = store.store("bob-notes", "bob", "bob: ERR4711")
    bob_id = access.find_user(store.db, "bob")
    with connect(store.db.url) as conn:
        conn.execute("SET ROLE cognitionos_app")
        matches = "SELECT memory_id::text AS id FROM cognitionos_text_matches('ERR4711', NULL, false, 10)"
        assert conn.execute(matches).fetchall() == []  # no acting user: nothing
        conn.execute("SELECT set_config('cognitionos.user_id', %s, false)", (bob_id,))
        assert [r["id"] for r in conn.execute(matches).fetchall()] == [bobs]


def test_retrieve_by_id_refuses_other_users_memories(ctx: ToolContext, store: MemoryStore,
                                                     namespaces: NamespaceManager) -> None:
    namespaces.create("alice-notes", "alice")
    namespaces.create("bob-notes", "bob")
    alices = store.store("alice-notes", "alice", "alice's secret plan")
    bobs = store.store("bob-notes", "bob", "bob's shopping list")
    reg = default_registry()
    out = reg.run("retrieve_memory", {"ids": [bobs]}, as_user(ctx, store, "bob"))
    assert out.success and [m["content"] for m in out.result] == ["bob's shopping list"]

    out = reg.run("retrieve_memory", {"ids": [bobs, alices]}, ctx)
    assert not out.success and [m["id"] for m in out.result] == [bobs]
    assert f"no memory that user 'bob' may read has id {alices}: it does not exist" in (out.error or "")
    assert "secret" not in out.model_dump_json()
    gone = "01890000-0000-7000-8000-000000000000"
    missing = reg.run("retrieve_memory", {"ids": [gone]}, ctx)
    assert missing.error == (out.error or "").replace(alices, gone)  # not yours reads exactly like missing

    alice = reg.run("retrieve_memory", {"ids": [alices]}, as_user(ctx, store, "alice"))
    assert alice.success and alice.result[0]["content"] == "alice's secret plan"


def test_retrieve_a_namespace_newest_first(ctx: ToolContext, store: MemoryStore, namespaces: NamespaceManager,
                                           db: Database) -> None:
    namespaces.create("journal", "alice")
    ids = [store.store("journal", "alice", f"entry {day}") for day in range(5)]
    for age, memory_id in enumerate(reversed(ids)):  # entry 4 is newest, entry 0 four days old
        db.execute("UPDATE memories SET created_at = now() - make_interval(days => %s) WHERE id = %s",
                   (age, memory_id))
    db.execute("UPDATE memories SET archived = true WHERE id = %s", (ids[3],))
    reg = default_registry()
    out = reg.run("retrieve_memory", {"namespace": "journal", "limit": 3}, as_user(ctx, store, "alice"))
    assert [m["content"] for m in out.result] == ["entry 4", "entry 2", "entry 1"]
    out = reg.run("retrieve_memory", {"namespace": "journal", "limit": 2, "include_archived": True}, ctx)
    assert [m["content"] for m in out.result] == ["entry 4", "entry 3"]

    refused = reg.run("retrieve_memory", {"namespace": "journal"}, as_user(ctx, store, "bob"))
    assert not refused.success and "may not read memory namespace 'journal'" in (refused.error or "")


def test_retrieve_needs_ids_or_namespace(ctx: ToolContext, store: MemoryStore) -> None:
    from cognitionos_dagster.errors import ToolError

    with pytest.raises(ToolError, match="give either ids or namespace, not both and not neither"):
        default_registry().run("retrieve_memory", {"ids": ["x"], "namespace": "journal"}, as_user(ctx, store, "a"))


def test_store_then_search_as_the_calling_user(ctx: ToolContext, store: MemoryStore,
                                               namespaces: NamespaceManager) -> None:
    namespaces.create("ops", "alice")
    reg = default_registry()
    stored = reg.run("store_memory", {"namespace": "ops", "content": "deploy uses blue green",
                                      "metadata": {"kind": "runbook"}}, as_user(ctx, store, "alice"))
    assert stored.success
    out = reg.run("search", {"query": "how does deploy work", "k": 1}, ctx)
    assert [h["id"] for h in out.result] == [stored.result] and out.result[0]["metadata"] == {"kind": "runbook"}
    denied = reg.run("store_memory", {"namespace": "ops", "content": "x"}, as_user(ctx, store, "mallory"))
    assert not denied.success and "PermissionDenied: no access: user 'mallory' may not write" in (denied.error or "")


def test_no_memory_provider_is_a_clear_failure(ctx: ToolContext) -> None:
    for tool, data in (("search", {"query": "q"}), ("retrieve_memory", {"namespace": "ops"})):
        out = default_registry().run(tool, data, ctx)
        assert not out.success
        assert f"{tool} needs a memory provider, and none is configured" in (out.error or "")
