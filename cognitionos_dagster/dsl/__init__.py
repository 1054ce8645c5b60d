"""Workflow specs: strict models, YAML loading with positions, expressions, lint rules. No Dagster."""
