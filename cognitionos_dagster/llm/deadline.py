"""The time left to the step that makes a model call, so the call never outlives its step.

The step runner sets a budget around the step's work (`within`); the model client reads
`remaining()` before each attempt and back-off wait. A context variable carries it, so the
budget follows the step into the worker thread that runs it (and into its `foreach` items)
without being passed through every agent and tool signature.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_deadline: ContextVar[float | None] = ContextVar("cognitionos_deadline", default=None)


@contextmanager
def within(seconds: float | None) -> Iterator[None]:
    """Work inside has at most `seconds`; a nested budget never extends the outer one."""
    if not seconds:
        yield
        return
    end = time.monotonic() + seconds
    outer = _deadline.get()
    token = _deadline.set(end if outer is None else min(outer, end))
    try:
        yield
    finally:
        _deadline.reset(token)


def remaining() -> float | None:
    """Seconds left (may be negative), or None when no budget applies."""
    end = _deadline.get()
    return None if end is None else end - time.monotonic()
