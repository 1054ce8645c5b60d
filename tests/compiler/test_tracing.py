"""One trace per run: every step, agent stage, model and tool call of a run shares the run's id."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from cognitionos_dagster.settings import load_settings
from cognitionos_dagster.tracing.spans import configure_tracing, reset_tracing


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    configure_tracing(load_settings(), exporter=exporter, install_global=False)
    yield exporter
    reset_tracing()


def test_run_id_is_the_trace_id(write_spec: Callable[[str, str], Path], run_job,
                                spans: InMemorySpanExporter) -> None:
    write_spec("traced", """
        id: traced
        version: 1.0.0
        steps:
          - id: plan
            agent: planner
            input: {goal: ship it}
          - id: each
            tool: echo
            foreach: [1, 2, 3]
            input: {value: "{{ item }}"}
    """)
    res = run_job("traced")
    assert res.success
    finished = spans.get_finished_spans()
    names = {s.name for s in finished}
    assert {"step plan", "step each"} <= names
    assert any(n.startswith("agent.") for n in names) and any(n.startswith("tool") for n in names)
    assert sum(1 for s in finished if s.name.startswith("tool")) == 3  # one per foreach item, in threads
    assert {s.context.trace_id for s in finished} == {uuid.UUID(res.run_id).int}
    step = next(s for s in finished if s.name == "step plan")
    assert step.attributes["cognitionos.workflow"] == "traced@1.0.0"


def test_the_run_page_links_to_its_trace(write_spec: Callable[[str, str], Path], run_job,  # type: ignore[no-untyped-def]
                                         dagster_instance, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COGNITIONOS_TRACE_URL", "http://jaeger:16686/trace/{trace_id}")
    write_spec("linked", """
        id: linked
        version: 1.0.0
        steps:
          - id: a
            tool: echo
            input: {value: 1}
    """)
    res = run_job("linked")
    assert res.success
    tags = dagster_instance.get_run_by_id(res.run_id).tags
    trace_id = uuid.UUID(res.run_id).hex
    assert tags["cognitionos/trace_id"] == trace_id
    assert tags["cognitionos/trace_url"] == f"http://jaeger:16686/trace/{trace_id}"
