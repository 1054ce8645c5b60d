"""OpenTelemetry spans for runs, agent stages, model calls and tool calls."""

from cognitionos_dagster.tracing.spans import configure_tracing, reset_tracing, set_attributes, span

__all__ = ["configure_tracing", "reset_tracing", "set_attributes", "span"]
