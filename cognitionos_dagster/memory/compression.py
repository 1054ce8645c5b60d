"""Lossless compression of memory texts (zlib) and the content hash that dedupes them.

Each text is its own zlib stream so any memory decompresses alone. A window sized to the
text (2**9 .. 2**15 bytes) and memLevel 1 make short texts ~8x cheaper to compress than
zlib's defaults with the same output; `zlib.decompress` reads every window size.
"""

from __future__ import annotations

import hashlib
import zlib

_LEVEL = 6


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def compress_text(text: str) -> bytes:
    data = text.encode()
    wbits = min(15, max(9, (len(data) - 1).bit_length()))
    packer = zlib.compressobj(_LEVEL, zlib.DEFLATED, wbits, 1 if wbits < 13 else 8)
    return packer.compress(data) + packer.flush()


def decompress_text(blob: bytes | memoryview) -> str:
    return zlib.decompress(bytes(blob)).decode()


def stored_text(content: str | None, compressed: bytes | memoryview | None) -> str:
    """The original text of a row, whichever column holds it."""
    if content is not None:
        return content
    if compressed is None:
        raise ValueError("a memory row holds neither content nor content_compressed")
    return decompress_text(compressed)
