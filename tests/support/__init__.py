"""Test support shared by every suite (import as `support.<module>`: `tests/` is on sys.path)."""
