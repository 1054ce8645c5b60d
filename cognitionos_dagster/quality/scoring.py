"""Pluggable scorers: each judges one aspect of an output and returns a verdict, like a tool.

Built-ins are named (`schema`, `confidence`, `quality`, `critic`, `verifier`, `grounding`);
a policy's `scorers:` adds more by name (`register_scorer`) or by import path
(`my_pkg.checks:no_secrets`). A name that resolves to nothing is a load error of the policy
file, never a silent pass at run time.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel


class Verdict(BaseModel):
    """One scorer's judgement; `passed=None` means it had nothing to judge (not applicable)."""

    scorer: str
    score: float | None = None
    passed: bool | None = None
    reason: str | None = None


@dataclass
class ScoringContext:
    """What a scorer may look at: the output and the scores the gate gathered for it."""

    policy: Any  # QualityPolicy (typed loosely: policies import this module)
    output: dict[str, Any]
    confidence: float | None
    quality_score: float
    critic_score: float | None = None
    verifier_score: float | None = None
    schema_errors: list[str] = field(default_factory=list)
    context: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


Scorer = Callable[[ScoringContext], Verdict | None]
_REGISTRY: dict[str, Scorer] = {}


def register_scorer(name: str) -> Callable[[Scorer], Scorer]:
    """Decorator: make `fn` available to policies as `scorers: [name]`."""

    def add(fn: Scorer) -> Scorer:
        _REGISTRY[name] = fn
        return fn

    return add


def _import(path: str) -> Scorer | None:
    module, sep, attr = path.partition(":")
    if not sep:
        module, _, attr = path.rpartition(".")
    if not module:
        return None
    try:
        fn = getattr(importlib.import_module(module), attr, None)
    except ImportError:
        return None
    return fn if callable(fn) else None


def resolve_scorer(name: str) -> Scorer:
    from cognitionos_dagster.quality import scorers  # noqa: F401 - registers the built-ins

    found = _REGISTRY.get(name) or (_import(name) if "." in name or ":" in name else None)
    if found is None:
        raise ValueError(f"unknown scorer {name!r} (known: {', '.join(sorted(_REGISTRY))}; or an import path "
                         "such as my_pkg.checks:no_secrets)")
    return found


def check_scorer_name(name: str) -> None:
    """Raises ValueError for a name that resolves to nothing (the policy loader adds the line)."""
    resolve_scorer(name)


def known_scorers() -> list[str]:
    from cognitionos_dagster.quality import scorers  # noqa: F401

    return sorted(_REGISTRY)
