"""`cognos memory`: namespaces and grants, adding and searching memories, stats, inspect, lifecycle passes."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from pydantic import ValidationError
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from cognitionos_dagster.cli.output import command, console, print_json
from cognitionos_dagster.db import migrate, server
from cognitionos_dagster.db.connection import Database
from cognitionos_dagster.errors import MemoryStoreError, PermissionDenied
from cognitionos_dagster.llm.client import ModelClient
from cognitionos_dagster.llm.local_embedding import LocalEmbedder
from cognitionos_dagster.memory import index
from cognitionos_dagster.memory.access import ensure_user
from cognitionos_dagster.memory.lifecycle import apply_policies
from cognitionos_dagster.memory.lifecycle_steps import STEPS
from cognitionos_dagster.memory.models import MemoryItem
from cognitionos_dagster.memory.namespaces import NamespaceManager
from cognitionos_dagster.memory.store import MemoryStore
from cognitionos_dagster.memory.summaries import model_summarizer, summarize_compressed
from cognitionos_dagster.settings import load_settings

app = typer.Typer(help="Agent memory: namespaces, grants, add, search, stats, inspect, lifecycle (gc, summarize).",
                  no_args_is_help=True)
namespace_app = typer.Typer(help="Memory namespaces: create, grant, list.", no_args_is_help=True)
app.add_typer(namespace_app, name="namespace")

JSON = typer.Option(False, "--json", help="Print JSON instead of a table.")


def _database() -> Database:
    settings = load_settings()
    url = server.resolve(settings).app_url
    migrate.require_head(url)
    return Database(url)


def _store(db: Database) -> MemoryStore:
    return MemoryStore(db, LocalEmbedder(load_settings().embedding_dim))


@namespace_app.command("create")
@command
def namespace_create(
    name: str = typer.Argument(..., help="Namespace name (letters, digits, _ . @ -)."),
    owner: str = typer.Option(..., "--owner", help="Owning user (created when new); reads and writes."),
    policy: str | None = typer.Option(None, "--policy", help="Lifecycle policy (resources/policies/lifecycle)."),
    quota_bytes: int | None = typer.Option(None, "--quota-bytes", help="Stored-text quota; over it, compress."),
    description: str | None = typer.Option(None, "--description"),
    as_json: bool = JSON,
) -> None:
    """Create a namespace owned by USER, optionally with a lifecycle policy and a quota."""
    info = NamespaceManager(_database()).create(name, owner, policy=policy, quota_bytes=quota_bytes,
                                                description=description)
    if as_json:
        print_json(info.model_dump(mode="json"))
    else:
        console.print(f"created namespace {info.name} (owner {info.owner}, policy {info.policy or 'none'})")


@namespace_app.command("grant")
@command
def namespace_grant(
    name: str = typer.Argument(...),
    user: str = typer.Argument(..., help="User to grant (created when new)."),
    write: bool = typer.Option(False, "--write", help="Also allow adding memories."),
    acting: str | None = typer.Option(None, "--user", "-u", help="Acting user; must own the namespace."),
    as_admin: bool = typer.Option(False, "--as-admin", help="Grant as the administrator, whoever owns it."),
) -> None:
    """Let USER read NAME's memories (and add to them with --write), as the namespace's owner."""
    if (acting is None) == (not as_admin):
        raise PermissionDenied(
            "say who grants: the namespace's owner (`--user OWNER`) or the administrator (`--as-admin`)"
            if acting is None else "--user and --as-admin exclude each other",
            hint=f"e.g. `cognos memory namespace grant {name} {user} --user <owner of {name}>`")
    NamespaceManager(_database()).grant(name, user, write=write, by=acting)
    who = "as administrator" if as_admin else f"by {acting}"
    console.print(f"granted {'read+write' if write else 'read'} on {name} to {user} ({who})")


@namespace_app.command("list")
@command
def namespace_list(as_json: bool = JSON) -> None:
    """Every namespace with its owner, policy, quota and grants."""
    infos = NamespaceManager(_database()).list()
    if as_json:
        print_json([i.model_dump(mode="json") for i in infos])
        return
    table = Table("namespace", "owner", "policy", "quota bytes", "grants")
    for i in infos:
        grants = ", ".join(f"{g.user}({'rw' if g.can_write else 'r'})" for g in i.grants)
        table.add_row(i.name, i.owner or "", i.policy or "", str(i.quota_bytes or ""), grants)
    console.print(table)


def _read_jsonl(path: Path) -> list[MemoryItem]:
    items = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append(MemoryItem.model_validate(json.loads(line)))
        except (json.JSONDecodeError, ValidationError) as exc:
            first = str(exc).splitlines()[0] if isinstance(exc, json.JSONDecodeError) else exc.errors()[0]["msg"]
            raise MemoryStoreError(
                f"{path}:{number}: not a memory: {first}",
                hint='one JSON object a line: {"content": "...", "importance": 0.7, "metadata": {...}}',
            ) from None
    return items


@app.command("add")
@command
def add(
    text: str | None = typer.Argument(None, help="The memory's text (or use --file)."),
    namespace: str = typer.Option(..., "--namespace", "-n"),
    user: str = typer.Option(..., "--user", "-u", help="Acting user; needs a write grant."),
    file: Path | None = typer.Option(None, "--file", "-f", exists=True, dir_okay=False,
                                     help="JSONL: one {content, importance?, metadata?} a line."),
    importance: float = typer.Option(0.5, "--importance", min=0.0, max=1.0),
    as_json: bool = JSON,
) -> None:
    """Add one memory, or many from a JSONL file (bulk COPY with a progress bar)."""
    if (text is None) == (file is None):
        raise MemoryStoreError("give either TEXT or --file, not both or neither",
                               hint='cognos memory add -n NS -u USER "text"  or  --file memories.jsonl')
    db = _database()
    ensure_user(db, user)
    with _store(db) as store:
        if text is not None:
            memory_id = store.store(namespace, user, text, importance=importance)
            print_json({"id": memory_id}) if as_json else console.print(memory_id)
            return
        assert file is not None
        items = _read_jsonl(file)
        columns = (TextColumn("adding"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, console=console, disable=as_json) as progress:
            task = progress.add_task("add", total=len(items))
            result = store.add_many(namespace, user, items, progress=lambda n: progress.advance(task, n))
    if as_json:
        print_json(result.model_dump())
    else:
        console.print(f"added {result.inserted} memories ({result.duplicates} already present) to {namespace}")


@app.command("search")
@command
def search(
    query: str = typer.Argument(...),
    namespace: str = typer.Option(..., "--namespace", "-n"),
    user: str = typer.Option(..., "--user", "-u", help="Acting user; needs a read grant."),
    k: int = typer.Option(5, "-k", min=1, max=1000),
    include_archived: bool = typer.Option(False, "--include-archived"),
    as_json: bool = JSON,
) -> None:
    """The k memories of NAMESPACE most similar to QUERY."""
    db = _database()
    ensure_user(db, user)
    with _store(db) as store:
        hits = store.search(namespace, user, query, k=k, include_archived=include_archived)
    if as_json:
        print_json([h.model_dump(mode="json") for h in hits])
        return
    table = Table("score", "id", "content", "archived")
    for h in hits:
        table.add_row(f"{h.score:.3f}", h.id, h.content[:100], "yes" if h.archived else "")
    console.print(table)


@app.command("stats")
@command
def stats(namespace: str | None = typer.Option(None, "--namespace", "-n"), as_json: bool = JSON) -> None:
    """Counts by state, sizes and compression of each namespace."""
    rows = _store(_database()).stats(namespace)
    if as_json:
        print_json([{**r.model_dump(mode="json"), "compression_ratio": r.compression_ratio} for r in rows])
        return
    table = Table("namespace", "policy", "total", "active", "compressed", "archived", "expired", "stored bytes",
                  "ratio")
    for r in rows:
        table.add_row(r.namespace, r.policy or "", *(str(v) for v in (r.total, r.active, r.compressed, r.archived,
                      r.expired, r.stored_bytes)), str(r.compression_ratio or ""))
    console.print(table)


@app.command("inspect")
@command
def inspect(
    memory_id: str = typer.Argument(..., metavar="ID"),
    user: str = typer.Option(..., "--user", "-u", help="Acting user; needs a read grant."),
    as_json: bool = JSON,
) -> None:
    """Everything about one memory (its text decompressed if needed)."""
    db = _database()
    ensure_user(db, user)
    record = _store(db).inspect(memory_id, user)
    if as_json:
        print_json(record.model_dump(mode="json"))
        return
    for key, value in record.model_dump().items():
        console.print(f"{key:>17}: {value}")


@app.command("gc")
@command
def gc(
    namespace: str | None = typer.Option(None, "--namespace", "-n", help="One namespace (default: all)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Report what would change; change nothing."),
    step: list[str] = typer.Option(list(STEPS), "--step", help="Steps to run (repeat); default all."),
    as_json: bool = JSON,
) -> None:
    """Apply the lifecycle policies: expire, compress, archive, garbage-collect."""
    report = apply_policies(_database(), namespace=namespace, dry_run=dry_run, steps=step)
    if as_json:
        print_json(report.model_dump(mode="json"))
        return
    verb = "would change" if dry_run else "changed"
    for s in report.steps:
        console.print(f"{s.step:>9}: {verb} {s.rows} memories {dict(s.by_namespace) or ''}")
    if report.resumed_runs:
        console.print(f"completed interrupted pass(es): {', '.join(report.resumed_runs)}")


@app.command("summarize")
@command
def summarize(
    namespace: str | None = typer.Option(None, "--namespace", "-n", help="One namespace (default: all)."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="At most this many memories."),
    concurrency: int = typer.Option(4, "--concurrency", min=1, max=64, help="Model calls at a time."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Count what would be summarized; call no model."),
    as_json: bool = JSON,
) -> None:
    """Have the model summarize compressed memories whose policy sets `summarize: true` (the original stays)."""
    db = _database()
    if namespace is not None:
        NamespaceManager(db).get(namespace)
    summarizer = model_summarizer(ModelClient.from_settings(load_settings(), db=db))
    columns = (TextColumn("summarizing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, disable=as_json or dry_run) as progress:
        task = progress.add_task("summarize", total=None)
        report = summarize_compressed(
            db, summarizer, namespace=namespace, limit=limit, concurrency=concurrency, dry_run=dry_run,
            on_progress=lambda n: progress.advance(task, n),
        )
    if as_json:
        print_json(report.model_dump(mode="json"))
        return
    if dry_run:
        console.print(f"would summarize {report.pending if limit is None else min(limit, report.pending)} "
                      "compressed memories")
        return
    console.print(f"summarized {report.written} compressed memories ({report.failed} failed, "
                  f"{report.pending - report.written - report.failed} left) in {report.seconds:.1f} s")
    for line in report.errors:
        console.print(f"  failed: {line}")


@app.command("reindex")
@command
def reindex() -> None:
    """Build the HNSW index on memory_embeddings.embedding if it is missing (e.g. after a killed bulk load)."""
    seconds = index.build_index(_database())
    console.print(f"index built in {seconds:.1f} s" if seconds else "index present; nothing to do")
