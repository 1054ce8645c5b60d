"""`cognos dev`: database, migrations, instance config, then the Dagster webserver and daemon."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import typer

from cognitionos_dagster.cli.output import command, console
from cognitionos_dagster.cli.supervisor import run_supervised
from cognitionos_dagster.db import embedded, migrate
from cognitionos_dagster.db.urls import redact
from cognitionos_dagster.defs.instance_config import write_instance_config
from cognitionos_dagster.errors import ConfigError
from cognitionos_dagster.settings import PROJECT_ROOT, load_settings


def prepare_instance(settings_overrides: dict[str, object] | None = None) -> tuple[Path, bool]:
    """Start/reuse the database, migrate it, write dagster.yaml. Returns (DAGSTER_HOME, started_pg)."""
    settings = load_settings(**(settings_overrides or {}))
    was_running = settings.uses_embedded_database and embedded.status(settings.pg_dir).running
    try:
        target = migrate.ready(settings)
        write_instance_config(settings.dagster_home, target.dagster_url)
    except BaseException:
        if settings.uses_embedded_database and not was_running:  # leave nothing running that we started
            embedded.stop(settings.pg_dir)
        raise
    console.print(
        f"PostgreSQL {'embedded' if target.embedded else 'external'}: {redact(target.app_url)}; "
        f"Dagster storage: {redact(target.dagster_url)}"
    )
    return settings.dagster_home, target.embedded and not was_running


def require_free_port(host: str, port: int) -> None:
    """Fail before starting anything when the UI's port is taken: otherwise PostgreSQL and the
    daemon start, the webserver dies on bind, and everything is torn down again."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the webserver does
        try:
            probe.bind(address)
        except OSError as exc:
            raise ConfigError(
                f"cannot serve the Dagster UI on {host}:{port}: {exc.strerror or exc}",
                hint=f"stop the program that uses port {port}, or pick another with "
                "`cognos dev --port N` (or COGNITIONOS_WEBSERVER_PORT)",
            ) from exc


@command
def dev(
    host: str = typer.Option(None, help="Webserver host (default COGNITIONOS_WEBSERVER_HOST or 127.0.0.1)."),
    port: int = typer.Option(None, help="Webserver port (default COGNITIONOS_WEBSERVER_PORT or 3000)."),
    workspace: Path = typer.Option(PROJECT_ROOT / "workspace.yaml", help="Dagster workspace file."),
) -> None:
    """Start the embedded database (unless a URL is set) and the Dagster UI with the daemon."""
    settings = load_settings()
    host = host or settings.webserver_host
    port = port or settings.webserver_port
    require_free_port(host, port)
    dagster_home, started_pg = prepare_instance()
    bindir = Path(sys.executable).parent
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home)}
    commands = {
        "webserver": [str(bindir / "dagster-webserver"), "-w", str(workspace), "-h", host, "-p", str(port)],
        "daemon": [str(bindir / "dagster-daemon"), "run", "-w", str(workspace)],
    }

    def on_exit() -> None:
        if started_pg:
            embedded.stop(settings.pg_dir)
            console.print("stopped the embedded PostgreSQL")

    console.print(f"Dagster UI on http://{host}:{port} (Ctrl-C stops everything this started)")
    raise typer.Exit(run_supervised(commands, env, workspace.parent, on_exit))
