"""Grounding: are the output's claims supported by the context the step used?

Deterministic lexical overlap: each sentence of the output's text is a claim; a claim is
supported when at least `min_support` of its content words occur in the context (memories,
upstream assets). The share of unsupported claims is the hallucination score. It needs no
model and no network, and the verdict names its method (`lexical-overlap`), so a reader knows
it is a word match, not an entailment judgement.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

from cognitionos_dagster.quality.scoring import ScoringContext, Verdict, register_scorer

METHOD = "lexical-overlap"
_WORD = re.compile(r"[a-z0-9]+")
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_STOP_WORDS = (
    "the a an and or but of to in on at for with by from as is are was were be been being it its this that these "
    "those there their they them we you he she his her our your not no yes can will would should could may might "
    "has have had do does did done than then so if into over under about after before all any each more most "
    "other some such only own same too very just also"
)
_STOP = frozenset(_STOP_WORDS.split())
_SKIP_FIELDS = frozenset({"confidence", "errors", "warnings", "tools_used"})


class Grounding(BaseModel):
    method: str = METHOD
    claims: int
    unsupported: list[str]
    hallucination_score: float
    hallucinated: bool


def _words(text: str) -> list[str]:
    return [w.rstrip("s") if len(w) > 4 else w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 2]


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [t for v in value for t in _texts(v)]
    if isinstance(value, dict):
        return [t for k, v in value.items() if k not in _SKIP_FIELDS for t in _texts(v)]
    return []


def claims_of(output: dict[str, Any]) -> list[str]:
    """Sentences with at least two content words (shorter ones assert too little to check)."""
    found = []
    for text in _texts(output):
        for sentence in _SENTENCE.split(text.replace("[offline]", "")):
            if len(_words(sentence)) >= 2:
                found.append(sentence.strip())
    return found


def ground(output: dict[str, Any], context: list[str], *, min_support: float = 0.5,
           max_hallucination_score: float = 0.25) -> Grounding:
    known = set(_words(" ".join(context)))
    claims = claims_of(output)
    unsupported = []
    for claim in claims:
        words = _words(claim)
        if sum(w in known for w in words) / len(words) < min_support:
            unsupported.append(claim)
    score = round(len(unsupported) / len(claims), 4) if claims else 0.0
    return Grounding(claims=len(claims), unsupported=unsupported, hallucination_score=score,
                     hallucinated=score > max_hallucination_score)


@register_scorer("grounding")
def grounding_scorer(ctx: ScoringContext) -> Verdict | None:
    """Only when the step used context; otherwise there is nothing to be grounded in."""
    spec = ctx.policy.grounding
    if not ctx.context or not spec.enabled:
        return None
    result = ground(ctx.output, ctx.context, min_support=spec.min_support,
                    max_hallucination_score=spec.max_hallucination_score)
    ctx.extra["grounding"] = result
    reason = (f"{len(result.unsupported)} of {result.claims} claim(s) not supported by the context ({METHOD}): "
              + "; ".join(c[:80] for c in result.unsupported[:3])) if result.unsupported else None
    failed = result.hallucinated and spec.fail_on_hallucination
    return Verdict(scorer="grounding", score=round(1 - result.hallucination_score, 4),
                   passed=not failed, reason=reason if (failed or result.hallucinated) else None)
