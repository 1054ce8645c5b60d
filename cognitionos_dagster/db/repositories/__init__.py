"""Repositories: the SQL for one table family each, behind typed methods."""
