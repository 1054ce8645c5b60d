"""The compiled step graph as data, Mermaid or Graphviz dot (`cognos graph`).

Built from the same specs and resolver the compiler uses, so it shows exactly the jobs' shape:
`_inputs` → steps (sub-workflows expanded as clusters) → `_outputs`.
"""

from __future__ import annotations

import json
from typing import Any

from cognitionos_dagster.compiler.graphs import Resolver
from cognitionos_dagster.dsl.models import StepSpec, WorkflowSpec


def _label(step: StepSpec) -> str:
    what = step.agent or step.tool or str(step.workflow)
    extras = []
    if step.foreach is not None:
        extras.append("foreach")
    if step.when is not None:
        extras.append("when")
    return f"{step.id}: {step.kind} {what}" + (f" [{', '.join(extras)}]" if extras else "")


def graph_data(spec: WorkflowSpec, resolve: Resolver, prefix: str = "") -> dict[str, Any]:
    nodes: list[dict[str, Any]] = []
    edges: list[list[str]] = []
    for step_id in spec.topological_order():
        step = spec.step(step_id)
        node: dict[str, Any] = {"id": prefix + step.id, "kind": step.kind, "label": _label(step),
                                "target": step.agent or step.tool or str(step.workflow)}
        if step.kind == "workflow" and step.workflow is not None:
            child = resolve(step.workflow)
            node["workflow"] = graph_data(child, resolve, prefix=f"{prefix}{step.id}.")
        nodes.append(node)
        edges.extend([prefix + need, prefix + step.id] for need in step.needs)
    return {"workflow": spec.ref, "job": spec.job_name, "nodes": nodes, "edges": edges}


def _mermaid_lines(data: dict[str, Any], indent: str = "  ") -> list[str]:
    lines: list[str] = []
    for node in data["nodes"]:
        nid = node["id"].replace(".", "__")
        if "workflow" in node:
            lines.append(f'{indent}subgraph {nid}["{node["label"]}"]')
            lines.extend(_mermaid_lines(node["workflow"], indent + "  "))
            lines.append(f"{indent}end")
        else:
            shape = ("[[", "]]") if node["kind"] == "tool" else ("(", ")")
            lines.append(f'{indent}{nid}{shape[0]}"{node["label"]}"{shape[1]}')
    lines.extend(f"{indent}{a.replace('.', '__')} --> {b.replace('.', '__')}" for a, b in data["edges"])
    return lines


def _dot_lines(data: dict[str, Any], indent: str = "  ") -> list[str]:
    lines: list[str] = []
    for node in data["nodes"]:
        if "workflow" in node:
            lines.append(f'{indent}subgraph "cluster_{node["id"]}" {{ label="{node["label"]}";')
            lines.extend(_dot_lines(node["workflow"], indent + "  "))
            lines.append(f"{indent}}}")
        else:
            shape = "box" if node["kind"] == "tool" else "ellipse"
            lines.append(f'{indent}"{node["id"]}" [label="{node["label"]}", shape={shape}];')
    lines.extend(f'{indent}"{a}" -> "{b}";' for a, b in data["edges"])
    return lines


def render_graph(spec: WorkflowSpec, resolve: Resolver, fmt: str) -> str:
    data = graph_data(spec, resolve)
    if fmt == "json":
        return json.dumps(data, indent=2)
    if fmt == "mermaid":
        return "\n".join(["flowchart TD", *_mermaid_lines(data)])
    if fmt == "dot":
        return "\n".join([f'digraph "{spec.job_name}" {{', "  rankdir=TB;", *_dot_lines(data), "}"])
    raise ValueError(f"unknown format {fmt!r}: use mermaid, dot or json")
