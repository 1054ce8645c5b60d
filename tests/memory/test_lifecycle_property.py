"""Property: whatever the policy and the memories, a pass never loses or alters a memory it keeps."""

from __future__ import annotations

import itertools
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cognitionos_dagster.db.connection import Database
from cognitionos_dagster.memory.compression import compress_text, decompress_text
from cognitionos_dagster.memory.lifecycle import apply_policies
from cognitionos_dagster.memory.namespaces import NamespaceManager
from cognitionos_dagster.memory.store import MemoryStore

_counter = itertools.count()
days = st.one_of(st.none(), st.integers(min_value=0, max_value=60))
memory = st.tuples(
    st.text(min_size=1, max_size=300).filter(lambda t: "\x00" not in t),  # PostgreSQL text has no NUL
    st.integers(min_value=0, max_value=120),  # age in days
    st.integers(min_value=0, max_value=6),  # access count
)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(ttl=st.one_of(st.none(), st.integers(min_value=61, max_value=100)), compress=days, archive=days,
       min_access=st.one_of(st.none(), st.integers(min_value=0, max_value=5)),
       memories=st.lists(memory, min_size=1, max_size=8, unique_by=lambda m: m[0]))
def test_kept_memories_stay_retrievable_and_identical(
    db: Database, store: MemoryStore, namespaces: NamespaceManager, tmp_path: Path, backdate,
    ttl: int | None, compress: int | None, archive: int | None, min_access: int | None,
    memories: list[tuple[str, int, int]],
) -> None:
    n = next(_counter)
    policy_dir = tmp_path / f"p{n}"
    policy_dir.mkdir()
    fields = {"ttl_days": ttl, "compression_after_days": compress, "archive_after_days": archive,
              "min_access_frequency": min_access}
    (policy_dir / f"p{n}.yaml").write_text("".join(f"{k}: {v}\n" for k, v in fields.items() if v is not None))
    namespaces.policies_dir = policy_dir
    ns = f"prop-{n}"
    namespaces.create(ns, "alice", policy=f"p{n}")
    ids = {}
    for content, age, accesses in memories:
        ids[content] = store.store(ns, "alice", content)
        backdate([ids[content]], age + 0.5)
        db.execute("UPDATE memories SET access_count = %s WHERE id = %s", (accesses, ids[content]))

    apply_policies(db, namespace=ns, policies_directory=policy_dir)

    for content, age, accesses in memories:
        removed = ttl is not None and age + 0.5 >= ttl
        row = db.fetch_one("SELECT compressed, archived FROM memories WHERE id = %s", (ids[content],))
        assert (row is None) == removed
        if removed:
            continue
        assert row["compressed"] == (compress is not None and age + 0.5 >= compress)
        stale = archive is not None and age + 0.5 >= archive and (min_access is None or accesses < min_access)
        assert row["archived"] == stale
        assert store.inspect(ids[content], "alice").content == content
        hits = store.search(ns, "alice", content, k=len(memories), include_archived=True)
        assert content in [h.content for h in hits]
        assert decompress_text(compress_text(content)) == content
