"""The database as a Dagster resource: resolves the server at launch, checks the schema once."""

from __future__ import annotations

import threading

import dagster as dg
from pydantic import PrivateAttr

from cognitionos_dagster.db import migrate, server
from cognitionos_dagster.db.connection import Database
from cognitionos_dagster.db.server import DatabaseTarget
from cognitionos_dagster.settings import load_settings

_checked: set[str] = set()
_checked_lock = threading.Lock()


class DatabaseResource(dg.ConfigurableResource):
    """CognitionOS's own database (not Dagster's storage).

    `database_url` left empty means: `COGNITIONOS_DATABASE_URL`, or the embedded server.
    The URL is read when a run starts, so a password never shows in the UI's config.
    """

    database_url: str | None = None
    require_migrated: bool = True

    _target: DatabaseTarget | None = PrivateAttr(default=None)

    def target(self) -> DatabaseTarget:
        if self._target is None:
            settings = load_settings(**({"database_url": self.database_url} if self.database_url else {}))
            self._target = server.resolve(settings)
        return self._target

    def database(self) -> Database:
        url = self.target().app_url
        if self.require_migrated:
            with _checked_lock:
                if url not in _checked:
                    migrate.require_head(url)
                    _checked.add(url)
        return Database(url)
