"""`cognos memory` through typer's runner against the per-test database."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cognitionos_dagster.cli.main import app

runner = CliRunner()


def _ok(*args: str) -> str:
    result = runner.invoke(app, ["memory", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_namespace_grant_add_search_and_no_access(database_url: str, tmp_path: Path) -> None:
    _ok("namespace", "create", "ops", "--owner", "alice", "--policy", "standard", "--quota-bytes", "100000")
    memory_id = _ok("add", "--namespace", "ops", "--user", "alice", "the pager rotates every monday").strip()
    bulk = tmp_path / "memories.jsonl"
    bulk.write_text("\n".join(json.dumps({"content": f"runbook step {i}", "importance": 0.7,
                                          "metadata": {"n": i}}) for i in range(5)) + "\n")
    assert json.loads(_ok("add", "-n", "ops", "-u", "alice", "--file", str(bulk), "--json")) == {
        "inserted": 5, "duplicates": 0}

    hits = json.loads(_ok("search", "-n", "ops", "-u", "alice", "when does the pager rotate", "-k", "2", "--json"))
    assert hits[0]["id"] == memory_id and len(hits) == 2

    denied = runner.invoke(app, ["memory", "search", "-n", "ops", "-u", "bob", "pager"])
    assert denied.exit_code == 1
    assert "no access: user 'bob' may not read memory namespace 'ops'" in denied.output
    assert "pager" not in denied.stdout

    nobody = runner.invoke(app, ["memory", "namespace", "grant", "ops", "bob"])
    assert nobody.exit_code == 1 and "say who grants" in nobody.output
    by_bob = runner.invoke(app, ["memory", "namespace", "grant", "ops", "bob", "--user", "bob"])
    assert by_bob.exit_code == 1 and "user 'bob' may not grant access to memory namespace 'ops'" in by_bob.output
    assert "--user alice" in by_bob.output
    assert runner.invoke(app, ["memory", "search", "-n", "ops", "-u", "bob", "pager"]).exit_code == 1  # not granted
    assert "(by alice)" in _ok("namespace", "grant", "ops", "bob", "--user", "alice")
    assert json.loads(_ok("search", "-n", "ops", "-u", "bob", "pager", "--json"))[0]["id"] == memory_id
    assert runner.invoke(app, ["memory", "add", "-n", "ops", "-u", "bob", "x"]).exit_code == 1
    listed = json.loads(_ok("namespace", "list", "--json"))
    assert listed[0]["grants"] == [{"user": "bob", "can_read": True, "can_write": False}]

    record = json.loads(_ok("inspect", memory_id, "--user", "alice", "--json"))
    assert record["content"] == "the pager rotates every monday" and record["access_count"] >= 1
    assert runner.invoke(app, ["memory", "inspect", memory_id, "--user", "carol"]).exit_code == 1

    stats = json.loads(_ok("stats", "--namespace", "ops", "--json"))
    assert stats[0]["total"] == 6 and stats[0]["policy"] == "standard"
    dry = json.loads(_ok("gc", "--dry-run", "--json"))
    assert dry["dry_run"] is True and [s["step"] for s in dry["steps"]] == ["expire", "compress", "archive", "gc"]
    assert "index present" in _ok("reindex")


def test_user_errors_exit_1_with_a_hint(database_url: str, tmp_path: Path) -> None:
    missing = runner.invoke(app, ["memory", "search", "-n", "nowhere", "-u", "alice", "q"])
    assert missing.exit_code == 1 and "unknown memory namespace 'nowhere'" in missing.output
    bad_policy = runner.invoke(app, ["memory", "namespace", "create", "x", "--owner", "a", "--policy", "nope"])
    assert bad_policy.exit_code == 1 and "unknown lifecycle policy 'nope'" in bad_policy.output
    _ok("namespace", "create", "x", "--owner", "a")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"content": "fine"}\n{"text": "wrong key"}\n')
    result = runner.invoke(app, ["memory", "add", "-n", "x", "-u", "a", "--file", str(bad)])
    assert result.exit_code == 1 and f"{bad}:2: not a memory" in result.output


def test_summarize_writes_offline_summaries_beside_compressed_memories(database_url: str, tmp_path: Path) -> None:
    from cognitionos_dagster.db.connection import Database
    from cognitionos_dagster.memory.policies import sync_policies

    db = Database(database_url)
    (tmp_path / "digest-cli.yaml").write_text("compression_after_days: 1\nsummarize: true\n")
    sync_policies(db, tmp_path)  # a policy beside the shipped ones; passes sync the shipped files and keep it
    _ok("namespace", "create", "notes", "--owner", "alice", "--policy", "digest-cli")
    _ok("add", "-n", "notes", "-u", "alice", "the cache warms at 06:00 before the traffic peak")
    _ok("add", "-n", "notes", "-u", "alice", "rotate the signing key every 90 days")
    db.execute("UPDATE memories SET created_at = now() - interval '3 days'")
    assert json.loads(_ok("gc", "--step", "compress", "--json"))["steps"][0]["rows"] == 2

    assert json.loads(_ok("summarize", "--dry-run", "--json"))["pending"] == 2
    report = json.loads(_ok("summarize", "--namespace", "notes", "--json"))
    assert (report["written"], report["failed"]) == (2, 0)
    assert "summarized 0 compressed memories" in _ok("summarize")

    memory_id = db.fetch_one("SELECT id::text AS id FROM memories WHERE summary LIKE %s", ("%signing key%",))["id"]
    record = json.loads(_ok("inspect", memory_id, "--user", "alice", "--json"))
    assert record["content"] == "rotate the signing key every 90 days" and record["compressed"]
    assert record["summary"].startswith("[offline]")

    unknown = runner.invoke(app, ["memory", "summarize", "--namespace", "nope"])
    assert unknown.exit_code == 1 and "nope" in unknown.output


def test_the_administrator_grants_only_when_asked_explicitly(database_url: str) -> None:
    _ok("namespace", "create", "team", "--owner", "alice")
    both = runner.invoke(app, ["memory", "namespace", "grant", "team", "bob", "--user", "alice", "--as-admin"])
    assert both.exit_code == 1 and "exclude each other" in both.output
    assert "(as administrator)" in _ok("namespace", "grant", "team", "bob", "--write", "--as-admin")
    listed = json.loads(_ok("namespace", "list", "--json"))
    assert listed[0]["grants"] == [{"user": "bob", "can_read": True, "can_write": True}]
