"""Building the official `openai` client for OpenAI, Azure OpenAI or any OpenAI-compatible server.

Settings say where (base URL) and who (API key); the key is handed to the client only, never
to a log line or a repr.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import openai
from pydantic import SecretStr

from cognitionos_dagster.errors import ConfigError
from cognitionos_dagster.settings import Settings

# Self-hosted servers (vLLM, Ollama, llama.cpp) accept any key, but the client insists on one.
PLACEHOLDER_KEY = "not-needed"


@dataclass(frozen=True)
class Endpoint:
    base_url: str | None
    api_key: SecretStr | None = field(default=None, repr=False)
    timeout_seconds: float = 60.0
    azure_api_version: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings, *, timeout_seconds: float = 60.0,
                      azure_api_version: str | None = None) -> Endpoint:
        return cls(base_url=settings.openai_base_url, api_key=settings.openai_api_key,
                   timeout_seconds=timeout_seconds, azure_api_version=azure_api_version)

    @property
    def provider(self) -> str:
        """Who serves the models: `openai`, `azure`, or the host of a self-hosted server."""
        if self.azure_api_version:
            return "azure"
        host = urlsplit(self.base_url).netloc if self.base_url else ""
        return "openai" if not host or host.endswith("openai.com") else host

    def secret(self) -> str | None:
        return self.api_key.get_secret_value() if self.api_key is not None else None

    def open(self) -> openai.OpenAI:
        """A client with its own retries off: ModelClient retries so every attempt is seen."""
        key = self.secret() or PLACEHOLDER_KEY
        if self.azure_api_version:
            if not self.base_url:
                raise ConfigError("Azure OpenAI needs the resource's endpoint as base_url",
                                  hint="set base_url (COGNITIONOS_OPENAI_BASE_URL) to https://<resource>.openai.azure.com")
            return openai.AzureOpenAI(azure_endpoint=self.base_url, api_key=key, api_version=self.azure_api_version,
                                      timeout=self.timeout_seconds, max_retries=0)
        return openai.OpenAI(base_url=self.base_url, api_key=key, timeout=self.timeout_seconds, max_retries=0)


# Key-like strings a server may echo in an error body: bearer tokens, `sk-...` keys, `api_key=...`.
_SECRET_PATTERNS = (
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"), r"\1***"),
    (re.compile(r"\bsk-[A-Za-z0-9_-]{8,}"), "sk-***"),
    (re.compile(r"(?i)\b(api[_-]?key[\"']?\s*[:=]\s*[\"']?)[^\s\"',;}]{8,}"), r"\1***"),
)


def scrub(text: str, endpoint: Endpoint | None) -> str:
    """Remove the configured key and anything key-like from text that may echo it (some servers
    repeat the Authorization header, or another tenant's key, in their error body)."""
    secret = endpoint.secret() if endpoint is not None else None
    if secret and secret != PLACEHOLDER_KEY and len(secret) >= 4:
        text = text.replace(secret, "***")
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text
