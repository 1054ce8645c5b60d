"""Agent memory as a Dagster resource: the store, the database it lives in and the model that
summarizes compressed memories, resolved at launch."""

from __future__ import annotations

import dagster as dg
from pydantic import Field

from cognitionos_dagster.db.connection import Database
from cognitionos_dagster.integrations.database import DatabaseResource
from cognitionos_dagster.integrations.llm import LLMResource
from cognitionos_dagster.llm.local_embedding import LocalEmbedder
from cognitionos_dagster.memory.store import MemoryStore
from cognitionos_dagster.memory.summaries import Summarize, model_summarizer
from cognitionos_dagster.settings import load_settings


class MemoryResource(dg.ConfigurableResource):
    """Gives ops and assets the memory store (and its database for lifecycle passes).

    `embedding_dim` left empty means COGNITIONOS_EMBEDDING_DIM (default 384); it must match
    the `memory_embeddings.embedding` column, or the store says which two dimensions disagree.
    """

    database: DatabaseResource = Field(default_factory=DatabaseResource)
    llm: LLMResource = Field(default_factory=LLMResource, description="Writes the summaries a policy asks for.")
    embedding_dim: int | None = None
    ef_search: int = 64

    def db(self) -> Database:
        return self.database.database()

    def store(self) -> MemoryStore:
        dim = self.embedding_dim or load_settings().embedding_dim
        return MemoryStore(self.db(), LocalEmbedder(dim), ef_search=self.ef_search)

    def summarizer(self) -> Summarize:
        return model_summarizer(self.llm.model_client(self.db()))
