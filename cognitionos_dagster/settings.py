"""The one typed settings object, read from the environment when asked for.

`load_settings()` is called by resources at launch time and by the CLI; nothing here
runs at import, so loading the code location never depends on the environment.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    """Everything the platform reads from the environment (see the README's table)."""

    model_config = SettingsConfigDict(env_prefix="COGNITIONOS_", extra="ignore", frozen=True)

    home: Path = Field(default=PROJECT_ROOT / ".cognitionos")
    database_url: str | None = None
    workflow_specs: Path = Field(default=PROJECT_ROOT / "workflow_specs")
    resources_dir: Path = Field(default=PROJECT_ROOT / "resources")
    embedding_dim: int = Field(default=384, ge=8, le=4096)
    webserver_host: str = "127.0.0.1"
    webserver_port: int = Field(default=3000, ge=1, le=65535)

    # Model runtime. The standard OpenAI variables are honoured without the prefix.
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_API_KEY", "COGNITIONOS_OPENAI_API_KEY")
    )
    openai_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_BASE_URL", "COGNITIONOS_OPENAI_BASE_URL")
    )
    llm_model: str = "gpt-4o-mini"
    embedding_model: str = "text-embedding-3-small"
    http_allowlist: str = ""
    escalation_webhook: SecretStr | None = None
    """Slack-compatible incoming webhook that receives each escalation (may embed a token)."""
    trace_url: str | None = None  # e.g. http://jaeger:16686/trace/{trace_id}: a link on each run's page
    otel_exporter_otlp_endpoint: str | None = Field(
        default=None,
        validation_alias=AliasChoices("OTEL_EXPORTER_OTLP_ENDPOINT", "COGNITIONOS_OTLP_ENDPOINT"),
    )

    @cached_property
    def home_dir(self) -> Path:
        return self.home.expanduser().resolve()

    @property
    def pg_dir(self) -> Path:
        return self.home_dir / "pg"

    @property
    def dagster_home(self) -> Path:
        return self.home_dir / "dagster"

    @property
    def uses_embedded_database(self) -> bool:
        return not self.database_url

    @property
    def offline(self) -> bool:
        """No key and no base URL: the offline model provider answers."""
        return self.openai_api_key is None and not self.openai_base_url

    @property
    def allowed_hosts(self) -> tuple[str, ...]:
        return tuple(h.strip().lower() for h in self.http_allowlist.split(",") if h.strip())


def load_settings(**overrides: Any) -> Settings:
    """Read the environment now; overrides win (tests and CLI flags use them)."""
    return Settings(**overrides)
