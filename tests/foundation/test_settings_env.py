"""Settings details the README's table promises: aliases, paths, parsing, secrets, immutability."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from cognitionos_dagster.settings import load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("COGNITIONOS_HOME", "COGNITIONOS_DATABASE_URL", "OPENAI_API_KEY", "OPENAI_BASE_URL",
                 "COGNITIONOS_OPENAI_API_KEY", "COGNITIONOS_OPENAI_BASE_URL", "OTEL_EXPORTER_OTLP_ENDPOINT",
                 "COGNITIONOS_OTLP_ENDPOINT", "COGNITIONOS_HTTP_ALLOWLIST"):
        monkeypatch.delenv(name, raising=False)


def test_home_paths_expand_and_resolve(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("COGNITIONOS_HOME", "~/state")
    s = load_settings()
    assert s.home_dir == tmp_path / "state"
    assert (s.pg_dir, s.dagster_home) == (tmp_path / "state" / "pg", tmp_path / "state" / "dagster")

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COGNITIONOS_HOME", "relative/home")
    assert load_settings().home_dir == tmp_path / "relative" / "home"


def test_either_model_variable_leaves_offline_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().offline
    monkeypatch.setenv("COGNITIONOS_OPENAI_BASE_URL", "http://127.0.0.1:8000/v1")
    assert not load_settings().offline
    monkeypatch.delenv("COGNITIONOS_OPENAI_BASE_URL")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-value")
    s = load_settings()
    assert not s.offline
    assert "sk-secret-value" not in repr(s) and "sk-secret-value" not in str(s.model_dump())


def test_otlp_endpoint_aliases(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().otel_exporter_otlp_endpoint is None
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    assert load_settings().otel_exporter_otlp_endpoint == "http://127.0.0.1:4318"
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT")
    monkeypatch.setenv("COGNITIONOS_OTLP_ENDPOINT", "http://jaeger:4318")
    assert load_settings().otel_exporter_otlp_endpoint == "http://jaeger:4318"


def test_http_allowlist_is_parsed_and_lowercased(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().allowed_hosts == ()
    monkeypatch.setenv("COGNITIONOS_HTTP_ALLOWLIST", " API.Example.com, b.org ,,")
    assert load_settings().allowed_hosts == ("api.example.com", "b.org")


def test_settings_are_read_at_call_time_and_frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COGNITIONOS_WEBSERVER_PORT", "3111")
    s = load_settings()
    assert s.webserver_port == 3111
    assert load_settings(webserver_port=3222).webserver_port == 3222  # overrides win (CLI flags, tests)
    with pytest.raises(ValidationError):
        s.webserver_port = 1
    monkeypatch.setenv("COGNITIONOS_WEBSERVER_PORT", "70000")
    with pytest.raises(ValidationError, match="webserver_port"):
        load_settings()
