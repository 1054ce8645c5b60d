"""Fixtures for the tool tests: a tool context without a database, a real local HTTP server,
and a TCP listener that counts the connections it accepts."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

import pytest
from support.memory_fixtures import namespaces, store  # noqa: F401 - fixtures

from cognitionos_dagster.settings import Settings, load_settings
from cognitionos_dagster.tools import ToolContext, ToolRegistry
from cognitionos_dagster.tools.builtin import ExecutePythonTool, HttpRequestTool
from cognitionos_dagster.tools.sandbox import SandboxConfig


@pytest.fixture
def plain_settings(tmp_path: Path) -> Settings:
    return load_settings(home=tmp_path / "home", http_allowlist="127.0.0.1")


@pytest.fixture
def ctx(plain_settings: Settings) -> ToolContext:
    return ToolContext(settings=plain_settings, run_id="run-1", step_id="step-1")


@pytest.fixture
def quick_config() -> SandboxConfig:
    """Small limits so the limit tests finish in about a second each."""
    return SandboxConfig(cpu_seconds=1, memory_mb=256, max_processes=16, max_output_bytes=4096)


@pytest.fixture
def registry(quick_config: SandboxConfig) -> ToolRegistry:
    return ToolRegistry([ExecutePythonTool(quick_config), HttpRequestTool()])


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args: object) -> None:  # keep pytest output clean
        pass

    def _send(self, status: int, body: bytes, content_type: str = "application/json",
              extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self.server.seen.append({"path": self.path, "headers": dict(self.headers)})
        if self.path.startswith("/json"):
            self._send(200, json.dumps({"ok": True, "path": self.path}).encode())
        elif self.path.startswith("/status/"):
            code = int(self.path.rsplit("/", 1)[1])
            self._send(code, json.dumps({"error": code}).encode())
        elif self.path.startswith("/big"):
            self._send(200, b"x" * 50_000, "text/plain")
        elif self.path.startswith("/chunked"):
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for _ in range(10):
                self.wfile.write(b"1388\r\n" + b"y" * 5000 + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        elif self.path.startswith("/redirect"):
            self._send(302, b"", "text/plain", {"Location": "http://localhost.invalid.example/elsewhere"})
        elif self.path.startswith("/goto?"):  # /goto?<url>: a redirect to any URL
            self._send(302, b"", "text/plain", {"Location": unquote(self.path.split("?", 1)[1])})
        else:
            self._send(200, b"hello", "text/plain")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        self.server.seen.append({"path": self.path, "headers": dict(self.headers), "body": body})
        self._send(201, json.dumps({"received": json.loads(body or b"null")}).encode())


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.seen: list[dict[str, object]] = []

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def http_server() -> Iterator[_Server]:
    server = _Server()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


class Listener:
    """A TCP server on loopback that counts accepted connections (the sandbox must reach none)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


@pytest.fixture
def tcp_listener() -> Iterator[Listener]:
    listener = Listener()
    yield listener
    listener.close()
