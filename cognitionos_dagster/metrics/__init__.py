"""Agent metrics aggregated from recorded step executions."""
