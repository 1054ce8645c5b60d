"""Which hosts `http_request` may reach: COGNITIONOS_HTTP_ALLOWLIST, loopback only when listed."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from cognitionos_dagster.errors import ToolError

_HINT = "add the host to COGNITIONOS_HTTP_ALLOWLIST (comma separated; '*.example.com' covers subdomains)"


def is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_allowed(host: str, allowed: tuple[str, ...]) -> bool:
    """Exact names, '*.domain' for subdomains, '*' for any host except loopback (which must be named)."""
    host = host.lower().rstrip(".")
    if host in allowed:
        return True
    if is_loopback(host):
        return False
    return "*" in allowed or any(entry.startswith("*.") and host.endswith(entry[1:]) for entry in allowed)


def check_host(url: str, allowed: tuple[str, ...]) -> None:
    host = (urlsplit(url).hostname or "").lower()
    if not host:
        raise ToolError(f"URL has no host: {url}", hint="use an absolute http:// or https:// URL")
    if not host_allowed(host, allowed):
        listed = ", ".join(allowed) if allowed else "empty"
        raise ToolError(f"host '{host}' is not on the HTTP allowlist ({listed})", hint=_HINT)
