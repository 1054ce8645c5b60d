"""A local embedder that needs no download and no network: feature hashing in numpy.

Word unigrams and character trigrams are hashed into `dim` signed buckets and the
vector is L2-normalised, so texts that share words or word pieces land close together
(cosine). It knows nothing of synonyms; it exists so memory works offline, in tests and
in benchmarks at tens of thousands of texts a second. Every process computes the same
vector for the same text (fixed multipliers, no per-process hash seed), which stored
embeddings rely on. The whole batch is hashed as one byte buffer; no per-word Python loop.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cognitionos_dagster.settings import Settings

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_POSITION_MULTIPLIERS = np.random.default_rng(20240601).integers(1, 2**63, size=64, dtype=np.uint64) | np.uint64(1)
_WORD_WEIGHT = 1.0
_TRIGRAM_WEIGHT = 0.35
_CHUNK = 2048  # texts per bincount: keeps the scratch matrix in cache


def _bucket_and_sign(codes: np.ndarray, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Mix 64-bit feature codes (Fibonacci hashing) into a bucket and a +-1 sign."""
    mixed = codes * _GOLDEN  # wraps modulo 2**64 by design
    mixed ^= mixed >> np.uint64(29)
    mixed *= _GOLDEN
    buckets = ((mixed >> np.uint64(32)) % np.uint64(dim)).astype(np.int64)
    signs = np.where((mixed >> np.uint64(31)) & np.uint64(1), 1.0, -1.0)
    return buckets, signs


def _word_mask(buf: np.ndarray) -> np.ndarray:
    """Bytes that belong to words: ASCII letters, digits, '_' and every non-ASCII byte (UTF-8)."""
    return (
        ((buf >= ord("a")) & (buf <= ord("z")))
        | ((buf >= ord("0")) & (buf <= ord("9")))
        | (buf == ord("_"))
        | (buf >= 128)
    )


class LocalEmbedder:
    """Implements `llm.embeddings.Embedder` with feature hashing; deterministic across processes."""

    name = "local-hashing-v1"

    def __init__(self, dim: int = 384) -> None:
        if dim < 8:
            raise ValueError(f"embedding dimension must be >= 8, got {dim}")
        self.dim = dim

    @classmethod
    def from_settings(cls, settings: Settings) -> LocalEmbedder:
        return cls(settings.embedding_dim)

    def __repr__(self) -> str:
        return f"LocalEmbedder(dim={self.dim})"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), _CHUNK):
            chunk = texts[start : start + _CHUNK]
            out[start : start + len(chunk)] = self._embed_chunk(chunk)
        return out

    def _embed_chunk(self, texts: Sequence[str]) -> np.ndarray:
        n = len(texts)
        encoded = [t.lower().encode() for t in texts]
        lengths = np.fromiter((len(b) for b in encoded), dtype=np.int64, count=n)
        buf = np.frombuffer(b"\x00".join(encoded) + b"\x00\x00", dtype=np.uint8)
        row_of = np.repeat(np.arange(n, dtype=np.int64), lengths + 1)
        row_of = np.concatenate([row_of, np.full(buf.size - row_of.size, n, dtype=np.int64)])
        rows_w, codes_w = _words(buf, row_of)
        rows_c, codes_c = _trigrams(buf, row_of)
        b_w, s_w = _bucket_and_sign(codes_w, self.dim)
        b_c, s_c = _bucket_and_sign(codes_c, self.dim)
        flat = np.concatenate([rows_w * self.dim + b_w, rows_c * self.dim + b_c])
        weights = np.concatenate([s_w * _WORD_WEIGHT, s_c * _TRIGRAM_WEIGHT])
        matrix = np.bincount(flat, weights=weights, minlength=n * self.dim)[: n * self.dim].reshape(n, self.dim)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        empty = norms[:, 0] == 0
        if empty.any():  # an empty text still gets a valid unit vector
            matrix[empty, 0] = 1.0
            norms[empty] = 1.0
        return (matrix / norms).astype(np.float32)


def _words(buf: np.ndarray, row_of: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One code per word: sum of byte * position multiplier, reduced per word in one pass."""
    in_word = _word_mask(buf)
    if not in_word.any():
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint64)
    starts = in_word & ~np.concatenate([[False], in_word[:-1]])
    word_idx = np.flatnonzero(in_word)
    start_flags = starts[word_idx]
    word_no = np.cumsum(start_flags) - 1
    first = np.flatnonzero(start_flags)
    pos = np.arange(word_idx.size) - first[word_no]
    contrib = buf[word_idx].astype(np.uint64) * _POSITION_MULTIPLIERS[pos & 63]
    codes = np.add.reduceat(contrib, first) + np.uint64(1 << 40)  # disjoint from trigram codes
    return row_of[word_idx[first]], codes


def _trigrams(buf: np.ndarray, row_of: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    wide = buf.astype(np.uint64)
    a, b, c = wide[:-2], wide[1:-1], wide[2:]
    valid = (a != 0) & (b != 0) & (c != 0)
    codes = a | (b << np.uint64(8)) | (c << np.uint64(16))
    return row_of[: a.size][valid], codes[valid]
