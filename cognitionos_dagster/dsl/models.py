"""The workflow spec as strict, frozen Pydantic models.

The models are the contract between the YAML a user writes and the compiler: every key of
`spec/workflow-dsl.md` is a field here, unknown keys are refused (`extra="forbid"`), values
are not coerced (`strict=True`: `timeout_seconds: "60"` is an error, not 60), and each step
keeps the file position it came from so later errors can point at it. Rules that need the
whole spec or other files (cycles, catalog names, expressions) live in `lint.py`.
"""

from __future__ import annotations

from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PrivateAttr,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from cognitionos_dagster.dsl import formats
from cognitionos_dagster.dsl.expressions import referenced_steps
from cognitionos_dagster.dsl.inputs import InputType, validate_inputs, value_problem
from cognitionos_dagster.errors import CognitionOSError, SpecError

OnFailure = Literal["retry", "skip", "reassign", "escalate", "fail"]
Backoff = Literal["constant", "linear", "exponential"]
StepKind = Literal["agent", "tool", "workflow"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Position(_Model):
    """Where a node starts in its file; line and column are 1-based."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


NOWHERE = Position(file="<memory>", line=1, column=1)


class RetrySpec(_Model):
    max_attempts: int = Field(default=1, ge=1, le=100)
    backoff: Backoff = "exponential"
    delay_seconds: float = Field(default=1.0, ge=0)
    jitter: bool = False

    def merged_over(self, base: RetrySpec | None) -> RetrySpec:
        """This retry with the keys it does not set taken from `base` (the workflow defaults)."""
        if base is None:
            return self
        return base.model_copy(update={name: getattr(self, name) for name in self.model_fields_set})


class InputSpec(_Model):
    type: InputType
    required: bool = False
    default: Any = None
    enum: list[Any] | None = None
    items: InputType | None = None
    description: str | None = None
    from_asset: str | None = None
    """`<workflow id>/<asset name>`: the value is that asset's latest materialised value."""

    @field_validator("from_asset")
    @classmethod
    def _asset_key(cls, value: str | None) -> str | None:
        return None if value is None else check_asset_key(value)

    @model_validator(mode="after")
    def _consistent(self) -> InputSpec:
        if self.items is not None and self.type != "array":
            raise ValueError(f"`items` only applies to type array, not {self.type}; remove it or use type: array")
        if self.enum is not None:
            if not self.enum:
                raise ValueError("`enum` is empty; list the allowed values or remove it")
            for value in self.enum:
                problem = value_problem(self.model_copy(update={"enum": None}), value)
                if problem:
                    raise ValueError(f"`enum` value {value!r} does not fit type {self.type}: {problem}")
        if self.default is not None:
            problem = value_problem(self, self.default)
            if problem:
                raise ValueError(f"`default` does not fit the input: {problem}")
        return self


class DefaultsSpec(_Model):
    retry: RetrySpec | None = None
    timeout_seconds: float | None = Field(default=None, gt=0)
    on_failure: OnFailure | None = None


class ReassignSpec(_Model):
    """Where a failed step goes next; one type for workflow steps and agent files, so the
    step's `reassign_to` reaches the failure strategy as is."""

    agent: str | None = None
    model: str | None = None

    @model_validator(mode="after")
    def _something(self) -> ReassignSpec:
        if self.agent is None and self.model is None:
            raise ValueError("reassign_to needs `agent` and/or `model`")
        return self


class RoleDefaults(_Model):
    """What an agent role's file says about failures, where it says it (None: the file is silent).

    The third level of a step's settings: the step, then the workflow's `defaults`, then these,
    then the platform default. The catalog builds them from `resources/agents/<role>.yaml`.
    """

    on_failure: OnFailure | None = None
    max_attempts: int | None = Field(default=None, ge=1, le=100)
    delay_seconds: float | None = Field(default=None, ge=0)
    reassign_to: ReassignSpec | None = None


class WorkflowRef(_Model):
    """A sub-workflow by id, optionally pinned to a version (`health_check@1.0.0`)."""

    id: str
    version: str | None = None

    def __str__(self) -> str:
        return self.id if self.version is None else f"{self.id}@{self.version}"

    @classmethod
    def parse(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        ident, sep, version = value.partition("@")
        formats.check_identifier(ident, "workflow id")
        if sep:
            formats.check_version(version)
        return cls(id=ident, version=version if sep else None)


WorkflowRefField = Annotated[
    WorkflowRef,
    BeforeValidator(WorkflowRef.parse),
    PlainSerializer(str, return_type=str),
    WithJsonSchema(
        {"type": "string", "pattern": r"^[a-z][a-z0-9_]{0,62}(@\d+\.\d+\.\d+\S*)?$",
         "description": "a sub-workflow: `id` (newest version) or `id@version`"}
    ),
]


class StepSpec(_Model):
    id: str
    name: str | None = None
    description: str | None = None
    agent: str | None = None
    tool: str | None = None
    workflow: WorkflowRefField | None = None
    input: dict[str, Any] = Field(default_factory=dict)
    depends_on: list[str] = Field(default_factory=list)
    when: str | None = None
    foreach: str | list[Any] | None = None
    concurrency: int | None = Field(default=None, ge=1)
    retry: RetrySpec | None = None
    timeout_seconds: float | None = Field(default=None, gt=0)
    on_failure: OnFailure | None = None
    reassign_to: ReassignSpec | None = None
    quality_gate: str | None = None
    memory_namespace: str | None = None
    tools: list[str] | None = None  # agent steps: the tools offered, a subset of the role's allowed_tools
    position: Position = NOWHERE
    _role: RoleDefaults | None = PrivateAttr(default=None)

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        return formats.check_identifier(value, "step id")

    def use_role_defaults(self, role: RoleDefaults | None) -> None:
        """Set by the loader from the catalog; not part of the spec's content (nor of its sha256)."""
        self._role = role

    @model_validator(mode="after")
    def _one_kind(self) -> StepSpec:
        kinds = [k for k in ("agent", "tool", "workflow") if getattr(self, k) is not None]
        if len(kinds) != 1:
            found = " and ".join(f"`{k}`" for k in kinds) if kinds else "none"
            raise ValueError(f"a step needs exactly one of `agent`, `tool`, `workflow` (found {found})")
        return self

    @property
    def kind(self) -> StepKind:
        return "agent" if self.agent is not None else "tool" if self.tool is not None else "workflow"

    @cached_property
    def needs(self) -> tuple[str, ...]:
        """Every step this one waits for: `depends_on` plus each `steps.<id>` its expressions name."""
        found = dict.fromkeys(self.depends_on)
        named = referenced_steps(self.input) | referenced_steps(self.when) | referenced_steps(self.foreach)
        found.update(dict.fromkeys(sorted(named)))
        return tuple(found)

    def effective_retry(self, defaults: DefaultsSpec) -> RetrySpec:
        """Key by key, the first that sets it: the step's retry, the workflow default, the role's
        `max_retries`/`retry_delay_seconds`, the platform default (one attempt)."""
        base = RetrySpec()
        role = self._role
        if role is not None:
            given = {"max_attempts": role.max_attempts, "delay_seconds": role.delay_seconds}
            base = RetrySpec.model_validate({k: v for k, v in given.items() if v is not None})
        if defaults.retry is not None:
            base = defaults.retry.merged_over(base)
        return self.retry.merged_over(base) if self.retry is not None else base

    def effective_timeout(self, defaults: DefaultsSpec) -> float | None:
        return self.timeout_seconds if self.timeout_seconds is not None else defaults.timeout_seconds

    def effective_on_failure(self, defaults: DefaultsSpec) -> OnFailure:
        """The step's, the workflow default's, the role's `failure_strategy`, else `retry`."""
        role = self._role.on_failure if self._role is not None else None
        return self.on_failure or defaults.on_failure or role or "retry"

    def effective_reassign_to(self) -> ReassignSpec | None:
        """The step's `reassign_to`, else the role's."""
        return self.reassign_to or (self._role.reassign_to if self._role is not None else None)


def check_asset_key(value: str) -> str:
    workflow, sep, name = value.partition("/")
    if not sep:
        raise ValueError(f"bad asset key `{value}`: write it as <workflow id>/<asset name>, e.g. research_notes/notes")
    formats.check_identifier(workflow, "workflow id")
    formats.check_identifier(name, "asset name")
    return value


class AssetCheck(_Model):
    """One check on an asset: exactly one of `quality_gate` (a policy) or `expect` (an expression over `value`)."""

    name: str | None = None
    quality_gate: str | None = None
    expect: str | None = None
    blocking: bool | None = None
    description: str | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return None if value is None else formats.check_identifier(value, "check name")

    @model_validator(mode="after")
    def _one_kind(self) -> AssetCheck:
        if (self.quality_gate is None) == (self.expect is None):
            raise ValueError("a check needs exactly one of `quality_gate` and `expect`")
        return self

    @property
    def check_name(self) -> str:
        return self.name or f"quality_gate_{self.quality_gate}"


class MemoryHandoff(_Model):
    namespace: str


class AssetSpec(_Model):
    """A declared result: stored in PostgreSQL as `<workflow id>/<name>`, checked, handed on."""

    value: Any
    description: str | None = None
    group: str | None = None
    checks: list[AssetCheck] = Field(default_factory=list)
    memory: MemoryHandoff | None = None
    position: Position = NOWHERE

    @field_validator("group")
    @classmethod
    def _group(cls, value: str | None) -> str | None:
        return None if value is None else formats.check_identifier(value, "asset group")


class ScheduleSpec(_Model):
    """`schedule: {cron: "...", inputs: {...}}`: when to run, and with which inputs (the plain
    string form is the cron alone, each run with the inputs' defaults)."""

    cron: str = Field(json_schema_extra={"maxLength": formats.MAX_SCHEDULE_LENGTH})  # checked in _cron
    inputs: dict[str, Any] = Field(default_factory=dict)

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        return formats.check_cron(value)


_Cron = Annotated[str, Field(json_schema_extra={"maxLength": formats.MAX_SCHEDULE_LENGTH})]  # checked in _schedule


class WorkflowSpec(_Model):
    id: str
    version: str = Field(json_schema_extra={"maxLength": formats.MAX_VERSION_LENGTH})  # checked in _version
    name: str | None = Field(default=None, max_length=formats.MAX_NAME_LENGTH)
    description: str | None = None
    schedule: _Cron | ScheduleSpec | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    inputs: dict[str, InputSpec] = Field(default_factory=dict)
    defaults: DefaultsSpec = Field(default_factory=DefaultsSpec)
    steps: list[StepSpec] = Field(min_length=1)
    outputs: dict[str, Any] = Field(default_factory=dict)
    assets: dict[str, AssetSpec] = Field(default_factory=dict)
    automation: Literal["eager"] | None = None
    source_path: str = "<memory>"
    sha256: str = ""
    position: Position = NOWHERE

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        return formats.check_identifier(value, "workflow id")

    @field_validator("version")
    @classmethod
    def _version(cls, value: str) -> str:
        return formats.check_version(value)

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str | ScheduleSpec | None) -> str | ScheduleSpec | None:
        return formats.check_cron(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _schedule_inputs(self) -> WorkflowSpec:
        if isinstance(self.schedule, ScheduleSpec) and self.schedule.inputs:
            try:
                validate_inputs(self.inputs, self.schedule.inputs)
            except CognitionOSError as exc:
                raise ValueError(f"schedule.inputs: {exc}") from None
        return self

    @property
    def schedule_spec(self) -> ScheduleSpec | None:
        """The schedule in its one full form, whichever way the file wrote it."""
        if isinstance(self.schedule, str):
            return ScheduleSpec(cron=self.schedule)
        return self.schedule

    @field_validator("inputs")
    @classmethod
    def _input_names(cls, value: dict[str, InputSpec]) -> dict[str, InputSpec]:
        for name in value:
            formats.check_identifier(name, "input name")
        return value

    @field_validator("assets")
    @classmethod
    def _asset_names(cls, value: dict[str, AssetSpec]) -> dict[str, AssetSpec]:
        for name in value:
            formats.check_identifier(name, "asset name")
        return value

    def asset_key(self, name: str) -> str:
        return f"{self.id}/{name}"

    @property
    def upstream_assets(self) -> dict[str, str]:
        """Input name -> the asset key it reads (`from_asset`)."""
        return {name: i.from_asset for name, i in self.inputs.items() if i.from_asset is not None}

    @property
    def ref(self) -> str:
        return f"{self.id}@{self.version}"

    @property
    def job_name(self) -> str:
        return f"{self.id}__{formats.version_suffix(self.version)}"

    @property
    def version_tuple(self) -> formats.VersionKey:
        return formats.version_key(self.version)

    @cached_property
    def _steps_by_id(self) -> dict[str, StepSpec]:
        return {s.id: s for s in self.steps}

    def step(self, id: str) -> StepSpec:
        try:
            return self._steps_by_id[id]
        except KeyError:
            raise KeyError(f"workflow {self.ref} has no step `{id}`") from None

    def topological_order(self) -> list[str]:
        """Step ids, each after everything it needs; ties keep file order so the result is stable."""
        from cognitionos_dagster.dsl.graph import find_cycle, topological_order

        graph = {s.id: [n for n in s.needs if n in self._steps_by_id] for s in self.steps}
        order = topological_order(graph)
        if order is None:
            cycle = find_cycle(graph) or []
            raise SpecError(
                f"steps form a cycle: {' -> '.join(cycle)}; remove one of these dependencies",
                file=self.position.file, line=self.position.line, column=self.position.column,
            )
        return order

    def validate_inputs(self, given: dict[str, Any]) -> dict[str, Any]:
        """Run inputs checked against `inputs:` with defaults applied; raises InputError naming the input."""
        return validate_inputs(self.inputs, given)
