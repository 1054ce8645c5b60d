"""Typed agents: role schemas, definitions, prompts, the AgentExecutor pipeline, failure strategies."""
