"""The workflow registry: every id+version ever loaded, with its content hash.

An id+version is immutable: registering it again with the same sha256 is a no-op, with a
different sha256 it is refused, so a run tagged `deploy_web_app@1.2.0` always means one
definition. The db layer sits below the DSL, so specs are taken by shape (`RegistrableSpec`).
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal, Protocol, TypedDict, TypeVar, cast

import psycopg
from psycopg.types.json import Jsonb

from cognitionos_dagster.db.connection import Database
from cognitionos_dagster.errors import SpecError


class _Position(Protocol):
    # read-only properties: spec models are frozen, and a protocol's plain attributes would be writable
    @property
    def file(self) -> str: ...
    @property
    def line(self) -> int: ...
    @property
    def column(self) -> int: ...


class _Schedule(Protocol):
    @property
    def cron(self) -> str: ...


class RegistrableSpec(Protocol):
    """What the registry needs of a workflow spec (dsl.models.WorkflowSpec has all of it)."""

    @property
    def id(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def name(self) -> str | None: ...
    @property
    def description(self) -> str | None: ...
    @property
    def schedule_spec(self) -> _Schedule | None: ...
    @property
    def source_path(self) -> str: ...
    @property
    def sha256(self) -> str: ...
    @property
    def position(self) -> _Position: ...

    def model_dump(self, *, mode: str = ...) -> dict[str, Any]: ...


# Semantic-version order in SQL: numeric MAJOR.MINOR.PATCH, a release above its prereleases,
# then the prerelease text (exact semver precedence for prereleases is not needed to pick "newest").
_CORE = "string_to_array(split_part(split_part(version, '+', 1), '-', 1), '.')::int[]"
_NEWEST_FIRST = f"{_CORE} DESC, (strpos(split_part(version, '+', 1), '-') = 0) DESC, version DESC"
class WorkflowRow(TypedDict):
    """A registered version as the registry lists it: the `workflows` table without its definition
    and owner (migration 0002)."""

    id: str
    version: str
    name: str
    description: str | None
    spec_sha256: str
    source_path: str | None
    schedule: str | None
    created_at: datetime
    is_active: bool


class WorkflowDefinitionRow(WorkflowRow):
    """One version with the spec it was registered with (`definition`, the spec as JSON)."""

    definition: dict[str, Any]


_COLUMNS = ", ".join(WorkflowRow.__annotations__)


S = TypeVar("S", bound=RegistrableSpec)


class WorkflowRegistry:
    def __init__(self, db: Database) -> None:
        self.db = db

    def sync_all(self, specs: Sequence[S]) -> tuple[list[S], list[SpecError]]:
        """Register each spec; returns the accepted ones and the refusals (`lint` and the code location)."""
        accepted: list[S] = []
        refused: list[SpecError] = []
        for spec in specs:
            try:
                self.sync(spec)
            except SpecError as exc:
                refused.append(exc)
            else:
                accepted.append(spec)
        return accepted, refused

    def sync(self, spec: RegistrableSpec) -> Literal["registered", "unchanged"]:
        """Register `spec`; an id+version already registered must have the same sha256."""
        with self.db.connection() as conn:
            if self._insert(conn, spec):
                return "registered"
            row = conn.execute(
                "SELECT spec_sha256, source_path FROM workflows WHERE id = %s AND version = %s",
                (spec.id, spec.version),
            ).fetchone()
        if row is not None and row["spec_sha256"] == spec.sha256:
            return "unchanged"
        where = row["source_path"] if row else "the registry"
        raise _refusal(
            spec, f"workflow {spec.id} version {spec.version} is already registered with different content "
            f"(from {where}); bump `version`",
            "an id+version is immutable so that every past run keeps meaning the same definition",
        )

    @staticmethod
    def _insert(conn: psycopg.Connection[Any], spec: RegistrableSpec) -> bool:
        """Whether the row was new. Lint refuses what PostgreSQL cannot store; should a value slip past
        it, the refusal still names the spec instead of surfacing as a database traceback."""
        try:
            return bool(conn.execute(
                """
                INSERT INTO workflows (id, version, name, description, definition, spec_sha256, source_path, schedule)
                VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
                ON CONFLICT (id, version) DO NOTHING
                """,
                (
                    spec.id, spec.version, spec.name or spec.id, spec.description,
                    Jsonb(spec.model_dump(mode="json")), spec.sha256, spec.source_path,
                    spec.schedule_spec.cron if spec.schedule_spec else None,
                ),
            ).rowcount)
        except psycopg.DataError as exc:
            reason = exc.diag.message_primary or str(exc)
            raise _refusal(spec, f"the registry cannot store workflow {spec.id}: {reason}",
                           "remove or shorten the value the message names, then lint again") from None

    def list(self, *, versions: bool = False) -> builtins.list[WorkflowRow]:
        """One row per workflow (its newest version), or every version with `versions=True`; newest first per id."""
        rows = cast("builtins.list[WorkflowRow]",
                    self.db.fetch_all(f"SELECT {_COLUMNS} FROM workflows ORDER BY id, {_NEWEST_FIRST}"))
        if versions:
            return rows
        newest: dict[str, WorkflowRow] = {}
        for row in rows:
            newest.setdefault(row["id"], row)
        return builtins.list(newest.values())

    def get(self, id: str, version: str | None = None) -> WorkflowDefinitionRow | None:
        """One registered version with its definition; the newest when `version` is None."""
        if version is not None:
            row = self.db.fetch_one(
                f"SELECT {_COLUMNS}, definition FROM workflows WHERE id = %s AND version = %s", (id, version)
            )
        else:
            row = self.db.fetch_one(
                f"SELECT {_COLUMNS}, definition FROM workflows WHERE id = %s ORDER BY {_NEWEST_FIRST} LIMIT 1", (id,)
            )
        return cast("WorkflowDefinitionRow | None", row)


def _refusal(spec: RegistrableSpec, message: str, hint: str) -> SpecError:
    return SpecError(message, file=spec.position.file, line=spec.position.line, column=spec.position.column,
                     hint=hint)
