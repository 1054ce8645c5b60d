from __future__ import annotations

from pathlib import Path

import pytest

from cognitionos_dagster.db.connection import Database
from cognitionos_dagster.errors import ConfigError
from cognitionos_dagster.memory.policies import load_policies, load_policy_file, policies_dir, sync_policies


def test_shipped_policies_load() -> None:
    policies = load_policies(policies_dir())
    assert {"standard", "ephemeral", "long_term"} <= set(policies)
    assert policies["long_term"].ttl_days is None


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("name: p\nttl_days: 10\ncompression_after_days: -1\n", 3, "compression_after_days"),
        ("name: p\nttl_days: 10\narchive_after_days: 30\n", 1, "must be smaller than ttl_days"),
        ("name: p\nttl_days: [1\n", 3, "invalid YAML"),
        ("name: p\nttl_dayz: 3\n", 2, "ttl_dayz"),
        ("- just a list\n", 1, "must be a mapping"),
        ("name: p\nsummarize: true\n", 1, "summarize needs compression_after_days"),
        ("name: p\ncompression_after_days: 3\nsummary_model: m\n", 1, "summarize is not true"),
    ],
)
def test_invalid_policy_file_names_file_and_line(tmp_path: Path, text: str, line: int, fragment: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_policy_file(path)
    assert f"{path}:{line}:" in str(err.value)
    assert fragment in str(err.value)


def test_sync_upserts_by_name(db: Database, tmp_path: Path) -> None:
    (tmp_path / "short.yaml").write_text("ttl_days: 3\n")
    sync_policies(db, tmp_path)
    (tmp_path / "short.yaml").write_text("ttl_days: 5\ncompression_after_days: 1\n")
    sync_policies(db, tmp_path)
    rows = db.fetch_all("SELECT ttl_days, compression_after_days FROM memory_lifecycle_policies WHERE name = 'short'")
    assert rows == [{"ttl_days": 5, "compression_after_days": 1}]
