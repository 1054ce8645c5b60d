"""Role and tool input models as the agents/tools packages would define them, and the catalog built from them."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from cognitionos_dagster.dsl.catalog import Catalog

GOLDEN = Path(__file__).parent / "golden"


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PlannerInput(_Input):
    goal: str
    constraints: list[str] = []


class ExecutorInput(_Input):
    task_description: str


class CriticInput(_Input):
    content: str
    criteria: list[str]


class SummarizerInput(_Input):
    content: str


class PythonInput(_Input):
    code: str
    timeout_seconds: float = 30


def real_catalog() -> Catalog:
    return Catalog(
        agents={"planner": PlannerInput, "executor": ExecutorInput, "critic": CriticInput,
                "summarizer": SummarizerInput, "custom": None},
        tools={"execute_python": PythonInput, "http_request": None},
        policies=frozenset({"strict", "lenient"}),
    )
