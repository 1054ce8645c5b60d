"""Embeddings from an OpenAI-compatible endpoint, at the one dimension the memory store uses.

`dimensions=` asks text-embedding-3 models to shorten their vectors; servers that ignore it
and answer with another length are a configuration error, not something to pad or cut.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import openai

from cognitionos_dagster.errors import ConfigError, ModelError
from cognitionos_dagster.llm.embeddings import Embedder
from cognitionos_dagster.llm.endpoints import Endpoint
from cognitionos_dagster.llm.model_errors import model_error
from cognitionos_dagster.llm.retry import RetryPolicy, is_retryable, retry_after_seconds
from cognitionos_dagster.settings import Settings
from cognitionos_dagster.tracing.spans import span


class OpenAIEmbedder:
    """Implements the Embedder protocol: unit-length float32 rows of exactly `dim` values."""

    def __init__(self, client: openai.OpenAI, *, model: str, dim: int, retry: RetryPolicy | None = None,
                 endpoint: Endpoint | None = None, batch_size: int = 256) -> None:
        self.client = client
        self.model = model
        self.dim = dim
        self.name = f"openai:{model}"
        self.retry = retry or RetryPolicy()
        self._endpoint = endpoint
        self.batch_size = batch_size

    def __repr__(self) -> str:
        return f"OpenAIEmbedder({self.model!r}, dim={self.dim})"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        rows: list[list[float]] = []
        with span("llm.embed", model=self.model, count=len(texts)):
            for start in range(0, len(texts), self.batch_size):
                rows.extend(self._batch(list(texts[start:start + self.batch_size])))
        matrix = np.asarray(rows, dtype=np.float32).reshape(len(texts), self.dim)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        return matrix / np.where(norms == 0, 1.0, norms)

    def _batch(self, texts: list[str]) -> list[list[float]]:
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self.client.embeddings.create(model=self.model, input=texts, dimensions=self.dim)
                break
            except openai.APIError as exc:
                if attempt > self.retry.max_retries or not is_retryable(exc):
                    failure = model_error(exc, model=self.model, endpoint=self._endpoint,
                                          prefix=f"embedding with {self.model} failed: ")
                    raise ModelError(str(failure), hint="check COGNITIONOS_EMBEDDING_MODEL and the endpoint",
                                     **failure.fields()) from exc
                self.retry.sleep(self.retry.delay(attempt, retry_after_seconds(exc)))
        data = sorted(response.data, key=lambda d: d.index)
        for item in data:
            if len(item.embedding) != self.dim:
                raise ConfigError(
                    f"embedding model {self.model} returned {len(item.embedding)} dimensions, expected {self.dim}",
                    hint="set COGNITIONOS_EMBEDDING_DIM to the model's size, or use a model that supports dimensions=",
                )
        return [list(item.embedding) for item in data]


def embedder_for(settings: Settings, *, endpoint: Endpoint | None = None, retry: RetryPolicy | None = None) -> Embedder:
    """The configured embedder: OpenAI-compatible when an endpoint is set, else the local one (no download)."""
    if settings.offline and endpoint is None:
        from cognitionos_dagster.llm.local_embedding import LocalEmbedder  # written with the memory store

        return LocalEmbedder(settings.embedding_dim)
    endpoint = endpoint or Endpoint.from_settings(settings)
    return OpenAIEmbedder(endpoint.open(), model=settings.embedding_model, dim=settings.embedding_dim, retry=retry,
                          endpoint=endpoint)
