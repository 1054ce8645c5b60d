"""Turning an `openai` exception into a structured, secret-free `ModelError`.

Callers (failure strategies, escalation records, call records) read the status, model,
provider and Retry-After from the fields; the body excerpt is redacted before it is kept.
"""

from __future__ import annotations

import openai

from cognitionos_dagster.errors import ModelError
from cognitionos_dagster.llm.endpoints import Endpoint, scrub
from cognitionos_dagster.llm.retry import retry_after_seconds

BODY_EXCERPT_CHARS = 500


def model_error(exc: openai.APIError, *, model: str, endpoint: Endpoint | None, prefix: str = "") -> ModelError:
    """The structured form of one failed request to `model`; message and body scrubbed of secrets."""
    status = exc.status_code if isinstance(exc, openai.APIStatusError) else None
    body = exc.response.text[:BODY_EXCERPT_CHARS] if isinstance(exc, openai.APIStatusError) else None
    kind = f"HTTP {status}" if status else type(exc).__name__
    return ModelError(
        scrub(f"{prefix}{kind}: {str(exc).strip()[:300]}", endpoint), status_code=status, model_name=model,
        provider=endpoint.provider if endpoint is not None else None, retry_after=retry_after_seconds(exc),
        body=scrub(body, endpoint) if body else None,
    )
