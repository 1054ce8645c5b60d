"""The JSON Schema of a spec file, for editors (yaml-language-server, VS Code, JetBrains).

Generated from the models so it cannot drift from what the loader accepts; the fields the
loader computes (positions, source path, sha256) are left out because users never write them.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from cognitionos_dagster.dsl.models import WorkflowSpec
from cognitionos_dagster.dsl.structure import INTERNAL_FIELDS

SCHEMA_ID = "https://cognitionos.dev/schemas/workflow.schema.json"


def _strip_internal(node: Any) -> None:
    if isinstance(node, dict):
        props = node.get("properties")
        if isinstance(props, dict):
            for name in INTERNAL_FIELDS & props.keys():
                del props[name]
            if "required" in node:
                node["required"] = [r for r in node["required"] if r not in INTERNAL_FIELDS]
                if not node["required"]:
                    del node["required"]
        for value in node.values():
            _strip_internal(value)
    elif isinstance(node, list):
        for value in node:
            _strip_internal(value)


def spec_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of one workflow spec file; positions and computed fields excluded."""
    schema = WorkflowSpec.model_json_schema(mode="validation")
    _strip_internal(schema)
    schema.get("$defs", {}).pop("Position", None)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "CognitionOS workflow spec",
        "description": "A workflow: typed inputs, defaults and steps (agent, tool or sub-workflow). "
        "See docs/workflows.md.",
        **{k: v for k, v in schema.items() if k not in ("title", "description")},
        "patternProperties": {"^x-": {"description": "ignored by the loader; a place for YAML anchors"}},
    }


def schema_text() -> str:
    """The schema as shipped in schemas/workflow.schema.json (stable key order, trailing newline)."""
    return json.dumps(spec_json_schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":  # python -m cognitionos_dagster.dsl.schema > schemas/workflow.schema.json
    sys.stdout.write(schema_text())
