"""Dagster glue: assembles every domain's definitions into one `Definitions`."""
