"""The record of every model and tool call: cost accounting and deterministic replay.

A call is identified for replay by (run_id, step_id, request_hash, sequence): the same
step of a re-executed run asks the same questions in the same order, so the n-th call
with a given request hash is served the n-th recorded answer.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypedDict, cast
from uuid import UUID

from psycopg.types.json import Jsonb

from cognitionos_dagster.db.connection import Database

CallKind = Literal["llm", "tool", "embedding"]


class CallRow(TypedDict):
    """A row of `call_records` (migration 0006), as `SELECT *` returns it."""

    id: UUID
    run_id: str | None
    step_id: str | None
    kind: CallKind
    name: str
    request_hash: str
    sequence: int
    prompt_version: str | None
    request: dict[str, Any]
    response: Any
    status: str
    error: str | None
    input_tokens: int
    output_tokens: int
    cost_usd: float
    latency_ms: float | None
    created_at: datetime

ANSWERED = ("ok", "invalid_output")
"""Statuses of calls that got an answer: it cost tokens, and replay serves it back (an invalid
answer too, so a replay re-asks exactly as the recorded run did). `error` and `timeout` got none."""


def request_hash(payload: Any) -> str:
    """A stable hash of a request: canonical JSON, sorted keys."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class CallRecord:
    kind: CallKind
    name: str
    request: dict[str, Any]
    response: dict[str, Any] | None
    run_id: str | None = None
    step_id: str | None = None
    sequence: int = 0
    prompt_version: str | None = None
    status: str = "ok"
    error: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: float | None = None

    @property
    def request_hash(self) -> str:
        return request_hash(self.request)


class CallRecordRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def record(self, rec: CallRecord) -> str:
        """Store the call; its id lets a later stage mark the answer (see `mark`)."""
        row = self.db.fetch_one(
            """
            INSERT INTO call_records (run_id, step_id, kind, name, request_hash, sequence, prompt_version,
                request, response, status, error, input_tokens, output_tokens, cost_usd, latency_ms)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
            RETURNING id
            """,
            (
                rec.run_id, rec.step_id, rec.kind, rec.name, rec.request_hash, rec.sequence,
                rec.prompt_version, Jsonb(rec.request), Jsonb(rec.response) if rec.response is not None else None,
                rec.status, rec.error, rec.input_tokens, rec.output_tokens,
                rec.cost_usd if rec.status in ANSWERED else 0.0, rec.latency_ms,
            ),
        )
        assert row is not None
        return str(row["id"])

    def mark(self, record_id: str, status: str, error: str) -> None:
        """Change the status of a recorded answer, e.g. to `invalid_output` when it failed validation."""
        self.db.execute("UPDATE call_records SET status = %s, error = %s WHERE id = %s",
                        (status, error[:500], record_id))

    def find(
        self, run_id: str, step_id: str, kind: CallKind, req_hash: str, sequence: int, *, any_status: bool = False
    ) -> dict[str, Any] | None:
        """The recorded response for this call, or None when nothing was recorded. Only successful
        calls count unless `any_status` (an agent's tool loop, where failures were answers too)."""
        row = self.db.fetch_one(
            f"""
            SELECT response FROM call_records
            WHERE run_id = %s AND step_id = %s AND kind = %s AND request_hash = %s {_status_filter(any_status)}
            ORDER BY sequence, created_at
            OFFSET %s LIMIT 1
            """,
            (run_id, step_id, kind, req_hash, sequence),
        )
        return None if row is None else row["response"]

    def count_ok(self, run_id: str, step_id: str, kind: CallKind, req_hash: str, *, any_status: bool = False) -> int:
        """How many calls with this request hash the step has recorded (successful ones unless
        `any_status`): the next call's index."""
        row = self.db.fetch_one(
            "SELECT count(*) AS n FROM call_records WHERE run_id = %s AND step_id = %s AND kind = %s "
            f"AND request_hash = %s {_status_filter(any_status)}",
            (run_id, step_id, kind, req_hash),
        )
        return int(row["n"]) if row else 0

    def for_run(self, run_id: str) -> list[CallRow]:
        return cast("list[CallRow]", self.db.fetch_all(  # SELECT * of this table
            "SELECT * FROM call_records WHERE run_id = %s ORDER BY created_at, sequence", (run_id,)
        ))


def _status_filter(any_status: bool) -> str:
    """Answered calls only, unless `any_status` (then every call that left a response)."""
    answered = ", ".join(f"'{status}'" for status in ANSWERED)  # module constants, not input
    return "AND response IS NOT NULL" if any_status else f"AND status IN ({answered})"
