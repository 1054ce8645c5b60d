from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from cognitionos_dagster.db.connection import Database, connect
from cognitionos_dagster.errors import MemoryStoreError
from cognitionos_dagster.memory.lifecycle import _lock_key, apply_policies
from cognitionos_dagster.memory.models import MemoryItem
from cognitionos_dagster.memory.namespaces import NamespaceManager
from cognitionos_dagster.memory.store import MemoryStore


@pytest.fixture
def aged(store: MemoryStore, namespaces: NamespaceManager, backdate) -> dict[str, str]:
    """One memory per fate under the `standard` policy (ttl 365, compress 30, archive 90 unless read 3x)."""
    namespaces.create("team", "alice", policy="standard")
    namespaces.create("nopolicy", "alice")
    fates = {
        "fresh": (1, None), "compress": (40, None), "archive": (100, None),
        "busy": (100, 2), "expire": (400, None),
    }
    ids = {}
    for fate, (days, accessed) in fates.items():
        ids[fate] = store.store("team", "alice", f"a memory whose fate is {fate} " * 3)
        backdate([ids[fate]], days, accessed_days=accessed)
    store.db.execute("UPDATE memories SET access_count = 5 WHERE id = %s", (ids["busy"],))
    old = store.store("nopolicy", "alice", "an old memory nobody manages")
    backdate([old], 1000)
    store.add_many("team", "alice", [MemoryItem(content="expires by itself",
                                                expires_at=datetime.now(UTC) - timedelta(hours=1))])
    return ids


def _state(db: Database) -> dict[str, tuple]:
    rows = db.fetch_all("SELECT content, content_compressed, compressed, archived, expires_at, id::text AS id "
                        "FROM memories ORDER BY id")
    return {r["id"]: (r["content"], bytes(r["content_compressed"] or b""), r["compressed"], r["archived"],
                      r["expires_at"]) for r in rows}


def _digest(db: Database) -> str:
    return hashlib.sha256(repr(sorted(_state(db).items())).encode()).hexdigest()


def test_pass_expires_compresses_archives_and_collects(db: Database, store: MemoryStore, aged: dict[str, str]) -> None:
    report = apply_policies(db)
    assert {s.step: s.rows for s in report.steps} == {"expire": 1, "compress": 3, "archive": 1, "gc": 2}
    state = _state(db)
    assert aged["expire"] not in state and len(state) == 5  # 4 kept in team + the unmanaged one
    assert state[aged["fresh"]][2:4] == (False, False)
    assert state[aged["compress"]][2:4] == (True, False)
    assert state[aged["archive"]][2:4] == (True, True)
    assert state[aged["busy"]][2:4] == (True, False)  # read recently and often: not stale
    audit = db.fetch_all("SELECT namespace, policy, reason, removed_count, run_id::text AS run FROM memory_gc_audit")
    assert audit == [{"namespace": "team", "policy": "standard", "reason": "ttl", "removed_count": 2,
                      "run": report.run_id}]
    for fate in ("compress", "archive", "busy"):
        assert store.inspect(aged[fate], "alice").content == f"a memory whose fate is {fate} " * 3
    assert report.step("compress").bytes_saved > 0
    run = db.fetch_one("SELECT status, steps_done FROM memory_lifecycle_runs WHERE id = %s", (report.run_id,))
    # GC runs beside compress and archive and removes what is past its TTL directly.
    assert run["status"] == "succeeded" and sorted(run["steps_done"]) == ["archive", "compress", "expire", "gc"]
    assert [s.step for s in report.steps] == ["expire", "compress", "archive", "gc"]


def test_dry_run_changes_nothing_and_predicts_the_real_run(db: Database, aged: dict[str, str]) -> None:
    before = _digest(db)
    dry = apply_policies(db, dry_run=True)
    assert _digest(db) == before
    assert db.fetch_one("SELECT count(*) AS n FROM memory_lifecycle_runs")["n"] == 0
    real = apply_policies(db)
    assert [(s.step, s.rows, s.by_namespace) for s in dry.steps] == [
        (s.step, s.rows, s.by_namespace) for s in real.steps
    ]
    assert [s.rows for s in real.steps] == [1, 3, 1, 2]


def test_expire_alone_marks_and_a_later_gc_removes(db: Database, store: MemoryStore, aged: dict[str, str]) -> None:
    expired = apply_policies(db, steps=["expire"])
    assert expired.step("expire").rows == 1
    marked = db.fetch_one("SELECT expires_at, created_at FROM memories WHERE id = %s", (aged["expire"],))
    assert marked["expires_at"] - marked["created_at"] == timedelta(days=365)
    assert aged["expire"] not in {h.id for h in store.search("team", "alice", "fate is expire", k=10)}
    assert apply_policies(db, steps=["expire"]).changed == 0
    gc = apply_policies(db, steps=["gc"])
    assert gc.step("gc").rows == 2 and [s.step for s in gc.steps] == ["gc"]
    assert db.fetch_one("SELECT count(*) AS n FROM memories WHERE id = %s", (aged["expire"],))["n"] == 0


def test_rerun_is_idempotent(db: Database, aged: dict[str, str]) -> None:
    apply_policies(db)
    state = _state(db)
    again = apply_policies(db)
    assert again.changed == 0 and _state(db) == state
    assert db.fetch_one("SELECT count(*) AS n FROM memory_gc_audit")["n"] == 1


def test_interrupted_pass_is_completed_by_the_next(db: Database, store: MemoryStore, namespaces: NamespaceManager,
                                                   backdate) -> None:
    namespaces.create("big", "alice", policy="standard")
    texts = [f"memory {i} of a long project log" for i in range(40)]
    store.add_many("big", "alice", texts)
    backdate([r["id"] for r in db.fetch_all("SELECT id::text AS id FROM memories")], 50)

    def crash(step: str, n: int) -> None:
        if step == "compress":
            raise KeyboardInterrupt("killed half-way")

    with pytest.raises(KeyboardInterrupt):
        apply_policies(db, chunk_size=15, on_progress=crash)
    assert db.fetch_one("SELECT count(*) FILTER (WHERE compressed) AS n FROM memories")["n"] == 15
    failed = db.fetch_one("SELECT status, steps_done, error FROM memory_lifecycle_runs")
    assert failed["status"] == "failed" and "compress" not in failed["steps_done"] and "killed" in failed["error"]

    second = apply_policies(db, chunk_size=15)
    assert second.step("compress").rows == 25  # only what the first pass had not done
    assert db.fetch_one("SELECT count(*) FILTER (WHERE compressed) AS n FROM memories")["n"] == 40
    assert sorted(h.content for h in store.search("big", "alice", "memory project log", k=40)) == sorted(texts)


def test_gc_failing_beside_compress_fails_the_run_and_a_rerun_completes(
    db: Database, store: MemoryStore, aged: dict[str, str]
) -> None:
    db.execute("ALTER TABLE memory_gc_audit ADD CONSTRAINT refuse_all CHECK (false) NOT VALID")
    with pytest.raises(Exception, match="refuse_all"):
        apply_policies(db)
    run = db.fetch_one("SELECT status, steps_done, error FROM memory_lifecycle_runs")
    assert run["status"] == "failed" and "refuse_all" in run["error"]
    assert "gc" not in run["steps_done"] and "expire" not in run["steps_done"]
    assert aged["expire"] in _state(db)  # GC's statement rolled back whole: nothing removed, no audit
    assert _state(db)[aged["compress"]][2] is True  # compress, beside it, finished and committed

    db.execute("ALTER TABLE memory_gc_audit DROP CONSTRAINT refuse_all")
    again = apply_policies(db)
    assert {s.step: s.rows for s in again.steps} == {"expire": 1, "compress": 0, "archive": 0, "gc": 2}
    assert aged["expire"] not in _state(db)


def test_pass_of_a_killed_process_is_reported_and_completed(db: Database, aged: dict[str, str]) -> None:
    dead = db.fetch_one("INSERT INTO memory_lifecycle_runs (namespace, steps_done) VALUES (NULL, '{expire}') "
                        "RETURNING id::text AS id")["id"]
    report = apply_policies(db)
    assert report.resumed_runs == [dead]
    assert db.fetch_one("SELECT status FROM memory_lifecycle_runs WHERE id = %s", (dead,))["status"] == "failed"


def test_a_second_concurrent_pass_is_refused(db: Database, aged: dict[str, str]) -> None:
    with connect(db.url, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", (_lock_key("team"),))
        with pytest.raises(MemoryStoreError, match="already running on namespace 'team'"):
            apply_policies(db, namespace="team")
    assert apply_policies(db, namespace="team").changed > 0


def test_gc_only_removes_what_a_policy_allows(db: Database, store: MemoryStore, namespaces: NamespaceManager,
                                              backdate) -> None:
    namespaces.create("keep", "alice", policy="long_term")  # no ttl_days
    namespaces.create("unmanaged", "alice")
    past = datetime.now(UTC) - timedelta(days=1)
    for ns in ("keep", "unmanaged"):
        store.add_many(ns, "alice", [MemoryItem(content=f"expired in {ns}", expires_at=past)])
    backdate([r["id"] for r in db.fetch_all("SELECT id::text AS id FROM memories")], 3000)
    report = apply_policies(db)
    assert report.step("gc").rows == 0 and report.step("expire").rows == 0
    assert db.fetch_one("SELECT count(*) AS n FROM memories")["n"] == 2


def test_unknown_namespace_and_step(db: Database) -> None:
    with pytest.raises(MemoryStoreError, match="unknown memory namespace"):
        apply_policies(db, namespace="ghost")
    with pytest.raises(MemoryStoreError, match="unknown lifecycle step"):
        apply_policies(db, steps=["defrag"])
