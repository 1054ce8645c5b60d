"""One error hierarchy for the whole project.

Every error a user can cause or fix derives from `CognitionOSError` and says what
to change, so the CLI can print it without a traceback and Dagster shows it as the
step's failure reason.
"""

from __future__ import annotations

from typing import Any


def with_hint(message: str, hint: str | None) -> str:
    """The one way a hint is shown: on its own indented line under the message."""
    return f"{message}\n  hint: {hint}" if hint else message


class CognitionOSError(Exception):
    """Base of every error the project raises on purpose."""

    hint: str | None = None

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint

    def __str__(self) -> str:
        return with_hint(super().__str__(), self.hint)


class ConfigError(CognitionOSError):
    """A setting or a resource file is wrong."""


class DatabaseError(CognitionOSError):
    """The database cannot be reached, lacks pgvector, or is not migrated."""


class MigrationError(DatabaseError):
    """A schema migration failed or the schema is not at the expected revision."""


class SpecError(CognitionOSError):
    """A workflow spec is wrong; carries the file, line and column."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: int | None = None,
        hint: str | None = None,
    ) -> None:
        self.file = file
        self.line = line
        self.column = column
        self.message = message
        super().__init__(message, hint=hint)

    @property
    def location(self) -> str:
        """`file:line:col`, or empty when the error belongs to no file (a CLI argument, a reference)."""
        if self.file is None:
            return ""
        parts = [self.file]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def __str__(self) -> str:
        return with_hint(f"{self.location}: {self.message}" if self.location else self.message, self.hint)


class AgentError(CognitionOSError):
    """An agent call failed: bad input, invalid output after re-asks, low confidence."""


# Statuses a retry of the same request cannot change: a bad request, a refused key, an unknown model.
PERMANENT_MODEL_STATUSES = frozenset({400, 401, 403, 404, 422})


class ModelError(AgentError):
    """The model endpoint failed after retries and fallbacks.

    The fields follow pydantic-ai's `ModelHTTPError` so failure strategies and escalation
    records act on the status and the server's Retry-After instead of parsing the message.
    `body` is an excerpt of the response with API keys and bearer tokens already redacted.
    After a fallback chain, the fields are the last model's and `failures` holds each model's.
    """

    def __init__(self, message: str, *, hint: str | None = None, status_code: int | None = None,
                 model_name: str | None = None, provider: str | None = None, retry_after: float | None = None,
                 body: str | None = None, failures: tuple[ModelError, ...] = ()) -> None:
        super().__init__(message, hint=hint)
        self.status_code = status_code
        self.model_name = model_name
        self.provider = provider
        self.retry_after = retry_after
        self.body = body
        self.failures = failures

    @property
    def permanent(self) -> bool:
        """True when asking again cannot help: every model answered with a permanent status."""
        if self.failures:
            return all(f.permanent for f in self.failures)
        return self.status_code in PERMANENT_MODEL_STATUSES

    def fields(self) -> dict[str, Any]:
        """The structured part, JSON-able, for escalation records and step metadata."""
        return {"status_code": self.status_code, "model_name": self.model_name, "provider": self.provider,
                "retry_after": self.retry_after, "body": self.body}


class ModelTimeout(ModelError):
    """The step's time budget ran out during a model call or before the next attempt."""


class ToolError(CognitionOSError):
    """A tool is unknown, not permitted, or failed inside its sandbox."""


class PermissionDenied(CognitionOSError):
    """The acting user or agent may not do this (tool permission, memory grant)."""


class MemoryStoreError(CognitionOSError):
    """A memory operation failed: unknown namespace, wrong embedding dimension, ..."""


class GateFailed(CognitionOSError):
    """A quality gate rejected an output; a gate must fail loudly, never log and pass."""


class ReplayError(CognitionOSError):
    """A deterministic replay lacks a recording or the run cannot be re-executed."""


class AssetError(CognitionOSError):
    """A workflow asset cannot be read: never materialised, or its last value failed a blocking check."""
