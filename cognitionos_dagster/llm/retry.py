"""Which model errors are worth retrying, and how long to wait between attempts.

The `openai` client's own retries are switched off (max_retries=0) so that every attempt
is visible here: counted, traced, recorded, and slept through an injectable `sleep`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Literal

import openai

BackoffKind = Literal["constant", "linear", "exponential"]


def backoff_delay(
    attempt: int, *, kind: BackoffKind = "exponential", base: float = 1.0, jitter: bool = True,
    max_delay: float = 300.0, rng: random.Random | None = None,
) -> float:
    """Seconds to wait before retry number `attempt` (1-based).

    Jitter is "equal jitter": half the delay fixed, half random, so retries of many
    callers spread out without ever collapsing to zero.
    """
    if attempt < 1:
        raise ValueError("attempt is 1-based")
    if kind == "constant":
        delay = base
    elif kind == "linear":
        delay = base * attempt
    else:
        delay = base * (2 ** (attempt - 1))
    delay = min(delay, max_delay)
    if jitter and delay > 0:
        delay = delay / 2 + (rng or random).uniform(0, delay / 2)
    return delay


@dataclass(frozen=True)
class RetryPolicy:
    """Retries of one model on transient errors (429, 5xx, timeouts, connection errors)."""

    max_retries: int = 3
    base_delay: float = 0.5
    max_delay: float = 30.0
    jitter: bool = True
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False, repr=False)

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """The server's Retry-After wins (capped by max_delay); otherwise exponential backoff."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_delay)
        return backoff_delay(attempt, kind="exponential", base=self.base_delay, jitter=self.jitter,
                             max_delay=self.max_delay)


def is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, openai.APITimeoutError | openai.APIConnectionError):
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in (408, 409, 429) or exc.status_code >= 500
    return False


def retry_after_seconds(exc: BaseException) -> float | None:
    """Retry-After as seconds or an HTTP date, or OpenAI's retry-after-ms; None when absent."""
    if not isinstance(exc, openai.APIStatusError):
        return None
    headers = exc.response.headers
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return float(ms) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return max(parsedate_to_datetime(value).timestamp() - time.time(), 0.0)
    except (TypeError, ValueError):
        return None


def is_auth_error(exc: BaseException) -> bool:
    """A wrong key fails every model on the endpoint alike: no point in falling back."""
    return isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError)
