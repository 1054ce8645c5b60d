"""Escalations reach a person: the webhook notifier against real local HTTP receivers (one
taking posts, one down, one answering 500), the sensor's default, and `cognos escalations`."""

from __future__ import annotations

import http.server
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from cognitionos_dagster.db.connection import Database
from cognitionos_dagster.db.repositories.escalations import EscalationRepository
from cognitionos_dagster.defs.workflows import escalation_reporter
from cognitionos_dagster.integrations.notifier import EscalationNotifier
from cognitionos_dagster.settings import load_settings
from tests.cli.conftest import cognos

ESCALATION = {"id": "e-1", "run_id": "run-42", "workflow_id": "deploy", "workflow_version": "1.0.0",
              "step_id": "review", "error": "GateFailed: quality 0.41 < 0.70\nTraceback ...", "reason": "x"}


class Receiver(http.server.ThreadingHTTPServer):
    def __init__(self, status: int) -> None:
        self.status, self.bodies = status, []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                outer.bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(outer.status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    servers: list[Receiver] = []

    def start(status: int) -> Receiver:
        server = Receiver(status)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_posts_the_escalation_with_a_link_to_the_run(receiver) -> None:
    hook = receiver(200)
    assert EscalationNotifier(webhook_url=hook.url).notify(ESCALATION) is True
    [body] = hook.bodies
    text = body["text"]
    assert "deploy@1.0.0" in text and "`review`" in text and "GateFailed: quality 0.41 < 0.70" in text
    assert "Traceback" not in text and "/runs/run-42" in text and "cognos escalations resolve e-1" in text


def test_retries_a_500_then_gives_up_without_raising(receiver) -> None:
    hook = receiver(500)
    started = time.monotonic()
    assert EscalationNotifier(webhook_url=hook.url, backoff_seconds=0.05).notify(ESCALATION) is False
    assert len(hook.bodies) == 3 and time.monotonic() - started < 5


def test_a_webhook_that_is_down_fails_nothing() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nobody listens there
    notifier = EscalationNotifier(webhook_url=f"http://127.0.0.1:{port}/hook", backoff_seconds=0.01,
                                  timeout_seconds=1)
    assert notifier.notify(ESCALATION) is False


def test_without_a_webhook_it_logs_only(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.delenv("COGNITIONOS_ESCALATION_WEBHOOK", raising=False)
    assert EscalationNotifier().notify(ESCALATION) is False
    assert "no COGNITIONOS_ESCALATION_WEBHOOK" in caplog.text and "deploy@1.0.0" in caplog.text


def test_the_sensor_is_on_when_a_webhook_is_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    assert escalation_reporter(load_settings()).default_status == dg.DefaultSensorStatus.STOPPED
    monkeypatch.setenv("COGNITIONOS_ESCALATION_WEBHOOK", "http://127.0.0.1:9/hook")
    assert escalation_reporter(load_settings()).default_status == dg.DefaultSensorStatus.RUNNING


def test_list_and_resolve_with_a_note(project: Path, db: Database) -> None:
    repo = EscalationRepository(db)
    first = repo.open(run_id="r1", step_id="review", reason="step review failed and escalates", error="boom",
                      workflow_id="deploy", workflow_version="1.0.0")
    code, out, _ = cognos("escalations", "list", "--open")
    assert code == 0
    line = next(line for line in out.splitlines() if first in line)
    assert "open" in line and "deploy@1.0.0" in line and "review" in line and "boom" in line

    code, out, _ = cognos("escalations", "resolve", first, "--note", "rolled back by hand")
    assert code == 0 and f"resolved {first}" in out
    code, out, _ = cognos("escalations", "list", "--open", "--json")
    assert json.loads(out) == []
    code, out, _ = cognos("escalations", "list", "--json")
    [row] = json.loads(out)
    assert row["status"] == "resolved" and row["context"]["resolution_note"] == "rolled back by hand"

    code, _, err = cognos("escalations", "resolve", first, "--note", "again")
    assert code == 1 and "already resolved" in err
    code, _, err = cognos("escalations", "resolve", "00000000-0000-0000-0000-000000000000", "--note", "x")
    assert code == 1 and "no escalation" in err
