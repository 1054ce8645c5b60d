"""Quality gates: named policies and the scorers that decide whether an output may flow on."""

from cognitionos_dagster.quality.gate import GateResult, evaluate
from cognitionos_dagster.quality.policies import QualityPolicy, get_policy, load_quality_policies

__all__ = ["GateResult", "QualityPolicy", "evaluate", "get_policy", "load_quality_policies"]
