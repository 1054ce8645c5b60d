"""`cognos dev`: database, migrations, instance config, then a gRPC code server, the webserver and the daemon."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Callable
from pathlib import Path

import typer
import yaml

from cognitionos_dagster.cli.output import command, console
from cognitionos_dagster.cli.supervisor import run_supervised
from cognitionos_dagster.db import embedded, migrate
from cognitionos_dagster.db.urls import redact
from cognitionos_dagster.defs.instance_config import write_instance_config
from cognitionos_dagster.errors import ConfigError
from cognitionos_dagster.settings import PROJECT_ROOT, load_settings

LOCATION_NAME = "cognitionos_dagster"


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


def grpc_workspace(dagster_home: Path, host: str, port: int) -> Path:
    """The workspace of the webserver and daemon: the code location served over gRPC, as in
    Dagster's Helm chart, where user code runs in its own deployment."""
    path = dagster_home / "workspace.yaml"
    entry = {"grpc_server": {"host": host, "port": port, "location_name": LOCATION_NAME}}
    path.write_text(yaml.safe_dump({"load_from": [entry]}, sort_keys=False))
    return path


def _listening(host: str, port: int) -> Callable[[], bool]:
    def probe() -> bool:
        with socket.socket() as conn:
            conn.settimeout(0.5)
            return conn.connect_ex((host, port)) == 0

    return probe


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@command
def dev(
    host: str = typer.Option(None, help="Webserver host (default COGNITIONOS_WEBSERVER_HOST or 127.0.0.1)."),
    port: int = typer.Option(None, help="Webserver port (default COGNITIONOS_WEBSERVER_PORT or 3000)."),
    workspace: Path = typer.Option(None, help="A Dagster workspace file to load instead of the gRPC code server."),
    grpc_port: int = typer.Option(None, "--grpc-port", help="Port of the code server (default: a free one)."),
) -> None:
    """Start the embedded database (unless a URL is set), the code server, the Dagster UI and the daemon."""
    settings = load_settings()
    host = host or settings.webserver_host
    port = port or settings.webserver_port
    require_free_port(host, port)
    dagster_home, started_pg = prepare_instance()
    bindir = Path(sys.executable).parent
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home)}
    commands: dict[str, list[str]] = {}
    ready: dict[str, Callable[[], bool]] = {}
    if workspace is None:
        grpc_port = grpc_port or free_port()
        commands["code_server"] = [str(bindir / "dagster"), "api", "grpc", "-m", "cognitionos_dagster.definitions",
                                   "-h", "127.0.0.1", "-p", str(grpc_port), "--location-name", LOCATION_NAME]
        ready["code_server"] = _listening("127.0.0.1", grpc_port)
        workspace = grpc_workspace(dagster_home, "127.0.0.1", grpc_port)
    commands["webserver"] = [str(bindir / "dagster-webserver"), "-w", str(workspace), "-h", host, "-p", str(port)]
    commands["daemon"] = [str(bindir / "dagster-daemon"), "run", "-w", str(workspace)]

    def on_exit() -> None:
        if started_pg:
            embedded.stop(settings.pg_dir)
            console.print("stopped the embedded PostgreSQL")

    console.print(f"Dagster UI on http://{host}:{port} (Ctrl-C stops everything this started)")
    raise typer.Exit(run_supervised(commands, env, PROJECT_ROOT, on_exit, ready))
