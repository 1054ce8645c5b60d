"""Model summaries of compressed memories: the real client against a local OpenAI-compatible server, real PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from support.openai_server import OpenAIServer, RecordedRequest, Reply, chat_reply, error_reply

from cognitionos_dagster.db.connection import Database
from cognitionos_dagster.errors import MemoryStoreError
from cognitionos_dagster.llm.client import ModelClient
from cognitionos_dagster.memory.compression import decompress_text
from cognitionos_dagster.memory.lifecycle import apply_policies
from cognitionos_dagster.memory.namespaces import NamespaceManager
from cognitionos_dagster.memory.store import MemoryStore
from cognitionos_dagster.memory.summaries import model_summarizer, summarize_compressed

TEXTS = {
    "digest": ["the deploy of 1.4 failed on the migration lock", "we rolled back at 14:02 and paged the DBA",
               "postmortem: add a lock timeout to every migration"],
    "plain": ["a memory whose policy compresses but never summarizes", "another one like it"],
}


@pytest.fixture
def policies(tmp_path: Path) -> Path:
    (tmp_path / "digest.yaml").write_text("compression_after_days: 1\nsummarize: true\nsummary_model: summ-1\n")
    (tmp_path / "plain.yaml").write_text("compression_after_days: 1\n")
    return tmp_path


@pytest.fixture
def compressed(db: Database, store: MemoryStore, policies: Path, backdate) -> dict[str, str]:
    """Both namespaces filled, backdated and compressed by a real lifecycle pass; id -> original text."""
    manager = NamespaceManager(db, policies_dir=policies)
    for name, texts in TEXTS.items():
        manager.create(name, "alice", policy=name)
        store.add_many(name, "alice", texts)
    rows = db.fetch_all("SELECT id::text AS id, content FROM memories")
    backdate([r["id"] for r in rows], 5)
    report = apply_policies(db, policies_directory=policies)
    assert report.step("compress").rows == 5
    return {r["id"]: r["content"] for r in rows}


def _summaries(db: Database) -> dict[str, str | None]:
    return {r["id"]: r["summary"] for r in db.fetch_all("SELECT id::text AS id, summary FROM memories")}


def _echo(request: RecordedRequest) -> Reply:
    """Summaries that name the text they were asked about, so a summary can be matched to its memory."""
    user = next(m["content"] for m in request.json["messages"] if m["role"] == "user")
    return chat_reply({"summary": f"about: {user}"})


def _chats(server: OpenAIServer) -> list[RecordedRequest]:
    return [r for r in server.requests if r.route.endswith("/chat/completions")]


def test_summaries_go_beside_the_original_only_where_the_policy_asks(
        db: Database, compressed: dict[str, str], policies: Path, openai_server: OpenAIServer,
        make_client: Callable[..., ModelClient]) -> None:
    openai_server.default = _echo
    summarize = model_summarizer(make_client(openai_server, db=db))
    report = summarize_compressed(db, summarize, policies_directory=policies)

    assert (report.pending, report.written, report.failed) == (3, 3, 0)
    chats = _chats(openai_server)
    assert {r.json["model"] for r in chats} == {"summ-1"}  # the policy's summary_model
    by_id = _summaries(db)
    digest_ids = {r["id"] for r in db.fetch_all(
        "SELECT m.id::text AS id FROM memories m JOIN memory_namespaces n ON n.id = m.namespace_id "
        "WHERE n.name = 'digest'")}
    for memory_id, original in compressed.items():
        expected = f"about: {original}" if memory_id in digest_ids else None
        assert by_id[memory_id] == expected
    # Beside, never instead: the original still comes back byte for byte from the compressed stream.
    for row in db.fetch_all("SELECT id::text AS id, content, content_compressed FROM memories"):
        assert row["content"] is None
        assert decompress_text(row["content_compressed"]) == compressed[row["id"]]

    again = summarize_compressed(db, summarize, policies_directory=policies)
    assert (again.pending, again.written) == (0, 0)
    assert len(_chats(openai_server)) == 3  # nothing asked twice


def test_a_failed_memory_is_left_for_the_next_run(
        db: Database, compressed: dict[str, str], policies: Path, openai_server: OpenAIServer,
        make_client: Callable[..., ModelClient]) -> None:
    openai_server.default = _echo
    openai_server.enqueue(error_reply(400, "this request is refused"))
    summarize = model_summarizer(make_client(openai_server, db=db))

    first = summarize_compressed(db, summarize, concurrency=1, policies_directory=policies)
    assert (first.written, first.failed) == (2, 1)
    assert "this request is refused" in first.errors[0]
    second = summarize_compressed(db, summarize, policies_directory=policies)
    assert (second.pending, second.written, second.failed) == (1, 1, 0)
    assert sum(s is not None for s in _summaries(db).values()) == 3


def test_a_dead_model_stops_the_run_and_loses_nothing(
        db: Database, compressed: dict[str, str], policies: Path, openai_server: OpenAIServer,
        make_client: Callable[..., ModelClient]) -> None:
    openai_server.default = lambda request: error_reply(400, "model summ-1 does not exist")
    summarize = model_summarizer(make_client(openai_server, db=db))
    with pytest.raises(MemoryStoreError, match="2 summaries failed in a row") as err:
        summarize_compressed(db, summarize, concurrency=1, max_consecutive_failures=2, policies_directory=policies)
    assert "does not exist" in str(err.value)
    assert all(s is None for s in _summaries(db).values())
    assert len(_chats(openai_server)) == 2  # stopped, not tried on every memory


def test_an_answer_without_a_summary_counts_as_a_failure(
        db: Database, compressed: dict[str, str], policies: Path, openai_server: OpenAIServer,
        make_client: Callable[..., ModelClient]) -> None:
    openai_server.default = _echo
    openai_server.enqueue(chat_reply({"summary": "   "}))
    report = summarize_compressed(db, model_summarizer(make_client(openai_server, db=db)), concurrency=1,
                                  policies_directory=policies)
    assert (report.written, report.failed) == (2, 1)
    assert "empty summary" in report.errors[0]


def test_dry_run_counts_and_offline_provider_summarizes(db: Database, compressed: dict[str, str],
                                                        policies: Path) -> None:
    offline = model_summarizer(ModelClient(default_model="offline-default"))
    dry = summarize_compressed(db, offline, dry_run=True, policies_directory=policies)
    assert (dry.pending, dry.written) == (3, 0)
    assert all(s is None for s in _summaries(db).values())

    report = summarize_compressed(db, offline, namespace="digest", limit=2, policies_directory=policies)
    assert (report.written, report.pending) == (2, 3)
    written = [s for s in _summaries(db).values() if s is not None]
    assert len(written) == 2 and all(s.startswith("[offline]") for s in written)
