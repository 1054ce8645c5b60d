"""Memory benchmark: bulk ingest, top-10 search latency and recall, and a lifecycle pass at scale.

    .venv/bin/python -m bench.bench_memory            # 100k memories, 1M-row lifecycle pass
    .venv/bin/python -m bench.bench_memory --quick    # 10k memories, 100k-row lifecycle pass

Data are realistic and clustered (uniform random vectors are HNSW's known worst case): each
memory is a sentence about one of 200 topics, built from that topic's vocabulary plus
common words and a ticket number, embedded by the local embedder. Recall@10 is measured
against exact (numpy brute-force) search over the same embeddings. The lifecycle pass runs
over generated rows of the same shape (384-d embedding, ~150-byte text) in 20 namespaces
under the shipped `standard` policy, twice: rows in arrival order (oldest first, as an
append-only store holds them; the targets are held to this one) and interleaved so every
step touches every page (the worst case, reported beside it). The row-by-row baseline runs
on a sample in the same database and is extrapolated linearly (said in the output).
Everything runs in throw-away databases on the bench server (see bench/_common.py).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
from pgvector.psycopg import register_vector

from bench._common import Verdicts, table, temp_database
from cognitionos_dagster.db import huge_pages
from cognitionos_dagster.db.connection import Database, connect
from cognitionos_dagster.llm.local_embedding import LocalEmbedder
from cognitionos_dagster.memory.compression import compress_text
from cognitionos_dagster.memory.lifecycle import apply_policies
from cognitionos_dagster.memory.namespaces import NamespaceManager
from cognitionos_dagster.memory.policies import sync_policies
from cognitionos_dagster.memory.store import MemoryStore

COMMON = (
    "the", "a", "of", "to", "and", "in", "for", "on", "with", "when", "after", "before", "because", "during",
    "was", "is", "were", "has", "had", "team", "agent", "service", "user", "run", "step", "result", "failed",
    "passed", "update", "plan", "review", "note",
)


def corpus(n: int, rng: np.random.Generator, topics: int = 200) -> tuple[list[str], np.ndarray]:
    """n sentences, each about one topic; returns the texts and each text's topic."""
    lexicon = [f"{a}{b}{c}" for a in ("ka", "lo", "mi", "su", "te", "ra", "no", "vi")
               for b in ("ber", "dan", "fel", "gor", "hin", "jul", "kem", "lor", "mas", "nip")
               for c in ("ax", "el", "ix", "on", "us", "ar", "or", "en", "id", "um")]
    vocab = [rng.choice(lexicon, size=25, replace=False) for _ in range(topics)]
    topic_of = rng.integers(0, topics, size=n)
    texts = []
    for i, t in enumerate(topic_of):
        words = list(rng.choice(vocab[t], size=int(rng.integers(6, 12)))) + list(
            rng.choice(COMMON, size=int(rng.integers(6, 12))))
        rng.shuffle(words)
        texts.append(" ".join(words) + f" ticket {i}")
    return texts, topic_of


def bench_ingest(n: int, queries: int, verdicts: Verdicts) -> None:
    rng = np.random.default_rng(7)
    memories, _ = corpus(n, rng)
    with temp_database(migrated=True) as url:
        db = Database(url)
        NamespaceManager(db).create("bench", "bench-user")
        embedder = LocalEmbedder(384)
        store = MemoryStore(db, embedder, batch_size=10_000)

        started = time.perf_counter()
        embedder.embed(memories)
        embed_s = time.perf_counter() - started
        started = time.perf_counter()
        result = store.add_many("bench", "bench-user", memories, defer_index=True)
        total_s = time.perf_counter() - started
        build_s = store.last_index_build_seconds
        load_s = total_s - build_s
        live_n = min(500, n // 20)
        live_texts = [f"live insert {i} " + memories[i] for i in range(live_n)]
        started = time.perf_counter()
        store.add_many("bench", "bench-user", live_texts, defer_index=False)
        live_rate = live_n / (time.perf_counter() - started)
        table("Ingest", ("phase", "memories", "seconds", "memories/s"), [
            ("embed only (LocalEmbedder)", n, embed_s, f"{n / embed_s:,.0f}"),
            ("add_many: embed + COPY + merge", result.inserted, load_s, f"{n / load_s:,.0f}"),
            ("HNSW build after the load", n, build_s, f"{n / build_s:,.0f}"),
            ("end to end incl. index build", n, total_s, f"{n / total_s:,.0f}"),
            ("baseline: insert with live HNSW index", live_n, live_n / live_rate, f"{live_rate:,.0f}"),
        ])
        verdicts.check("bulk ingest incl. embedder >= 5,000/s", n / load_s >= 5000, f"{n / load_s:,.0f}/s")
        verdicts.check("bulk ingest incl. embedder and index build >= 5,000/s", n / total_s >= 5000,
                       f"{n / total_s:,.0f}/s")
        print(f"  deferred-index load vs live-index inserts: {(n / total_s) / live_rate:.0f}x")

        store.close()


class ClusteredEmbedder:
    """Dense, clustered vectors like a real embedding model's, built from the structure such spaces have.

    A vector is the sum of unit directions: one shared by every text (real models' embeddings
    are anisotropic: unrelated sentences still score ~0.1-0.2), its topic's, its sub-topic's (ten
    per topic: the few memories about the same thing) and its own. So a query has a handful of
    clearly close memories, then its topic, then the rest, as with real text. An earlier version
    put every memory of a topic at the same distance from the topic's centre (isotropic noise
    in 384 dimensions); a query then had ~100 near-ties and the top 10 among them was decided by
    noise, which is neither realistic nor what the issue's reference figures were measured on.

    The local hashing embedder (measured in the ingest part) makes sparse vectors with little
    cluster structure, the geometry TRAPS.md warns says nothing about ANN search. Every vector is
    computed up front, so `embed` is a lookup: the search figures are the store's own time, not
    this stand-in's (a real model's embedding time comes on top of them).
    """

    name = "bench-clustered"
    WEIGHTS = (0.45, 0.75, 0.6, 0.55)  # shared, topic, sub-topic, own

    def __init__(self, dim: int, texts: Sequence[str], topic_of: Sequence[int], topics: int,
                 subtopics: int = 10) -> None:
        self.dim = dim
        rng = np.random.default_rng(11)

        def directions(count: int) -> np.ndarray:
            d = rng.normal(size=(count, dim)).astype(np.float32)
            return d / np.linalg.norm(d, axis=1, keepdims=True)

        topic = np.asarray(topic_of)
        sub = topic * subtopics + rng.integers(0, subtopics, size=len(texts))
        shared, own = self.WEIGHTS[0], self.WEIGHTS[3]
        vectors = (shared * directions(1) + self.WEIGHTS[1] * directions(topics)[topic]
                   + self.WEIGHTS[2] * directions(topics * subtopics)[sub] + own * directions(len(texts)))
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        self.vectors = dict(zip(texts, vectors, strict=True))

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self.vectors[t] for t in texts])


def bench_search(n: int, queries: int, verdicts: Verdicts) -> None:
    rng = np.random.default_rng(7)
    topics = max(50, n // 100)
    warmup = 200
    texts, topic_ids = corpus(n + warmup + queries, rng, topics=topics)
    memories, warm, probes = texts[:n], texts[n:n + warmup], texts[n + warmup:]
    embedder = ClusteredEmbedder(384, texts, [int(t) for t in topic_ids], topics)
    vectors = embedder.embed(memories)
    with temp_database(migrated=True) as url:
        db = Database(url)
        NamespaceManager(db).create("bench", "bench-user")
        store = MemoryStore(db, embedder, batch_size=10_000)
        store.add_many("bench", "bench-user", memories, defer_index=True)
        # Steady state, as a store is some minutes after a bulk load: autovacuum has set the rows'
        # visibility and hint bits (the first read of a fresh row checks its transaction's commit).
        with connect(url, autocommit=True) as conn:
            conn.execute("VACUUM (ANALYZE) memories, memory_embeddings")
            pages = huge_pages.probe(conn)
        query_vectors, warm_vectors = embedder.embed(probes), embedder.embed(warm)
        exact = _exact_top10(vectors, query_vectors)
        sims = -np.sort(-(query_vectors[:256] @ vectors.T), axis=1)
        print(f"\n(dataset: {n:,} memories in {topics:,} topics; a query's 1st / 10th / 11th / 100th most similar "
              f"memory: {sims[:, 0].mean():.2f} / {sims[:, 9].mean():.2f} / {sims[:, 10].mean():.2f} / "
              f"{sims[:, 99].mean():.2f} cosine on average; the server's shared memory on huge pages: "
              f"{pages.advice()})")
        efs = (32, 40, 48, 64, 100)
        with connect(url, autocommit=True) as bare:
            register_vector(bare)
            for ef in efs:  # warm-up on other queries than the measured ones
                store.ef_search = ef
                bare.execute(f"SET hnsw.ef_search = {ef}")
                for q, v in zip(warm, warm_vectors, strict=True):
                    store.search("bench", "bench-user", q, k=10)
                    bare.execute(_BARE_QUERY, (v,)).fetchall()
            lat: dict[int, list[float]] = {ef: [] for ef in efs}
            bare_lat: dict[int, list[float]] = {ef: [] for ef in efs}
            recall: dict[int, list[float]] = {ef: [] for ef in efs}
            # The ef values take turns, 50 queries at a time, the store's and then the bare index query's,
            # so a noisy minute on this VM falls on all of them alike.
            for start in range(0, queries, 50):
                block = range(start, min(start + 50, queries))
                for ef in efs:
                    store.ef_search = ef
                    for qi in block:
                        t0 = time.perf_counter()
                        hits = store.search("bench", "bench-user", probes[qi], k=10)
                        lat[ef].append(time.perf_counter() - t0)
                        # A hit is right when its exact similarity reaches the 10th best one's (ties count).
                        right = [h for h in hits if h.similarity is not None and h.similarity >= exact[qi] - 1e-5]
                        recall[ef].append(min(len(right), 10) / 10)
                    bare.execute(f"SET hnsw.ef_search = {ef}")
                    for qi in block:
                        t0 = time.perf_counter()
                        bare.execute(_BARE_QUERY, (query_vectors[qi],)).fetchall()
                        bare_lat[ef].append(time.perf_counter() - t0)
            ping = _timed(bare, "SELECT 1", [None] * queries)
            bare.execute("SET hnsw.ef_search = 40")
            inside = _inside_server(bare, query_vectors[:300])
        rows = []
        chosen = None
        for ef in efs:
            p50, p95 = _percentiles(lat[ef])
            b50, b95 = _percentiles(bare_lat[ef])
            r = float(np.mean(recall[ef]))
            rows.append((ef, f"{p50:.2f}", f"{p95:.2f}", f"{r:.3f}", f"{b50:.2f}", f"{b95:.2f}", f"{p95 / b95:.2f}x"))
            if chosen is None and r >= 0.98:
                chosen = (ef, p95, r)
        table(f"Top-10 search ({queries} queries, {n:,} memories, ef values and both columns interleaved)",
              ("hnsw.ef_search", "store p50 ms", "store p95 ms", "recall@10", "bare p50 ms", "bare p95 ms",
               "p95 store/bare"), rows)
        print(f"  store: MemoryStore.search end to end. bare: the HNSW query alone (superuser, ids only, no row-level\n"
              f"  security, no join, no rows to decode). The round trip alone (SELECT 1): p50 {ping[0]:.2f} / p95 "
              f"{ping[1]:.2f} ms.\n"
              f"  The index query inside the server at ef_search 40 (EXPLAIN ANALYZE: no client, no network): p50 "
              f"{inside[0]:.2f} / p95 {inside[1]:.2f} ms, {inside[2]:.0f} buffers a query: the floor under the store.")
        if chosen is None:
            verdicts.check("top-10 p95 <= 2 ms at recall@10 >= 0.98", False, "recall < 0.98 at every ef tried")
        else:
            ef, p95, r = chosen
            verdicts.check("top-10 p95 <= 2 ms at recall@10 >= 0.98", p95 <= 2.0,
                           f"ef_search={ef}: p95 {p95:.2f} ms, recall {r:.3f}")
        store.close()


_BARE_QUERY = "SELECT memory_id FROM memory_embeddings ORDER BY embedding <=> %b LIMIT 10"


def _percentiles(seconds: list[float]) -> tuple[float, float]:
    """p50 and p95 in milliseconds."""
    p50, p95 = (float(np.percentile(seconds, p)) * 1000 for p in (50, 95))
    return p50, p95


def _timed(conn: Any, sql: str, params: list[Any]) -> tuple[float, float]:
    lat = []
    for p in params:
        t0 = time.perf_counter()
        conn.execute(sql, p).fetchall()
        lat.append(time.perf_counter() - t0)
    return _percentiles(lat)


def _inside_server(conn: Any, vectors: np.ndarray) -> tuple[float, float, float]:
    """The bare index query's execution time as the server measures it (p50, p95 ms) and its buffers a query.

    Why: on a VM the client's figures move with every wake-up of an idle vCPU; this is the part
    no client code can remove, so it shows how much of a miss is the index walk itself.
    """
    times, buffers = [], []
    for v in vectors:
        row = conn.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + _BARE_QUERY, (v,)).fetchone()
        plan = (row["QUERY PLAN"] if isinstance(row, dict) else row[0])[0]
        times.append(plan["Execution Time"])
        buffers.append(plan["Plan"].get("Shared Hit Blocks", 0) + plan["Plan"].get("Shared Read Blocks", 0))
    p50, p95 = (float(x) for x in np.percentile(times, [50, 95]))
    return p50, p95, float(np.mean(buffers))


def _exact_top10(vectors: np.ndarray, queries: np.ndarray) -> list[float]:
    """The exact 10th-best cosine similarity of each query (brute force over every memory)."""
    out: list[float] = []
    for start in range(0, len(queries), 256):
        sims = queries[start:start + 256] @ vectors.T
        out.extend(float(x) for x in -np.partition(-sims, 9, axis=1)[:, 9])
    return out


_GENERATE = """
WITH generated AS (
    INSERT INTO memories (namespace_id, owner_user_id, content, content_compressed, compressed, content_bytes,
                          content_hash, importance, access_count, created_at, last_accessed_at)
    SELECT ns.id, %(user)s, CASE WHEN c.pre_compressed THEN NULL ELSE b.text || ' #' || i END,
           CASE WHEN c.pre_compressed THEN b.blob END, c.pre_compressed, octet_length(b.text) + 8,
           md5(i::text) || md5((i + 1)::text), 0.5, c.accesses,
           now() - make_interval(secs => ({age}) * 86400),
           CASE WHEN c.accesses >= 3 THEN now() - interval '1 day' END
    FROM generate_series(%(first)s::int, %(last)s::int) AS i
    JOIN bench_classes c ON c.k = {klass}
    JOIN bench_texts b ON b.k = i %% 16
    JOIN memory_namespaces ns ON ns.name = %(ns_prefix)s || (i %% %(namespaces)s)
    ORDER BY i
    RETURNING id, namespace_id
)
INSERT INTO memory_embeddings (memory_id, namespace_id, embedding)
SELECT g.id, g.namespace_id, (SELECT v.v FROM bench_vectors v WHERE v.k = abs(hashtext(g.id::text)) %% 16)
FROM generated g
"""
# Rows are written in the order of i, memories and embeddings alike, as `MemoryStore.add_many` writes
# a batch. Without the ORDER BY and with a join to the 16 vectors, the planner hashed the series and
# the new rows and wrote each 200k batch grouped by i % 16: every class was spread over its batch's
# pages, and GC dirtied 36k embedding pages where the layout it describes has 20k.

# Class k -> (age range in days, already compressed by earlier passes, access count, and in the
# arrival layout the slice of rows it occupies): with `standard` (ttl 365, compress 30, archive 90
# unless read 3x) a pass expires+collects 10 %, compresses 10 %, archives 30 %, leaves 50 % alone.
_CLASSES = [(0, 365, 400, False, 0, 0.0, 0.1)] + [(k, 90, 360, True, 1, 0.1, 0.5) for k in (1, 2, 3)] + [
    (4, 31, 88, False, 0, 0.5, 0.6), (5, 90, 360, True, 5, 0.1, 0.5)] + [
    (k, 0, 29, False, 0, 0.6, 1.0) for k in (6, 7, 8, 9)]
# Two physical layouts of the same rows. `arrival`: memories stored in the order they were
# written, oldest first, as an append-only store holds them; the rarely read ones among old
# memories are spread at random. `interleaved`: every class on every page, so each step
# touches every page of the table (the worst case for I/O).
_LAYOUTS = {
    "arrival": (
        "CASE WHEN (i - 1)::float8 / %(n)s < 0.1 THEN 0 WHEN (i - 1)::float8 / %(n)s < 0.5 THEN"
        " (CASE WHEN (i / 20) %% 4 = 0 THEN 5 ELSE 1 END) WHEN (i - 1)::float8 / %(n)s < 0.6 THEN 4 ELSE 6 END",
        "c.age_to - ((i - 1)::float8 / %(n)s - c.p_lo) / (c.p_hi - c.p_lo) * (c.age_to - c.age_from)",
    ),
    "interleaved": ("i %% 10", "c.age_from + random() * (c.age_to - c.age_from)"),
}


def _one(db: Database, sql: str, params: Any = None) -> dict[str, Any]:
    row = db.fetch_one(sql, params)
    if row is None:
        raise LookupError(f"no row for {sql!r}")  # the seed data is missing: run the migrations
    return row


def _populate(db: Database, n: int, prefix: str, namespaces: int, layout: str) -> None:
    rng = np.random.default_rng(3)
    user = _one(db, "INSERT INTO users (username) VALUES (%s) RETURNING id", (f"{prefix}owner",))["id"]
    policy = _one(db, "SELECT id FROM memory_lifecycle_policies WHERE name = 'standard'")["id"]
    texts = corpus(16, rng)[0]
    vectors = LocalEmbedder(384).embed(texts)
    with db.connection() as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_classes (k int, age_from float8, age_to float8, "
                     "pre_compressed bool, accesses int, p_lo float8, p_hi float8)")
        conn.execute("CREATE TABLE IF NOT EXISTS bench_vectors (k int, v vector(384))")
        conn.execute("CREATE TABLE IF NOT EXISTS bench_texts (k int, text text, blob bytea)")
        conn.execute("TRUNCATE bench_classes, bench_vectors, bench_texts")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO bench_classes VALUES (%s, %s, %s, %s, %s, %s, %s)", _CLASSES)
            cur.executemany("INSERT INTO bench_vectors VALUES (%s, %s)", list(enumerate(vectors)))
            cur.executemany("INSERT INTO bench_texts VALUES (%s, %s, %s)",
                            [(k, t, compress_text(t)) for k, t in enumerate(texts)])
        for j in range(namespaces):
            conn.execute("INSERT INTO memory_namespaces (name, owner_user_id, policy_id) VALUES (%s, %s, %s)",
                         (f"{prefix}{j}", user, policy))
    klass, age = _LAYOUTS[layout]
    sql = _GENERATE.format(klass=klass, age=age)
    step = 200_000
    for first in range(1, n + 1, step):
        db.execute(sql, {"user": user, "first": first, "last": min(n, first + step - 1), "n": n,
                         "ns_prefix": prefix, "namespaces": namespaces})


def row_by_row(db: Database, namespace: str, now: datetime) -> int:
    """The baseline: read every memory, decide in Python, one UPDATE/DELETE per changed memory."""
    p = _one(db, "SELECT p.* FROM memory_namespaces n JOIN memory_lifecycle_policies p ON p.id = n.policy_id "
                     "WHERE n.name = %s", (namespace,))
    changed = 0
    with db.connection() as conn:
        rows = conn.execute(
            "SELECT m.id, m.content, m.created_at, m.last_accessed_at, m.access_count, m.compressed, m.archived "
            "FROM memories m JOIN memory_namespaces n ON n.id = m.namespace_id WHERE n.name = %s", (namespace,)
        ).fetchall()
        for r in rows:
            age = (now - r["created_at"]).total_seconds() / 86400
            idle = (now - (r["last_accessed_at"] or r["created_at"])).total_seconds() / 86400
            if age >= p["ttl_days"]:
                conn.execute("DELETE FROM memories WHERE id = %s", (r["id"],))
                changed += 1
                continue
            if not r["compressed"] and age >= p["compression_after_days"]:
                conn.execute("UPDATE memories SET content_compressed = %s, content = NULL, compressed = true "
                             "WHERE id = %s", (compress_text(r["content"]), r["id"]))
                changed += 1
            if not r["archived"] and idle >= p["archive_after_days"] and r["access_count"] < p["min_access_frequency"]:
                conn.execute("UPDATE memories SET archived = true WHERE id = %s", (r["id"],))
                changed += 1
    return changed


def bench_lifecycle(n: int, sample: int, layout: str, verdicts: Verdicts | None) -> None:
    """One full pass over `n` memories in `layout`; verdicts only for the layout the targets are held to."""
    with temp_database(migrated=True) as url:
        db = Database(url)
        sync_policies(db)
        db.execute("DROP INDEX idx_memory_embeddings_hnsw")  # lifecycle never reads it; building it costs minutes
        started = time.perf_counter()
        _populate(db, n, "life-", 20, layout)
        _populate(db, sample, "base-", 1, layout)
        with connect(url, autocommit=True) as conn:
            conn.execute("VACUUM (ANALYZE) memories, memory_embeddings")
            conn.execute("CHECKPOINT")
        setup_s = time.perf_counter() - started
        print(f"\n(setup: {n + sample:,} generated memories, {layout} layout, in {setup_s:.0f} s)")

        now = datetime.now(UTC)
        started = time.perf_counter()
        base_changed = row_by_row(db, "base-0", now)
        base_s = time.perf_counter() - started
        dry = apply_policies(db, namespace="life-0", dry_run=True)
        with connect(url, autocommit=True) as conn:
            conn.execute("CHECKPOINT")  # the pass pays for full-page images of every page it touches first
        started = time.perf_counter()
        report = apply_policies(db)
        pass_s = time.perf_counter() - started
        rows = [(s.step, s.rows, f"{100 * s.rows / n:.0f} %", s.seconds) for s in report.steps]
        rows.append(("whole pass (incl. policy sync, lock, run records)", report.changed, "", pass_s))
        table(f"Lifecycle pass over {n:,} memories, {layout} layout (set-based SQL, 20 namespaces; "
              "GC runs beside compress and archive and removes the expired)",
              ("step", "memories", "share", "seconds"), rows)
        extrapolated = base_s / sample * n
        print(f"  row-by-row baseline: {sample:,} memories ({base_changed:,} changes) in {base_s:.2f} s"
              f" -> extrapolated linearly to {n:,}: {extrapolated:.1f} s")
        print(f"  dry run of one namespace predicted {dry.changed:,} changes in {dry.seconds:.2f} s")
        ratio = extrapolated / pass_s
        print(f"  {layout}: pass {pass_s:.2f} s, {ratio:.0f}x the row-by-row baseline")
        if verdicts is not None:
            verdicts.check(f"lifecycle pass over {n:,} <= 5 s ({layout} layout)", pass_s <= 5.0, f"{pass_s:.2f} s")
            verdicts.check("lifecycle >= 20x faster than row-by-row", ratio >= 20, f"{ratio:.0f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smoke run: 10k memories, 100k-row lifecycle")
    args = parser.parse_args()
    n, queries, life, sample = (10_000, 200, 100_000, 5_000) if args.quick else (100_000, 1_000, 1_000_000, 20_000)
    verdicts = Verdicts()
    bench_ingest(n, queries, verdicts)
    bench_search(n, queries, verdicts)
    bench_lifecycle(life, sample, "arrival", verdicts)
    bench_lifecycle(life, sample, "interleaved", None)  # the worst case, reported beside it
    verdicts.exit(quick=args.quick)


if __name__ == "__main__":
    main()
