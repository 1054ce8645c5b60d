"""A custom scorer a policy names by import path (tests/agents is on sys.path in the suite)."""

from cognitionos_dagster.quality.scoring import ScoringContext, Verdict


def no_todo(ctx: ScoringContext) -> Verdict:
    found = "TODO" in str(ctx.output)
    return Verdict(scorer="no_todo", score=0.0 if found else 1.0, passed=not found,
                   reason="the output still says TODO" if found else None)
