"""Row-level security: user B never sees user A's namespace, through the API or raw SQL."""

from __future__ import annotations

import psycopg
import pytest

from cognitionos_dagster.db.connection import Database, connect
from cognitionos_dagster.errors import PermissionDenied
from cognitionos_dagster.memory.access import ensure_user
from cognitionos_dagster.memory.namespaces import NamespaceManager
from cognitionos_dagster.memory.store import MemoryStore


@pytest.fixture
def alice_memories(store: MemoryStore, namespaces: NamespaceManager) -> list[str]:
    namespaces.create("alice-private", "alice")
    namespaces.create("bob-private", "bob")
    ensure_user(store.db, "carol")
    return [store.store("alice-private", "alice", f"alice secret number {i}") for i in range(3)]


def test_api_denies_other_users(store: MemoryStore, alice_memories: list[str]) -> None:
    assert len(store.search("alice-private", "alice", "secret", k=10)) == 3
    with pytest.raises(PermissionDenied, match="no access: user 'bob' may not read"):
        store.search("alice-private", "bob", "secret")
    with pytest.raises(PermissionDenied, match="may not write"):
        store.store("alice-private", "bob", "bob was here")
    with pytest.raises(PermissionDenied):
        store.inspect(alice_memories[0], "bob")
    with pytest.raises(PermissionDenied):  # a user nobody created
        store.search("alice-private", "mallory", "secret")


def test_grants_read_then_write(store: MemoryStore, namespaces: NamespaceManager, alice_memories: list[str]) -> None:
    namespaces.grant("alice-private", "carol")
    assert {h.id for h in store.search("alice-private", "carol", "secret", k=10)} == set(alice_memories)
    with pytest.raises(PermissionDenied):
        store.store("alice-private", "carol", "carol note")
    namespaces.grant("alice-private", "carol", write=True)
    new_id = store.store("alice-private", "carol", "carol note")
    assert store.inspect(new_id, "alice").content == "carol note"
    namespaces.revoke("alice-private", "carol")
    with pytest.raises(PermissionDenied):
        store.search("alice-private", "carol", "secret")


def _as_app_role(db: Database, username: str) -> psycopg.Connection:
    uid = db.fetch_one("SELECT id::text AS id FROM users WHERE username = %s", (username,))["id"]
    conn = connect(db.url)
    conn.execute("SET ROLE cognitionos_app")
    conn.execute("SELECT set_config('cognitionos.user_id', %s, false)", (uid,))
    return conn


def test_raw_sql_as_app_role_sees_only_own_rows(db: Database, alice_memories: list[str]) -> None:
    alice_ns = db.fetch_one("SELECT id FROM memory_namespaces WHERE name = 'alice-private'")["id"]
    with _as_app_role(db, "bob") as conn:
        assert conn.execute("SELECT count(*) AS n FROM memories").fetchone()["n"] == 0
        assert conn.execute("SELECT count(*) AS n FROM memory_embeddings").fetchone()["n"] == 0
        assert [r["name"] for r in conn.execute("SELECT name FROM memory_namespaces").fetchall()] == ["bob-private"]
        assert conn.execute("SELECT count(*) AS n FROM memory_grants").fetchone()["n"] == 0
        # Even naming the rows by id, or writing into alice's namespace, is refused by the database.
        assert conn.execute("SELECT count(*) AS n FROM memories WHERE id = ANY(%s::uuid[])",
                            (alice_memories,)).fetchone()["n"] == 0
        assert conn.execute("UPDATE memories SET importance = 0 WHERE true").rowcount == 0
        assert conn.execute("DELETE FROM memory_embeddings WHERE true").rowcount == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            conn.execute("INSERT INTO memories (namespace_id, content, content_hash) VALUES (%s, 'x', repeat('0', 64))",
                         (alice_ns,))
    with _as_app_role(db, "alice") as conn:
        assert conn.execute("SELECT count(*) AS n FROM memories").fetchone()["n"] == 3
        assert conn.execute("SELECT count(*) AS n FROM memory_embeddings").fetchone()["n"] == 3


def test_app_role_without_a_user_sees_nothing(db: Database, alice_memories: list[str]) -> None:
    with connect(db.url) as conn:
        conn.execute("SET ROLE cognitionos_app")
        assert conn.execute("SELECT count(*) AS n FROM memories").fetchone()["n"] == 0
        assert conn.execute("SELECT count(*) AS n FROM memory_namespaces").fetchone()["n"] == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT * FROM memory_gc_audit")


def test_user_identity_does_not_leak_across_pooled_transactions(store: MemoryStore, alice_memories: list[str]) -> None:
    store.search("alice-private", "alice", "secret")
    for _ in range(3):  # every pooled connection is back to the owner role with no acting user
        with store.db.connection() as conn:
            row = conn.execute("SELECT current_user AS u, cognitionos_user() AS acting").fetchone()
            assert row["u"] != "cognitionos_app" and row["acting"] is None


def test_missing_app_role_privileges_give_a_fix(store: MemoryStore, alice_memories: list[str], db: Database) -> None:
    from cognitionos_dagster.errors import MemoryStoreError

    db.execute("REVOKE SELECT ON memories FROM cognitionos_app")
    with pytest.raises(MemoryStoreError, match="cannot act as the role cognitionos_app") as err:
        store.search("alice-private", "alice", "secret")
    assert "cognos db upgrade" in str(err.value)


def _search_call(conn: psycopg.Connection, user: str, namespace_id: str, *, exact: bool) -> list[str]:
    """Call the server-side search directly, as the store does, querying with a stored embedding."""
    user_id = conn.execute("SELECT id FROM users WHERE username = %s", (user,)).fetchone()["id"]
    rows = conn.execute(
        "SELECT id FROM cognitionos_search_memories(%s, %s, (SELECT embedding FROM memory_embeddings LIMIT 1),"
        " 10, 40, p_exact => %s)",
        (user_id, namespace_id, exact),
    ).fetchall()
    return sorted(r["id"] for r in rows)


@pytest.mark.parametrize("exact", [False, True])
def test_search_function_applies_row_level_security(db: Database, alice_memories: list[str], exact: bool) -> None:
    alice_ns = db.fetch_one("SELECT id FROM memory_namespaces WHERE name = 'alice-private'")["id"]
    with connect(db.url) as conn:
        assert _search_call(conn, "alice", alice_ns, exact=exact) == sorted(alice_memories)
        assert _search_call(conn, "bob", alice_ns, exact=exact) == []
        assert _search_call(conn, "carol", alice_ns, exact=exact) == []


def test_search_function_gives_the_callers_identity_back(db: Database, alice_memories: list[str]) -> None:
    alice_ns = db.fetch_one("SELECT id FROM memory_namespaces WHERE name = 'alice-private'")["id"]
    with connect(db.url) as conn:  # one transaction around the call and what follows it
        before = conn.execute("SELECT current_user AS u").fetchone()["u"]
        assert len(_search_call(conn, "alice", alice_ns, exact=False)) == 3
        row = conn.execute("SELECT current_user AS u, cognitionos_user() AS acting").fetchone()
        assert row == {"u": before, "acting": None}
        assert conn.execute("SELECT count(*) AS n FROM memories").fetchone()["n"] == 3  # the owner's view again
