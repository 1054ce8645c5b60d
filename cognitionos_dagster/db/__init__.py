"""Storage: the PostgreSQL server (embedded or external), connections, schema migrations, repositories.

The lowest layer: it imports nothing else from the package but `settings` and `errors`.
"""
