"""Model summaries of compressed memories, written beside the original and never instead of it.

A policy with `summarize: true` asks for them. They are not a lifecycle step: the pass is
set-based SQL that handles a million memories in seconds, and a model call per memory would
make it hours long and let a model outage fail it. So `summarize_compressed` runs after a
pass (the CLI, the `memories` asset), in batches. It picks only compressed memories that
have no summary yet, which makes it idempotent and resumable. A pass killed half-way, or a
model that fails on one memory, leaves those memories without a summary, and the next run
picks them up. Each batch commits its summaries, so a later failure loses none of them.
Only the `summary` column is written. `content_compressed` stays byte for byte what it was.
"""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from cognitionos_dagster.db.connection import Database
from cognitionos_dagster.errors import CognitionOSError, MemoryStoreError
from cognitionos_dagster.llm.client import ModelClient
from cognitionos_dagster.llm.types import ChatMessage, ChatRequest
from cognitionos_dagster.memory.compression import decompress_text
from cognitionos_dagster.memory.policies import policies_dir, sync_policies
from cognitionos_dagster.tracing.spans import set_attributes, span

Summarize = Callable[[str, str | None], str]
"""(original text, model name or None for the default) -> summary. Raises on failure."""

MAX_SUMMARY_CHARS = 1_000
MAX_INPUT_CHARS = 12_000  # ~3k tokens: enough to summarize, bounded so one huge memory cannot blow a context
_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"summary": {"type": "string", "maxLength": MAX_SUMMARY_CHARS}},
    "required": ["summary"],
    "additionalProperties": False,
}
_SYSTEM = (
    "You summarize an AI agent's stored memory so a person can skim it. Answer with JSON "
    '{"summary": "..."}: at most three sentences, the facts and decisions it records, no preamble.'
)
# Compressed, not yet summarized, in a namespace whose policy asks for summaries.
_PENDING = """
    FROM memories m
    JOIN memory_namespaces n ON n.id = m.namespace_id
    JOIN memory_lifecycle_policies p ON p.id = n.policy_id
    WHERE p.summarize AND m.compressed AND m.summary IS NULL AND m.content_compressed IS NOT NULL
      AND (%(ns)s::text IS NULL OR n.name = %(ns)s)"""
_COUNT = f"SELECT count(*) AS n {_PENDING}"
# In id order, so each batch starts where the last one ended (ids are time-ordered; the primary key serves it).
_CANDIDATES = f"""
    SELECT m.id::text AS id, m.content_compressed AS blob, p.summary_model AS model {_PENDING}
      AND m.id > %(after)s::uuid
    ORDER BY m.id
    LIMIT %(limit)s"""
# The predicate again: a memory expanded, deleted or summarized meanwhile is left as it is.
_WRITE = "UPDATE memories SET summary = %s WHERE id = %s::uuid AND compressed AND summary IS NULL"
_FIRST_ID = "00000000-0000-0000-0000-000000000000"


class SummaryReport(BaseModel):
    """What a run did (or, dry, would do); JSON-able for the CLI and the asset's metadata."""

    namespace: str | None = None
    dry_run: bool = False
    pending: int = 0
    """Compressed memories without a summary in scope when the run started."""
    written: int = 0
    failed: int = 0
    errors: list[str] = Field(default_factory=list)
    """The first few failures, one line each."""
    seconds: float = 0.0


def model_summarizer(client: ModelClient) -> Summarize:
    """Summaries from the platform's model client: the offline provider, replay and fallbacks all apply."""

    def summarize(text: str, model: str | None) -> str:
        clipped = text if len(text) <= MAX_INPUT_CHARS else text[:MAX_INPUT_CHARS] + " […]"
        request = ChatRequest(
            messages=(ChatMessage(role="system", content=_SYSTEM), ChatMessage(role="user", content=clipped)),
            schema_name="memory_summary",
            json_schema=_SCHEMA,
            temperature=0.0,
            offline_hint={"content": text},
        )
        completion = client.complete_structured(request, models=[model] if model else ())
        try:
            summary = json.loads(completion.text)["summary"]
        except (ValueError, KeyError, TypeError) as exc:
            raise MemoryStoreError(f"the model's answer has no summary ({type(exc).__name__}: {exc})") from None
        if not isinstance(summary, str) or not summary.strip():
            raise MemoryStoreError("the model returned an empty summary")
        return summary.strip()[:MAX_SUMMARY_CHARS]

    return summarize


def pending_summaries(db: Database, namespace: str | None = None) -> int:
    row = db.fetch_one(_COUNT, {"ns": namespace})
    return int(row["n"]) if row else 0


def summarize_compressed(
    db: Database,
    summarize: Summarize,
    *,
    namespace: str | None = None,
    limit: int | None = None,
    concurrency: int = 4,
    max_consecutive_failures: int = 8,
    dry_run: bool = False,
    policies_directory: Path | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> SummaryReport:
    """Summarize up to `limit` compressed memories (default: all pending) in `namespace` (default: all).

    Model calls run `concurrency` at a time: they wait on the network, not on this process.
    After `max_consecutive_failures` failures in a row the run stops with an error (a wrong
    key or a dead endpoint would fail every memory); what it wrote before stays written.
    The policy files are synced first, so a policy that just gained `summarize: true` acts now.
    """
    started = time.perf_counter()
    sync_policies(db, policies_directory or policies_dir())
    report = SummaryReport(namespace=namespace, dry_run=dry_run, pending=pending_summaries(db, namespace))
    if dry_run or report.pending == 0:
        report.seconds = round(time.perf_counter() - started, 4)
        return report
    wanted = report.pending if limit is None else min(limit, report.pending)
    after, streak = _FIRST_ID, 0
    with span("memory.summarize", namespace=namespace or "*", pending=report.pending) as current, \
            ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="memory-summary") as pool:
        while report.written + report.failed < wanted:
            # A few rows at a time, one model call each: a dead endpoint is noticed after a handful of calls.
            size = min(max(1, concurrency), wanted - report.written - report.failed)
            chunk = db.fetch_all(_CANDIDATES, {"ns": namespace, "after": after, "limit": size})
            if not chunk:
                break
            after = chunk[-1]["id"]
            outcomes = list(pool.map(lambda row: _one(summarize, row), chunk))
            written = [(summary, row["id"]) for row, (summary, _) in zip(chunk, outcomes, strict=True) if summary]
            if written:
                with db.connection() as conn, conn.cursor() as cur:
                    cur.executemany(_WRITE, written)
            for row, (summary, error) in zip(chunk, outcomes, strict=True):
                if summary:
                    report.written += 1
                    streak = 0
                    continue
                report.failed += 1
                streak += 1
                if len(report.errors) < 5:
                    report.errors.append(f"{row['id']}: {error}")
            if on_progress is not None:
                on_progress(len(chunk))
            if streak >= max_consecutive_failures:
                set_attributes(current, written=report.written, failed=report.failed)
                raise MemoryStoreError(
                    f"{streak} summaries failed in a row; stopped after writing {report.written}: {report.errors[-1]}",
                    hint="check the model endpoint and summary_model (`cognos memory summarize` runs it again; "
                    "memories without a summary are picked up then)",
                )
        set_attributes(current, written=report.written, failed=report.failed)
    report.seconds = round(time.perf_counter() - started, 4)
    return report


def _one(summarize: Summarize, row: dict[str, Any]) -> tuple[str | None, str | None]:
    """One memory's summary, or why there is none (a failure here must not stop its batch)."""
    try:
        return summarize(decompress_text(row["blob"]), row["model"]), None
    except CognitionOSError as exc:  # the model client's errors (every model failed, no recording to replay)
        return None, str(exc).splitlines()[0]
    except (zlib.error, ValueError) as exc:  # a damaged stream, or text that is not UTF-8
        return None, f"cannot read the compressed original: {type(exc).__name__}: {exc}".splitlines()[0]
