"""OpenTelemetry spans for runs, agent stages, model calls and tool calls."""
