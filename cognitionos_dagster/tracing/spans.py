"""Spans on the OpenTelemetry API: no-ops until `configure_tracing` installs a provider.

Domain code opens spans with `span(...)` and never decides where they go; the process
that runs it (a Dagster run worker, the CLI, a test) chooses an exporter once.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.trace import Span, Status, StatusCode

from cognitionos_dagster.settings import Settings

TRACER_NAME = "cognitionos"
_provider: TracerProvider | None = None
_lock = threading.Lock()

AttributeValue = str | bool | int | float


def _clean(attributes: Mapping[str, Any]) -> dict[str, AttributeValue]:
    """OpenTelemetry accepts only scalars (and lists of them); None means 'not known', so it is left out."""
    out: dict[str, AttributeValue] = {}
    for key, value in attributes.items():
        if value is None:
            continue
        out[key] = value if isinstance(value, str | bool | int | float) else str(value)
    return out


def _tracer() -> trace.Tracer:
    provider = _provider
    return provider.get_tracer(TRACER_NAME) if provider is not None else trace.get_tracer(TRACER_NAME)


@contextmanager
def span(name: str, **attributes: Any) -> Iterator[Span]:
    """A span named `name`; an exception marks it failed (and is re-raised, never swallowed)."""
    with _tracer().start_as_current_span(name, attributes=_clean(attributes), record_exception=True) as current:
        try:
            yield current
        except BaseException as exc:
            current.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            raise


def set_attributes(current: Span, **attributes: Any) -> None:
    """Attach what is only known at the end of a stage (tokens, cost, confidence)."""
    current.set_attributes(_clean(attributes))


def configure_tracing(
    settings: Settings, *, exporter: SpanExporter | None = None, install_global: bool = True
) -> TracerProvider | None:
    """Install an SDK provider exporting over OTLP/HTTP when an endpoint is configured.

    `exporter` replaces OTLP (tests pass an in-memory one). Returns None, leaving the
    no-op provider in place, when there is nowhere to send spans.
    """
    global _provider
    endpoint = settings.otel_exporter_otlp_endpoint
    if exporter is None and not endpoint:
        return None
    with _lock:
        provider = TracerProvider(resource=Resource.create({"service.name": "cognitionos"}))
        if exporter is not None:
            provider.add_span_processor(SimpleSpanProcessor(exporter))
        else:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            assert endpoint is not None
            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=_traces_url(endpoint))))
        if _provider is not None:
            _provider.shutdown()
        _provider = provider
        if install_global:
            trace.set_tracer_provider(provider)
        return provider


def ensure_tracing(settings: Settings) -> None:
    """Configure once per process (a run worker builds its services per run; the provider stays)."""
    if _provider is None:
        configure_tracing(settings)


def reset_tracing() -> None:
    """Back to no-op spans (the global provider, once set, stays; ours is shut down)."""
    global _provider
    with _lock:
        if _provider is not None:
            _provider.shutdown()
        _provider = None


def _traces_url(endpoint: str) -> str:
    """OTEL_EXPORTER_OTLP_ENDPOINT names the collector's base; traces go to /v1/traces under it."""
    base = endpoint.rstrip("/")
    return base if base.endswith("/v1/traces") else f"{base}/v1/traces"


@contextmanager
def run_trace(run_id: str) -> Iterator[None]:
    """Spans opened inside belong to one trace per run whose trace id *is* the run id.

    A Dagster run id is a UUID (128 bits, like a trace id), so a trace can be found from the
    run page and the run from the trace without any lookup table. Ids that are not UUIDs leave
    the current context alone.
    """
    import hashlib
    import uuid

    from opentelemetry import context as otel_context

    try:
        trace_id = uuid.UUID(run_id).int
    except ValueError:
        yield
        return
    span_id = int.from_bytes(hashlib.sha256(run_id.encode()).digest()[:8], "big") or 1
    parent = trace.NonRecordingSpan(
        trace.SpanContext(trace_id=trace_id, span_id=span_id, is_remote=True,
                          trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED))
    )
    token = otel_context.attach(trace.set_span_in_context(parent))
    try:
        yield
    finally:
        otel_context.detach(token)


TAG_TRACE_ID = "cognitionos/trace_id"
TAG_TRACE_URL = "cognitionos/trace_url"


def trace_tags(run_id: str, url_template: str | None) -> dict[str, str]:
    """The run's trace id (its run id as 32 hex digits, as `run_trace` uses it) and, from a template
    such as `http://jaeger:16686/trace/{trace_id}`, the link to the trace."""
    import uuid

    try:
        trace_id = uuid.UUID(run_id).hex
    except ValueError:
        return {}
    tags = {TAG_TRACE_ID: trace_id}
    if url_template:
        tags[TAG_TRACE_URL] = url_template.replace("{trace_id}", trace_id)
    return tags
