"""`http_request`: an HTTP call to an allowlisted host, with the run's trace context attached.

Where it may connect is decided by `NetworkPolicy` (tools/network_policy.py), on every hop.
"""

from __future__ import annotations

import json
import ssl
import time
from functools import cache
from typing import Any, Literal

import certifi
import httpx
from opentelemetry import propagate
from pydantic import Field, model_validator

from cognitionos_dagster.errors import ToolError
from cognitionos_dagster.tools.base import Tool, ToolInput, ToolOutput
from cognitionos_dagster.tools.context import ToolContext
from cognitionos_dagster.tools.network_policy import NetworkPolicy

MAX_RESPONSE_BYTES = 16 * 1024 * 1024


@cache
def _tls_context() -> ssl.SSLContext:
    """Loading the CA bundle costs more than a local request; do it once per process, not once per call."""
    return ssl.create_default_context(cafile=certifi.where())


class HttpRequestInput(ToolInput):
    url: str = Field(pattern=r"^https?://", description="http:// or https:// URL; its host must be allowlisted")
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] = "GET"
    headers: dict[str, str] = Field(default_factory=dict)
    params: dict[str, str | int | float | bool] = Field(
        default_factory=dict, description="query parameters merged into the URL's own query (these win on a clash)"
    )
    json_body: Any = Field(default=None, alias="json", description="a JSON body (not with `body`)")
    body: str | None = Field(default=None, description="a text body (not with `json`)")
    timeout_seconds: float = Field(default=10.0, gt=0, le=600)
    allow_error_status: bool = Field(default=False, description="4xx/5xx answers count as success")
    max_response_bytes: int = Field(default=1024 * 1024, ge=1, le=MAX_RESPONSE_BYTES)
    follow_redirects: bool = Field(default=True, description="at most 5; every hop must be allowlisted")

    model_config = {"populate_by_name": True}

    @model_validator(mode="after")
    def _one_body(self) -> HttpRequestInput:
        if self.json_body is not None and self.body is not None:
            raise ValueError("give either `json` or `body`, not both")
        return self


class HttpRequestOutput(ToolOutput):
    status_code: int | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    body: Any = None
    url: str | None = None
    elapsed_ms: float = 0.0


class HttpRequestTool(Tool):
    name = "http_request"
    description = (
        "Send an HTTP request to a host on COGNITIONOS_HTTP_ALLOWLIST; 4xx/5xx fail unless allow_error_status. "
        "The W3C traceparent of the current span is sent along. result is the body (parsed when JSON)."
    )
    input_model = HttpRequestInput
    output_model = HttpRequestOutput
    permissions_required = ["network"]

    def run(self, data: ToolInput, ctx: ToolContext) -> HttpRequestOutput:
        assert isinstance(data, HttpRequestInput)
        policy = NetworkPolicy(ctx.settings.allowed_hosts)
        headers = dict(data.headers)
        propagate.inject(headers)  # a no-op outside a recording span
        timeout = ctx.cap_timeout(data.timeout_seconds)
        started = time.perf_counter()
        try:
            with policy.client(verify=_tls_context(), timeout=timeout, follow_redirects=data.follow_redirects,
                               max_redirects=5) as client:
                request = client.build_request(data.method, _with_params(data.url, data.params), headers=headers,
                                               json=data.json_body, content=data.body)
                response = client.send(request, stream=True)
                try:
                    raw = _read_capped(response, data.max_response_bytes, started + timeout)
                finally:
                    response.close()
        except httpx.TimeoutException:
            return HttpRequestOutput(success=False, error=f"{data.method} {data.url} timed out after {timeout:g} s")
        except httpx.HTTPError as exc:
            return HttpRequestOutput(success=False, error=f"{data.method} {data.url} failed: {exc}")
        body = _decode(response, raw)
        ok = response.status_code < 400 or data.allow_error_status
        return HttpRequestOutput(
            success=ok, result=body, body=body, status_code=response.status_code, headers=dict(response.headers),
            url=str(response.url), elapsed_ms=round((time.perf_counter() - started) * 1000, 2),
            error=None if ok else f"HTTP {response.status_code} {response.reason_phrase} from {response.url} "
            "(set allow_error_status: true to accept it)",
        )


def _with_params(url: str, params: dict[str, str | int | float | bool]) -> httpx.URL:
    """The URL's own query with `params` merged in (a name in both takes the value of `params`); httpx's
    `params=` would replace the whole query, so `?probe=1` never reached the server."""
    return httpx.URL(url).copy_merge_params(params) if params else httpx.URL(url)


def _read_capped(response: httpx.Response, cap: int, deadline: float) -> bytes:
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > cap:
        raise ToolError(f"response of {declared} bytes is over the cap of {cap} bytes",
                        hint="raise max_response_bytes (at most 16 MiB) or ask for less")
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > cap:
            raise ToolError(f"response body is over the cap of {cap} bytes",
                            hint="raise max_response_bytes (at most 16 MiB) or ask for less")
        if time.perf_counter() > deadline:
            raise httpx.ReadTimeout("the response did not finish within the timeout")
        chunks.append(chunk)
    return b"".join(chunks)


def _decode(response: httpx.Response, raw: bytes) -> Any:
    text = raw.decode(response.encoding or "utf-8", errors="replace")
    if "json" in response.headers.get("content-type", "") and text.strip():
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text
