"""Typed workflow inputs as the job's run config, so the Launchpad shows fields, defaults and enums.

A `ConfigMapping` makes the run config exactly the inputs (`{repo_url: ..., environment: staging}`);
the mapping routes it to the `_inputs` op, which validates again with the spec's own rules.
"""

from __future__ import annotations

import re
from typing import Any

import dagster as dg

from cognitionos_dagster.compiler.names import INPUTS_NODE
from cognitionos_dagster.dsl.models import InputSpec, WorkflowSpec

_SCALARS: dict[str, Any] = {
    "string": dg.String,
    "number": dg.Float,
    "integer": dg.Int,
    "boolean": dg.Bool,
    "object": dg.Permissive(),
}


def _enum_name(job_name: str, input_name: str) -> str:
    return re.sub(r"\W", "_", f"{job_name}__{input_name}__enum")


def _config_type(job_name: str, name: str, spec: InputSpec) -> Any:
    if spec.enum and spec.type == "string":
        return dg.Enum(_enum_name(job_name, name), [dg.EnumValue(str(v)) for v in spec.enum])
    if spec.type == "array":
        inner = _SCALARS.get(spec.items or "", dg.Any)
        return [inner] if spec.items and spec.items != "object" else [dg.Any]
    return _SCALARS[spec.type]


def inputs_schema(spec: WorkflowSpec) -> dict[str, dg.Field]:
    fields: dict[str, dg.Field] = {}
    for name, ispec in spec.inputs.items():
        if ispec.from_asset is not None:  # read from the upstream asset, not given at launch
            continue
        kwargs: dict[str, Any] = {"description": ispec.description}
        config_type = _config_type(spec.job_name, name, ispec)
        if ispec.default is not None:
            kwargs.update(default_value=ispec.default, is_required=False)
        elif ispec.required:
            kwargs["is_required"] = True
        else:  # optional without default: absent or null both mean null
            config_type = dg.Noneable(config_type)
            kwargs["is_required"] = False
        fields[name] = dg.Field(config_type, **kwargs)
    return fields


def inputs_config_mapping(spec: WorkflowSpec, *, graph_node: str | None = None) -> dg.ConfigMapping:
    """`graph_node` is the asset graph holding the workflow in an asset job (its `_inputs` sits inside)."""

    def route(given: dict[str, Any]) -> dict[str, Any]:
        ops = {INPUTS_NODE: {"config": dict(given)}}
        return {"ops": {graph_node: {"ops": ops}} if graph_node else ops}

    return dg.ConfigMapping(
        config_schema=inputs_schema(spec),
        config_fn=route,
        receive_processed_config_values=True,
    )
