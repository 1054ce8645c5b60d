"""`cognos db`: the embedded server's lifecycle and the schema's migrations."""

from __future__ import annotations

import typer

from cognitionos_dagster.cli.output import command, console, print_json
from cognitionos_dagster.db import embedded, huge_pages, migrate, server
from cognitionos_dagster.db.connection import connect
from cognitionos_dagster.db.urls import redact
from cognitionos_dagster.settings import load_settings

app = typer.Typer(help="Database: start/stop the embedded PostgreSQL, apply migrations.", no_args_is_help=True)


@app.command()
@command
def up() -> None:
    """Start the embedded PostgreSQL (reused when it already runs) and apply migrations."""
    settings = load_settings()
    target = migrate.ready(settings)
    revision = migrate.current_revision(target.app_url)
    where = "embedded" if target.embedded else "external"
    console.print(f"PostgreSQL ({where}) at {redact(target.app_url)}; schema at revision {revision}")


@app.command()
@command
def down() -> None:
    """Stop the embedded PostgreSQL (fast shutdown; committed data is kept)."""
    settings = load_settings()
    if not settings.uses_embedded_database:
        console.print("COGNITIONOS_DATABASE_URL is set: the server is external, nothing to stop")
        return
    stopped = embedded.stop(settings.pg_dir)
    console.print("stopped" if stopped else f"not running ({settings.pg_dir})")


@app.command()
@command
def status(as_json: bool = typer.Option(False, "--json", help="Print one JSON object.")) -> None:
    """Where the database is, whether it runs, its schema revision, and whether it has huge pages."""
    settings = load_settings()
    info: dict[str, object] = {"embedded": settings.uses_embedded_database, "head": migrate.head_revision()}
    if settings.uses_embedded_database:
        st = embedded.status(settings.pg_dir)
        info.update(data_dir=str(settings.pg_dir), running=st.running, pid=st.pid)
        url = st.url(embedded.APP_DATABASE) if st.running else None
    else:
        url = settings.database_url
        info["running"] = True
    if url:
        info["url"] = redact(url)
        try:
            info["revision"] = migrate.current_revision(url)
        except Exception as exc:  # report, do not crash: status must work on a broken setup
            info["revision_error"] = str(exc).splitlines()[0]
        else:
            with connect(url, autocommit=True) as conn:
                pages = huge_pages.probe(conn)
            info["huge_pages"] = pages.as_dict() if as_json else pages.advice()
    if as_json:
        print_json(info)
    else:
        for key, value in info.items():
            console.print(f"{key:>14}: {value}")


@app.command()
@command
def upgrade(revision: str = typer.Argument("head")) -> None:
    """Apply migrations up to REVISION (default: head). Running it twice is a no-op."""
    settings = load_settings()
    target = server.prepare(settings)
    before = migrate.current_revision(target.app_url)
    after = migrate.upgrade(target.app_url, revision, embedding_dim=settings.embedding_dim)
    console.print(f"schema: {before or 'none'} -> {after}" if before != after else f"schema already at {after}")


@app.command()
@command
def current() -> None:
    """Print the schema revision and the newest one the code ships."""
    target = server.resolve(load_settings(), start=False)  # a question; starts nothing
    console.print(f"current: {migrate.current_revision(target.app_url) or 'none'}  head: {migrate.head_revision()}")


@app.command(context_settings={"ignore_unknown_options": True})  # so `-1` is a revision, not an option
@command
def downgrade(revision: str = typer.Argument(..., help="Target revision, e.g. 0005, -1 or base.")) -> None:
    """Roll the schema back to REVISION (drops the tables of later revisions and their data)."""
    target = server.resolve(load_settings())
    console.print(f"schema now at {migrate.downgrade(target.app_url, revision) or 'none'}")
