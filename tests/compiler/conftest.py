"""Compile YAML written by the test into Dagster definitions and run them on the real instance."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from cognitionos_dagster.settings import load_settings


@pytest.fixture
def specs_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str) -> Path:
    folder = tmp_path / "specs"
    folder.mkdir()
    monkeypatch.setenv("COGNITIONOS_WORKFLOW_SPECS", str(folder))
    monkeypatch.setenv("COGNITIONOS_HOME", str(tmp_path / "home"))
    return folder


@pytest.fixture
def write_spec(specs_dir: Path) -> Callable[[str, str], Path]:
    def write(name: str, text: str) -> Path:
        path = specs_dir / f"{name}.yaml"
        path.write_text(textwrap.dedent(text).lstrip())
        return path

    return write


@pytest.fixture
def compile_defs(specs_dir: Path) -> Callable[[], dg.Definitions]:
    def build() -> dg.Definitions:
        from cognitionos_dagster.defs.workflows import workflow_definitions

        return workflow_definitions(load_settings())

    return build


@pytest.fixture
def run_job(compile_defs: Callable[[], dg.Definitions], dagster_instance: dg.DagsterInstance):
    def run(job_name: str, run_config: dict[str, Any] | None = None) -> dg.ExecuteInProcessResult:
        job = compile_defs().resolve_job_def(job_name)
        return job.execute_in_process(run_config=run_config or {}, instance=dagster_instance, raise_on_error=False)

    return run


@pytest.fixture
def flaky_server(monkeypatch: pytest.MonkeyPatch):
    """A loopback HTTP server answering 500 for the first `failures` requests, then 200."""
    import http.server
    import threading

    servers: list[http.server.ThreadingHTTPServer] = []

    def start(failures: int) -> str:
        state = {"left": failures}

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                code = 500 if state["left"] > 0 else 200
                state["left"] -= 1
                body = b'{"ok": true}' if code == 200 else b"broken"
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        monkeypatch.setenv("COGNITIONOS_HTTP_ALLOWLIST", "127.0.0.1")
        return f"http://127.0.0.1:{server.server_address[1]}/probe"

    yield start
    for server in servers:
        server.shutdown()
