"""The model runtime as a Dagster resource: chat, embeddings and agents on one configured endpoint.

Empty fields fall back to the environment at launch (OPENAI_API_KEY, OPENAI_BASE_URL,
COGNITIONOS_LLM_MODEL, COGNITIONOS_EMBEDDING_MODEL); with neither key nor base URL the
offline provider answers. Set `api_key` with `dg.EnvVar("OPENAI_API_KEY")` so the UI shows
the variable's name, never its value.
"""

from __future__ import annotations

from typing import Any

import dagster as dg
from pydantic import Field

from cognitionos_dagster.agents.runtime import AgentRuntime
from cognitionos_dagster.db.connection import Database
from cognitionos_dagster.llm.client import ModelClient
from cognitionos_dagster.llm.embeddings import Embedder
from cognitionos_dagster.llm.endpoints import Endpoint
from cognitionos_dagster.llm.openai_embedding import embedder_for
from cognitionos_dagster.llm.pricing import load_price_table
from cognitionos_dagster.llm.retry import RetryPolicy
from cognitionos_dagster.memory.interface import MemoryProvider
from cognitionos_dagster.settings import Settings, load_settings
from cognitionos_dagster.tools.registry import ToolRegistry


class LLMResource(dg.ConfigurableResource):
    """OpenAI, Azure OpenAI (set azure_api_version) or any OpenAI-compatible server (vLLM, Ollama, llama.cpp)."""

    base_url: str | None = Field(default=None, description="Endpoint; empty = OPENAI_BASE_URL or OpenAI's.")
    api_key: str | None = Field(default=None, repr=False, description="Use EnvVar('OPENAI_API_KEY'); never a literal.")
    model: str | None = Field(default=None, description="Default chat model; empty = COGNITIONOS_LLM_MODEL.")
    embedding_model: str | None = Field(default=None, description="Empty = COGNITIONOS_EMBEDDING_MODEL.")
    timeout_seconds: float = Field(default=60.0, gt=0, description="Per HTTP request.")
    max_retries: int = Field(default=3, ge=0, le=10, description="On 429, 5xx, timeouts, connection errors.")
    retry_base_seconds: float = Field(default=0.5, ge=0, description="First backoff delay (Retry-After wins).")
    azure_api_version: str | None = Field(default=None, description="Set for Azure OpenAI, e.g. 2024-10-21.")

    def settings(self) -> Settings:
        """Settings read now, with this resource's non-empty fields winning over the environment."""
        overrides: dict[str, Any] = {}
        if self.base_url:
            overrides["OPENAI_BASE_URL"] = self.base_url
        if self.api_key:
            overrides["OPENAI_API_KEY"] = self.api_key
        if self.model:
            overrides["llm_model"] = self.model
        if self.embedding_model:
            overrides["embedding_model"] = self.embedding_model
        return load_settings(**overrides)

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(max_retries=self.max_retries, base_delay=self.retry_base_seconds)

    def endpoint(self, settings: Settings | None = None) -> Endpoint | None:
        settings = settings or self.settings()
        if settings.offline:
            return None
        return Endpoint.from_settings(settings, timeout_seconds=self.timeout_seconds,
                                      azure_api_version=self.azure_api_version)

    def model_client(self, db: Database | None = None) -> ModelClient:
        settings = self.settings()
        return ModelClient(default_model=settings.llm_model, endpoint=self.endpoint(settings),
                           prices=load_price_table(settings.resources_dir), retry=self.retry_policy(), db=db)

    def embedder(self) -> Embedder:
        settings = self.settings()
        return embedder_for(settings, endpoint=self.endpoint(settings), retry=self.retry_policy())

    def agent_runtime(self, db: Database | None = None, memory: MemoryProvider | None = None,
                      tools: ToolRegistry | None = None) -> AgentRuntime:
        return AgentRuntime(self.settings(), db=db, memory=memory, tools=tools, client=self.model_client(db))
