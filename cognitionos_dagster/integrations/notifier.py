"""Escalations reach a person: each one is posted to a Slack-compatible JSON webhook.

The post is best effort by design: a few short retries on transport errors and 5xx, then it
gives up with a warning. The escalation itself stays in the database (`cognos escalations
list`), so a webhook that is down loses no information and never fails anything.
"""

from __future__ import annotations

import logging
import time

import dagster as dg
import httpx

from cognitionos_dagster.db.repositories.escalations import EscalationRow
from cognitionos_dagster.settings import load_settings

log = logging.getLogger(__name__)


def escalation_text(escalation: EscalationRow, run_url: str) -> str:
    workflow = f"{escalation.get('workflow_id') or '?'}@{escalation.get('workflow_version') or '?'}"
    error = str(escalation.get("error") or escalation.get("reason") or "").strip().splitlines()
    return (f":rotating_light: Escalation in `{workflow}`, step `{escalation.get('step_id')}`\n"
            f"error: {error[0][:300] if error else '-'}\n"
            f"run: <{run_url}|{escalation.get('run_id')}>  ·  id: `{escalation.get('id')}`  ·  "
            f"resolve: `cognos escalations resolve {escalation.get('id')} --note …`")


class EscalationNotifier(dg.ConfigurableResource):
    """Posts escalations to `COGNITIONOS_ESCALATION_WEBHOOK` (read when used, never shown in the UI).

    With no webhook it logs only."""

    webhook_url: str | None = None
    attempts: int = 3
    timeout_seconds: float = 5.0
    backoff_seconds: float = 0.5

    def url(self) -> str | None:
        if self.webhook_url:
            return self.webhook_url
        secret = load_settings().escalation_webhook
        return secret.get_secret_value() if secret else None

    def ui_run_url(self, run_id: str) -> str:
        settings = load_settings()
        return f"http://{settings.webserver_host}:{settings.webserver_port}/runs/{run_id}"

    def notify(self, escalation: EscalationRow) -> bool:
        """True when the webhook took it; never raises."""
        text = escalation_text(escalation, self.ui_run_url(str(escalation.get("run_id"))))
        url = self.url()
        if not url:
            log.warning("escalation (no COGNITIONOS_ESCALATION_WEBHOOK set): %s", text)
            return False
        problem = ""
        for attempt in range(1, self.attempts + 1):
            try:
                response = httpx.post(url, json={"text": text}, timeout=self.timeout_seconds, trust_env=False)
                if response.status_code < 400:
                    return True
                problem = f"HTTP {response.status_code}"
                if response.status_code < 500:
                    break  # the webhook refused the message: asking again will not help
            except httpx.HTTPError as exc:
                problem = type(exc).__name__
            if attempt < self.attempts:
                time.sleep(self.backoff_seconds * attempt)
        log.warning("escalation %s not delivered to the webhook (%s); it stays in `cognos escalations list`",
                    escalation.get("id"), problem)
        return False
