"""Tools: the base class, the registry with permission checks, and the sandboxed built-ins."""
