"""WorkflowSpec -> Dagster job: one op per step, retries, fan-out, conditions, sub-workflows."""
