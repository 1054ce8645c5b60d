"""Lifecycle policies: YAML files in `resources/policies/lifecycle/`, mirrored into the database.

A policy says when a namespace's memories expire (`ttl_days`), are compressed
(`compression_after_days`), archived (`archive_after_days`, unless accessed at least
`min_access_frequency` times) and so garbage-collected; `summarize` has a model write a short
summary of each compressed memory beside its original. Files are the source of truth;
`sync_policies` upserts them by name so the set-based lifecycle SQL can join on them.
A wrong file fails with its path and line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from cognitionos_dagster.db.connection import Database
from cognitionos_dagster.errors import ConfigError
from cognitionos_dagster.settings import Settings, load_settings


class LifecyclePolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,99}$")
    description: str | None = None
    ttl_days: int | None = Field(default=None, ge=1)
    compression_after_days: int | None = Field(default=None, ge=0)
    archive_after_days: int | None = Field(default=None, ge=0)
    min_access_frequency: int | None = Field(default=None, ge=0)
    summarize: bool = False
    summary_model: str | None = Field(default=None, min_length=1, max_length=200)

    @model_validator(mode="after")
    def _ttl_outlives_the_other_steps(self) -> LifecyclePolicy:
        for field in ("compression_after_days", "archive_after_days"):
            value = getattr(self, field)
            if self.ttl_days is not None and value is not None and value >= self.ttl_days:
                raise ValueError(f"{field} ({value}) must be smaller than ttl_days ({self.ttl_days})")
        return self

    @model_validator(mode="after")
    def _summaries_follow_compression(self) -> LifecyclePolicy:
        # Only compressed memories are summarized, so a summary setting without compression would never act.
        if self.summarize and self.compression_after_days is None:
            raise ValueError("summarize needs compression_after_days: only compressed memories get a summary")
        if self.summary_model is not None and not self.summarize:
            raise ValueError("summary_model is set but summarize is not true")
        return self


def policies_dir(settings: Settings | None = None) -> Path:
    return (settings or load_settings()).resources_dir / "policies" / "lifecycle"


def _key_lines(text: str) -> tuple[int, dict[str, int]]:
    node = yaml.compose(text)
    if node is None:
        return 1, {}
    lines = {}
    if isinstance(node, yaml.MappingNode):
        lines = {str(k.value): k.start_mark.line + 1 for k, _ in node.value if isinstance(k, yaml.ScalarNode)}
    return node.start_mark.line + 1, lines


def load_policy_file(path: Path) -> LifecyclePolicy:
    """One policy per file; `name` defaults to the file's stem."""
    text = path.read_text()
    try:
        start, lines = _key_lines(text)
        data: Any = yaml.safe_load(text) or {}  # an empty file: a policy that does nothing
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 1
        raise ConfigError(f"{path}:{line}: invalid YAML: {exc.problem}", hint="fix the YAML syntax") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:{start}: a lifecycle policy must be a mapping of settings",
                          hint="see docs/memory.md for the fields")
    data.setdefault("name", path.stem)
    try:
        return LifecyclePolicy.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = str(err["loc"][0]) if err["loc"] else ""
        line = lines.get(key, start)
        where = f"{key}: " if key else ""
        raise ConfigError(
            f"{path}:{line}: {where}{err['msg']}",
            hint="fields: name, description, ttl_days, compression_after_days, archive_after_days, "
            "min_access_frequency (whole days / counts; omit a field to skip that step), summarize, summary_model",
        ) from exc


def _load_with_paths(directory: Path) -> dict[str, tuple[LifecyclePolicy, Path]]:
    loaded: dict[str, tuple[LifecyclePolicy, Path]] = {}
    for path in sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml")):
        policy = load_policy_file(path)
        if policy.name in loaded:
            raise ConfigError(f"{path}:1: policy {policy.name!r} is already defined in {loaded[policy.name][1]}",
                              hint="give every policy a unique name")
        loaded[policy.name] = (policy, path)
    return loaded


def load_policies(directory: Path) -> dict[str, LifecyclePolicy]:
    return {name: policy for name, (policy, _) in _load_with_paths(directory).items()}


def sync_policies(db: Database, directory: Path | None = None) -> dict[str, LifecyclePolicy]:
    """Upsert the policy files into memory_lifecycle_policies; returns what was loaded."""
    directory = directory or policies_dir()
    if not directory.is_dir():
        return {}
    loaded = _load_with_paths(directory)
    with db.connection() as conn:
        for p, path in loaded.values():
            conn.execute(
                """
                INSERT INTO memory_lifecycle_policies AS p (name, description, ttl_days, compression_after_days,
                    archive_after_days, min_access_frequency, summarize, summary_model, source_file)
                VALUES (%(name)s, %(description)s, %(ttl_days)s, %(compression_after_days)s, %(archive_after_days)s,
                    %(min_access_frequency)s, %(summarize)s, %(summary_model)s, %(source)s)
                ON CONFLICT (name) DO UPDATE SET description = EXCLUDED.description, ttl_days = EXCLUDED.ttl_days,
                    compression_after_days = EXCLUDED.compression_after_days,
                    archive_after_days = EXCLUDED.archive_after_days,
                    min_access_frequency = EXCLUDED.min_access_frequency, summarize = EXCLUDED.summarize,
                    summary_model = EXCLUDED.summary_model, source_file = EXCLUDED.source_file, updated_at = now()
                WHERE (p.description, p.ttl_days, p.compression_after_days, p.archive_after_days,
                       p.min_access_frequency, p.summarize, p.summary_model, p.source_file)
                    IS DISTINCT FROM (EXCLUDED.description, EXCLUDED.ttl_days, EXCLUDED.compression_after_days,
                       EXCLUDED.archive_after_days, EXCLUDED.min_access_frequency, EXCLUDED.summarize,
                       EXCLUDED.summary_model, EXCLUDED.source_file)
                """,
                {**p.model_dump(), "source": str(path)},
            )
    return {name: policy for name, (policy, _) in loaded.items()}


def policy_id(db: Database, name: str, directory: Path | None = None) -> str:
    """The id of a policy, syncing the files first; a clear error naming the known ones."""
    known = sync_policies(db, directory)
    row = db.fetch_one("SELECT id::text AS id FROM memory_lifecycle_policies WHERE name = %s", (name,))
    if row is None:
        names = sorted(set(known) | {r["name"] for r in db.fetch_all("SELECT name FROM memory_lifecycle_policies")})
        raise ConfigError(
            f"unknown lifecycle policy {name!r}",
            hint=f"known policies: {', '.join(names) or 'none'}; add {name}.yaml to {directory or policies_dir()}",
        )
    return str(row["id"])
