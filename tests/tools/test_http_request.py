"""`http_request` against a real HTTP server on 127.0.0.1: allowlist, status handling, caps, tracing."""

from __future__ import annotations

from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider

from cognitionos_dagster.settings import load_settings
from cognitionos_dagster.tools import ToolContext, ToolRegistry
from cognitionos_dagster.tools.builtin.http_tool import HttpRequestOutput
from cognitionos_dagster.tools.network_policy import NetworkPolicy

from .conftest import _Server


def call(registry: ToolRegistry, ctx: ToolContext, **raw: object) -> HttpRequestOutput:
    out = registry.run("http_request", raw, ctx)
    assert isinstance(out, HttpRequestOutput)
    return out


def test_get_json(registry: ToolRegistry, ctx: ToolContext, http_server: _Server) -> None:
    out = call(registry, ctx, url=f"{http_server.base_url}/json", params={"q": "a b"})
    assert out.success and out.status_code == 200
    assert out.body == out.result == {"ok": True, "path": "/json?q=a+b"}
    assert out.headers["content-type"] == "application/json"


def test_the_urls_query_is_kept_and_params_are_merged_into_it(
    registry: ToolRegistry, ctx: ToolContext, http_server: _Server
) -> None:
    assert call(registry, ctx, url=f"{http_server.base_url}/json?probe=1").body["path"] == "/json?probe=1"
    merged = call(registry, ctx, url=f"{http_server.base_url}/json?probe=1&q=old", params={"q": "a b", "n": 2})
    assert merged.body["path"] == "/json?probe=1&q=a+b&n=2"
    assert [seen["path"] for seen in http_server.seen] == ["/json?probe=1", "/json?probe=1&q=a+b&n=2"]


def test_post_json_body(registry: ToolRegistry, ctx: ToolContext, http_server: _Server) -> None:
    out = call(registry, ctx, url=f"{http_server.base_url}/items", method="POST", json={"n": [1, 2]})
    assert out.success and out.status_code == 201 and out.body == {"received": {"n": [1, 2]}}


def test_4xx_fails_unless_allowed(registry: ToolRegistry, ctx: ToolContext, http_server: _Server) -> None:
    out = call(registry, ctx, url=f"{http_server.base_url}/status/404")
    assert not out.success and out.status_code == 404 and out.body == {"error": 404}
    assert "HTTP 404 Not Found" in (out.error or "") and "allow_error_status" in (out.error or "")
    allowed = call(registry, ctx, url=f"{http_server.base_url}/status/503", allow_error_status=True)
    assert allowed.success and allowed.status_code == 503


def test_host_not_on_the_allowlist_is_refused(registry: ToolRegistry, ctx: ToolContext) -> None:
    out = call(registry, ctx, url="https://example.com/")
    assert not out.success
    assert "host 'example.com' is not on the HTTP allowlist (127.0.0.1)" in (out.error or "")


def test_loopback_needs_to_be_listed(registry: ToolRegistry, http_server: _Server, tmp_path: Path) -> None:
    ctx = ToolContext(settings=load_settings(home=tmp_path, http_allowlist="*,localhost"))
    out = call(registry, ctx, url=f"{http_server.base_url}/json")  # 127.0.0.1 is not named
    assert not out.success and "resolves to 127.0.0.1, a loopback address; refused" in (out.error or "")
    assert http_server.seen == []


def test_allowlist_name_matching() -> None:
    policy = NetworkPolicy(("api.example.com", "*.corp.example", "localhost"))
    assert policy.name_allowed("API.example.com") and policy.name_allowed("a.b.corp.example")
    assert not policy.name_allowed("corp.example") and not policy.name_allowed("evil-api.example.com")
    assert policy.name_allowed("localhost") and not policy.name_allowed("127.0.0.1")
    assert NetworkPolicy(("*",)).name_allowed("anything.org")


def test_redirect_to_another_host_is_refused(registry: ToolRegistry, ctx: ToolContext, http_server: _Server) -> None:
    out = call(registry, ctx, url=f"{http_server.base_url}/redirect")
    assert not out.success and "localhost.invalid.example" in (out.error or "")


@pytest.mark.parametrize("path", ["/big", "/chunked"])  # declared Content-Length, and streamed without one
def test_response_size_cap(registry: ToolRegistry, ctx: ToolContext, http_server: _Server, path: str) -> None:
    out = call(registry, ctx, url=f"{http_server.base_url}{path}", max_response_bytes=10_000)
    assert not out.success and "over the cap of 10000 bytes" in (out.error or "")
    assert call(registry, ctx, url=f"{http_server.base_url}{path}", max_response_bytes=60_000).success


def test_traceparent_is_sent_inside_a_span(registry: ToolRegistry, ctx: ToolContext, http_server: _Server) -> None:
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("step") as span:
        assert call(registry, ctx, url=f"{http_server.base_url}/json").success
        trace_id = format(span.get_span_context().trace_id, "032x")
    sent = {k.lower(): v for k, v in http_server.seen[-1]["headers"].items()}
    assert sent["traceparent"].split("-")[1] == trace_id


def test_no_traceparent_without_a_span(registry: ToolRegistry, ctx: ToolContext, http_server: _Server) -> None:
    assert call(registry, ctx, url=f"{http_server.base_url}/json").success
    sent = {k.lower() for k in http_server.seen[-1]["headers"]}
    assert "traceparent" not in sent


def test_connection_refused_is_a_failed_output(registry: ToolRegistry, ctx: ToolContext) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = call(registry, ctx, url=f"http://127.0.0.1:{port}/")
    assert not out.success and "failed" in (out.error or "")


def test_both_json_and_body_is_invalid(registry: ToolRegistry, ctx: ToolContext) -> None:
    from cognitionos_dagster.errors import ToolError

    with pytest.raises(ToolError, match="either `json` or `body`"):
        registry.run("http_request", {"url": "http://127.0.0.1/", "json": {}, "body": "x"}, ctx)
