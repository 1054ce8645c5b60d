"""What every embedding provider offers: one configured dimension for all of them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into unit-length float32 vectors of exactly `dim` dimensions."""

    dim: int
    name: str

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Shape (len(texts), dim), dtype float32, each row L2-normalised."""
        ...
