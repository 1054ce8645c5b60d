"""Where outbound tools may connect: one decision on the addresses a host resolves to, and an
httpx transport that connects to exactly the address that was decided on.

Deciding on the host *name* let `0.0.0.0`, `2130706433`, `0x7f000001`, `127.1`,
`[::ffff:127.0.0.1]` and the machine's own hostname reach loopback through an allowlist of `*`,
and a name checked once and resolved again at connect time can answer differently the second time
(DNS rebinding). So a request is allowed only when its host name matches the allowlist *and* every
address the name resolves to is public or explicitly allowed, and the connection goes to one of
those checked addresses (the Host header and TLS server name stay the original host, so virtual
hosts and certificate checks work as before). Every redirect hop is a new request through the same
transport, so it is checked the same way. Any tool that makes HTTP calls takes its client from
`NetworkPolicy.client()`; one that opens sockets itself calls `NetworkPolicy.addresses()` and
connects to what it returns.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from cognitionos_dagster.errors import ToolError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Sequence[str]]

_HINT = "add the host to COGNITIONOS_HTTP_ALLOWLIST (comma separated; '*.example.com' covers subdomains)"
_ADDRESS_HINT = (
    "name the host exactly in COGNITIONOS_HTTP_ALLOWLIST, or list the address or its network "
    "(e.g. 10.0.0.0/8); '*' and '*.domain' reach public addresses only"
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def system_resolver(host: str, port: int) -> list[str]:
    """Every address `host` resolves to for a TCP connection (numeric spellings such as `127.1` included)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _address(text: str) -> Address | None:
    """`text` as an IP address, IPv4-mapped IPv6 (`::ffff:127.0.0.1`) unwrapped; None for a name."""
    try:
        address = ipaddress.ip_address(text.strip("[]").split("%", 1)[0])
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped if mapped is not None else address


def _network(entry: str) -> Network | None:
    """An allowlist entry as a network (`10.0.0.0/8`, `127.0.0.1` = /32), None for a host name."""
    try:
        return ipaddress.ip_network(entry.strip("[]"), strict=False)
    except ValueError:
        return None


def classify(address: Address) -> str | None:
    """Why an address is not public (`loopback`, `private`, ...), or None for a public one."""
    for kind in ("unspecified", "loopback", "link-local", "multicast", "private", "reserved"):
        if getattr(address, f"is_{kind.replace('-', '_')}"):
            return kind
    embedded = getattr(address, "sixtofour", None)  # 2002:7f00:1::/48 carries 127.0.0.1
    if embedded is not None and classify(embedded):
        return f"6to4 ({embedded})"
    return None if address.is_global else "non-public"


@dataclass(frozen=True)
class NetworkPolicy:
    """An allowlist (`COGNITIONOS_HTTP_ALLOWLIST`) applied to names and to resolved addresses.

    Entries: `api.example.com` (that name, whatever it resolves to), `*.example.com` (subdomains,
    public addresses only), `*` (any name, public addresses only), an IP address or a network
    (`10.0.0.0/8`, `::1`) whose addresses may be reached, also through a name matched by a wildcard.
    The unspecified address (`0.0.0.0`, `::`) and multicast are never a destination.
    """

    entries: tuple[str, ...]
    resolve: Resolver = system_resolver
    networks: tuple[Network, ...] = field(init=False)

    def __post_init__(self) -> None:
        entries = tuple(e.strip().lower().rstrip(".") for e in self.entries if e.strip())
        object.__setattr__(self, "entries", entries)
        object.__setattr__(self, "networks", tuple(n for n in map(_network, entries) if n is not None))

    # -- the decision
    def named_exactly(self, host: str) -> bool:
        return host in self.entries or f"[{host}]" in self.entries

    def name_allowed(self, host: str) -> bool:
        """Whether the name (or IP literal) may be asked for at all; its addresses are checked after."""
        host = host.lower().rstrip(".")
        if self.named_exactly(host) or "*" in self.entries:
            return True
        literal = _address(host)
        if literal is not None:
            return any(literal in network for network in self.networks)
        return any(entry.startswith("*.") and host.endswith(entry[1:]) for entry in self.entries)

    def address_problem(self, host: str, address: Address) -> str | None:
        """Why `host` may not be reached at `address`, or None when it may."""
        kind = classify(address)
        if kind is None:
            return None
        if kind in ("unspecified", "multicast"):
            return f"{address}, a {kind} address, which is never a destination"
        if self.named_exactly(host.lower().rstrip(".")) or any(address in network for network in self.networks):
            return None
        return f"{address}, a {kind} address"

    def addresses(self, host: str, port: int) -> list[Address]:
        """The addresses `host` may be reached at, every resolved one checked; raises ToolError otherwise."""
        host = host.lower().rstrip(".")
        if not host:
            raise ToolError("URL has no host", hint="use an absolute http:// or https:// URL")
        if not self.name_allowed(host):
            listed = ", ".join(self.entries) if self.entries else "empty"
            raise ToolError(f"host '{host}' is not on the HTTP allowlist ({listed})", hint=_HINT)
        try:
            resolved = [a for a in map(_address, self.resolve(host, port)) if a is not None]
        except (OSError, UnicodeError) as exc:
            raise ToolError(f"cannot resolve host '{host}': {exc}", hint="check the host name") from None
        if not resolved:
            raise ToolError(f"host '{host}' resolves to no address", hint="check the host name")
        for address in resolved:
            problem = self.address_problem(host, address)
            if problem:
                raise ToolError(f"host '{host}' resolves to {problem}; refused", hint=_ADDRESS_HINT)
        return resolved

    def check_url(self, url: str | httpx.URL) -> list[Address]:
        """`addresses()` for a URL's host and port (the scheme's default port when it names none)."""
        parsed = httpx.URL(url) if isinstance(url, str) else url
        return self.addresses(parsed.host, parsed.port or _DEFAULT_PORTS.get(parsed.scheme, 80))

    # -- connecting where the decision says
    def transport(self, **options: Any) -> PinnedTransport:
        """An httpx transport that checks every request and connects to a checked address.

        Keep-alive is off: a pooled connection is keyed by address, and one opened (and TLS-verified)
        for one host must not carry a request for another host at the same address.
        """
        options.setdefault("limits", httpx.Limits(max_keepalive_connections=0))
        return PinnedTransport(self, httpx.HTTPTransport(**options))

    def client(self, *, verify: Any = True, **options: Any) -> httpx.Client:
        """An httpx client bound to this policy; proxy variables ignored (`trust_env=False`)."""
        return httpx.Client(transport=self.transport(verify=verify), trust_env=False, **options)


class PinnedTransport(httpx.BaseTransport):
    """Resolves once, checks every address, connects to a checked one: no second lookup to rebind."""

    def __init__(self, policy: NetworkPolicy, inner: httpx.HTTPTransport) -> None:
        self.policy = policy
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        failure: httpx.TransportError | None = None
        for address in self.policy.check_url(request.url):
            pinned = httpx.Request(
                request.method, request.url.copy_with(host=str(address)), headers=request.headers,
                stream=request.stream, extensions={**request.extensions, "sni_hostname": host},
            )
            try:
                return self.inner.handle_request(pinned)
            except httpx.ConnectError as exc:  # try the host's next checked address, as a resolver would
                failure = exc
        assert failure is not None  # check_url returns at least one address
        raise failure

    def close(self) -> None:
        self.inner.close()
