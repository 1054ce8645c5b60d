"""Agent memory: the pgvector store, namespaces and their grants, lifecycle policies."""
