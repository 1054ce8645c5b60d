"""Spans: no-ops until configured; model calls open spans; OTLP/HTTP export reaches a collector."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from cognitionos_dagster.llm.client import ModelClient
from cognitionos_dagster.settings import PROJECT_ROOT, load_settings
from cognitionos_dagster.tracing import configure_tracing, reset_tracing, span


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    memory = InMemorySpanExporter()
    configure_tracing(load_settings(), exporter=memory, install_global=False)
    yield memory
    reset_tracing()


def test_nothing_is_configured_without_an_endpoint() -> None:
    assert configure_tracing(load_settings()) is None
    with span("noop", a=1) as current:
        assert not current.is_recording()


def test_spans_carry_attributes_and_failures(exporter: InMemorySpanExporter) -> None:
    with span("outer", run_id="r1", missing=None, obj=[1]), pytest.raises(KeyError), span("inner"):
        raise KeyError("x")
    inner, outer = exporter.get_finished_spans()
    assert outer.name == "outer" and outer.attributes == {"run_id": "r1", "obj": "[1]"}
    assert inner.parent is not None and inner.parent.span_id == outer.context.span_id
    assert inner.status.status_code == StatusCode.ERROR


def test_model_calls_open_spans(exporter: InMemorySpanExporter, chat_request) -> None:
    ModelClient(default_model="m").complete_structured(chat_request())
    (call,) = [s for s in exporter.get_finished_spans() if s.name == "llm.call"]
    assert call.attributes["model"] == "offline" and call.attributes["schema"] == "Summary"


class _Collector(BaseHTTPRequestHandler):
    bodies: list[tuple[str, bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).bodies.append((self.path, body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_otlp_http_export_reaches_the_collector() -> None:
    """In a child process: a global tracer provider can be installed only once per process."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        script = (
            "from cognitionos_dagster.settings import load_settings\n"
            "from cognitionos_dagster.tracing import configure_tracing, span\n"
            "provider = configure_tracing(load_settings())\n"
            "with span('exported-span', run_id='run-42'):\n    pass\n"
            "provider.shutdown()\n"
        )
        env = {**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{server.server_address[1]}"}
        subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=60, cwd=PROJECT_ROOT)
    finally:
        server.shutdown()
        server.server_close()
    assert [path for path, _ in _Collector.bodies] == ["/v1/traces"]
    assert b"exported-span" in _Collector.bodies[0][1] and b"run-42" in _Collector.bodies[0][1]
