"""The price table file, and embeddings over the same endpoint."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openai
import pytest
from support.model_fixtures import endpoint_for

from cognitionos_dagster.errors import ConfigError
from cognitionos_dagster.llm.embeddings import Embedder
from cognitionos_dagster.llm.openai_embedding import OpenAIEmbedder, embedder_for
from cognitionos_dagster.llm.pricing import load_price_table
from cognitionos_dagster.settings import PROJECT_ROOT, load_settings


def test_shipped_price_table_prices_known_models_and_not_unknown_ones() -> None:
    table = load_price_table(PROJECT_ROOT / "resources")
    assert table.cost("gpt-4o-mini", 1_000_000, 1_000_000) == pytest.approx(0.75)
    assert table.cost("gpt-4o-mini-2024-07-18", 1_000_000, 0) == pytest.approx(0.15)  # longest prefix wins
    assert table.cost("gpt-4o-2024-08-06", 1_000_000, 0) == pytest.approx(2.5)
    assert table.cost("llama3:8b", 10_000, 10_000) == 0.0


def test_a_bad_price_file_names_its_line(tmp_path: Path) -> None:
    (tmp_path / "models.yaml").write_text("models:\n  gpt-x:\n    input_per_million: -1\n")
    with pytest.raises(ConfigError, match=r"models\.yaml:3: models\.gpt-x\.input_per_million"):
        load_price_table(tmp_path)


def test_openai_embedder_asks_for_the_configured_dimension(openai_server) -> None:
    client = endpoint_for(openai_server).open()
    embedder = OpenAIEmbedder(client, model="text-embedding-3-small", dim=16, batch_size=2)
    assert isinstance(embedder, Embedder)
    vectors = embedder.embed(["alpha", "beta", "gamma"])
    assert vectors.shape == (3, 16) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.allclose(embedder.embed(["beta"])[0], vectors[1], atol=1e-6)
    bodies = [r.json for r in openai_server.requests if r.route.endswith("/embeddings")]
    assert [b["input"] for b in bodies[:2]] == [["alpha", "beta"], ["gamma"]]
    assert all(b["dimensions"] == 16 for b in bodies)


def test_a_server_ignoring_dimensions_is_a_config_error(openai_server) -> None:
    from support.openai_server import Reply

    openai_server.enqueue(Reply(body={"object": "list", "model": "m", "usage": {"prompt_tokens": 1, "total_tokens": 1},
                                      "data": [{"object": "embedding", "index": 0, "embedding": [0.1] * 7}]}))
    embedder = OpenAIEmbedder(endpoint_for(openai_server).open(), model="nomic", dim=16)
    with pytest.raises(ConfigError, match="returned 7 dimensions, expected 16"):
        embedder.embed(["x"])


def test_embedder_for_an_endpoint_is_the_openai_one(openai_server) -> None:
    settings = load_settings(OPENAI_BASE_URL=openai_server.base_url, embedding_dim=32)
    embedder = embedder_for(settings)
    assert isinstance(embedder, OpenAIEmbedder) and embedder.dim == 32
    assert isinstance(embedder.client, openai.OpenAI)
    assert embedder.embed(["x"]).shape == (1, 32)


def test_offline_embedder_is_the_local_one() -> None:
    pytest.importorskip("cognitionos_dagster.llm.local_embedding")
    embedder = embedder_for(load_settings(embedding_dim=64))
    assert type(embedder).__name__ == "LocalEmbedder" and embedder.dim == 64
