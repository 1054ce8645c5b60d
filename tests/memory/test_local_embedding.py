from __future__ import annotations

import subprocess
import sys

import numpy as np

from cognitionos_dagster.llm.embeddings import Embedder
from cognitionos_dagster.llm.local_embedding import LocalEmbedder
from cognitionos_dagster.settings import load_settings


def test_implements_protocol_with_unit_vectors_of_the_configured_dim() -> None:
    embedder = LocalEmbedder.from_settings(load_settings(embedding_dim=128))
    assert isinstance(embedder, Embedder)
    vectors = embedder.embed(["the deployment failed", "", "ünïcödé text ✓", "x" * 5000])
    assert vectors.shape == (4, 128) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_similar_texts_are_closer_than_unrelated_ones() -> None:
    a, b, c = LocalEmbedder(384).embed([
        "the web service deployment failed on missing credentials",
        "deploying the web service failed: credentials missing",
        "bananas are a good source of potassium",
    ])
    assert float(a @ b) > 0.5 > float(a @ c) + 0.3


def test_batch_independent_and_same_vector_in_another_process() -> None:
    text = "memory of a planner agent about rollback plans"
    embedder = LocalEmbedder(384)
    alone = embedder.embed([text])[0]
    in_batch = embedder.embed(["something else entirely", text, "and more"])[1]
    assert np.allclose(alone, in_batch)
    code = (
        "from cognitionos_dagster.llm.local_embedding import LocalEmbedder;"
        f"print(','.join(repr(float(x)) for x in LocalEmbedder(384).embed([{text!r}])[0]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONHASHSEED": "12345"}).stdout
    assert np.allclose(np.array([float(x) for x in out.split(",")]), alone)
