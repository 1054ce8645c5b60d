"""Schema migrations: up, down, twice, two processes at once, and a revision that fails mid-way."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from cognitionos_dagster.db import migrate
from cognitionos_dagster.db.connection import connect
from cognitionos_dagster.db.urls import with_database
from cognitionos_dagster.errors import DatabaseError, MigrationError

BASE_TABLES = {
    "users", "workflows", "workflow_executions", "workflow_execution_steps", "agent_metrics",
    "memory_namespaces", "memory_lifecycle_policies", "memories", "quality_gate_policies",
    "quality_gate_results", "escalations", "call_records",
}


def _tables(url: str) -> set[str]:
    with connect(url, autocommit=True) as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
    return {r["tablename"] for r in rows} - {"alembic_version"}


def _versions(url: str) -> list[str]:
    with connect(url, autocommit=True) as conn:
        return [r["version_num"] for r in conn.execute("SELECT version_num FROM alembic_version").fetchall()]


def test_upgrade_from_empty_creates_the_schema(empty_database_url: str) -> None:
    url = empty_database_url
    assert migrate.current_revision(url) is None
    assert migrate.upgrade(url) == migrate.head_revision()
    assert _tables(url) >= BASE_TABLES
    with connect(url, autocommit=True) as conn:
        column = conn.execute(
            "SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute "
            "WHERE attrelid = 'memory_embeddings'::regclass AND attname = 'embedding'"
        ).fetchone()
        index = conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'memory_embeddings' AND indexdef ILIKE '%USING hnsw%'"
        ).fetchone()
    assert column is not None and column["t"] == "vector(384)"
    assert index is not None and "vector_cosine_ops" in index["indexdef"]
    migrate.require_head(url)


def test_the_embedding_dimension_is_a_setting(empty_database_url: str) -> None:
    migrate.upgrade(empty_database_url, embedding_dim=64)
    with connect(empty_database_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute "
            "WHERE attrelid = 'memory_embeddings'::regclass AND attname = 'embedding'"
        ).fetchone()
    assert row is not None and row["t"] == "vector(64)"


def test_upgrading_twice_is_a_no_op_and_keeps_data(empty_database_url: str) -> None:
    url = empty_database_url
    head = migrate.upgrade(url)
    with connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO users (username) VALUES ('ada')")
    assert migrate.upgrade(url) == head
    assert _versions(url) == [head]
    with connect(url, autocommit=True) as conn:
        assert conn.execute("SELECT username FROM users").fetchall() == [{"username": "ada"}]


def test_downgrade_step_by_step_to_base_and_back(empty_database_url: str) -> None:
    url = empty_database_url
    head = migrate.upgrade(url)
    script = ScriptDirectory(str(migrate.MIGRATIONS_DIR))
    previous = script.get_revision(head).down_revision
    assert migrate.downgrade(url, "-1") == previous
    assert migrate.downgrade(url, "base") is None
    assert _tables(url) == set()
    with pytest.raises(MigrationError, match="schema is at revision none") as info:
        migrate.require_head(url)
    assert info.value.hint == "run `cognos db upgrade`"
    assert migrate.upgrade(url) == head
    assert _tables(url) >= BASE_TABLES


def test_a_bad_downgrade_target_is_a_migration_error(empty_database_url: str) -> None:
    migrate.upgrade(empty_database_url)
    with pytest.raises(MigrationError, match="downgrade to nonsense failed"):
        migrate.downgrade(empty_database_url, "nonsense")


_UPGRADE_IN_A_PROCESS = "import sys; from cognitionos_dagster.db import migrate; print(migrate.upgrade(sys.argv[1]))"


def test_two_processes_upgrading_at_once_both_succeed(empty_database_url: str) -> None:
    url = empty_database_url
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _UPGRADE_IN_A_PROCESS, url],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for _ in range(2)
    ]
    results = [p.communicate(timeout=60) for p in procs]
    head = migrate.head_revision()
    for proc, (out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
        assert out.strip() == head
    assert _versions(url) == [head]
    assert _tables(url) >= BASE_TABLES


_BROKEN = '''
"""A revision that fails half-way: its first statement succeeds, its second does not."""
from alembic import op

revision = "h6probe"
down_revision = "{down}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE TABLE half_applied_probe (id int)")
    op.execute("{second}")


def downgrade() -> None:
    op.execute("DROP TABLE half_applied_probe")
'''


@pytest.fixture
def scripts_with_a_probe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the shipped migrations plus one extra revision, used instead of the shipped ones."""
    copy = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", copy)
    return copy


def _write_probe(scripts: Path, down: str, second: str) -> None:
    (scripts / "versions" / "9999_probe.py").write_text(textwrap.dedent(_BROKEN.format(down=down, second=second)))


def test_a_revision_failing_half_way_is_rolled_back_and_a_rerun_completes(
    empty_database_url: str, scripts_with_a_probe: Path
) -> None:
    url = empty_database_url
    shipped_head = migrate.head_revision()
    migrate.upgrade(url)
    with connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO users (username) VALUES ('kept')")

    _write_probe(scripts_with_a_probe, shipped_head, "SELECT 1/0")
    assert migrate.head_revision() == "h6probe"
    with pytest.raises(MigrationError) as info:
        migrate.upgrade(url)
    assert f"schema left at revision {shipped_head}" in str(info.value)
    assert "division by zero" in str(info.value)
    assert "rerun `cognos db upgrade`" in (info.value.hint or "")
    assert migrate.current_revision(url) == shipped_head
    assert "half_applied_probe" not in _tables(url)  # the first statement was rolled back too

    _write_probe(scripts_with_a_probe, shipped_head, "INSERT INTO half_applied_probe VALUES (1)")
    assert migrate.upgrade(url) == "h6probe"
    assert "half_applied_probe" in _tables(url)
    with connect(url, autocommit=True) as conn:
        assert conn.execute("SELECT username FROM users").fetchall() == [{"username": "kept"}]


def test_a_failure_from_empty_keeps_every_earlier_revision(
    empty_database_url: str, scripts_with_a_probe: Path
) -> None:
    shipped_head = migrate.head_revision()
    _write_probe(scripts_with_a_probe, shipped_head, "SELECT 1/0")
    with pytest.raises(MigrationError, match=f"schema left at revision {shipped_head}, was none"):
        migrate.upgrade(empty_database_url)
    assert _tables(empty_database_url) >= BASE_TABLES


def test_asking_a_missing_database_for_its_revision_is_a_clear_error(database_url: str) -> None:
    url = with_database(database_url, "cogtest_never_created")
    with pytest.raises(DatabaseError, match='database "cogtest_never_created" does not exist') as info:
        migrate.current_revision(url)
    assert "COGNITIONOS_DATABASE_URL" in (info.value.hint or "")
