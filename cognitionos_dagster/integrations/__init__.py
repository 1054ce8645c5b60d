"""Dagster resources (`ConfigurableResource`) over the domain: database, model, embeddings, tracing.

They read settings at launch time, never at import, and expose typed methods.
"""
