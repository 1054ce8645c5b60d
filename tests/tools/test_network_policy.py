"""The outbound network policy: decided on resolved addresses, connected to the checked address.

The HTTP tests call `http_request` against a real server on 127.0.0.1; with an allowlist of `*`
("any host, public addresses only") none of the spellings that reach it may get through.
"""

from __future__ import annotations

import re
import shutil
import socket
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from cognitionos_dagster.errors import ToolError
from cognitionos_dagster.settings import load_settings
from cognitionos_dagster.tools import ToolContext, ToolRegistry
from cognitionos_dagster.tools.builtin.http_tool import HttpRequestOutput
from cognitionos_dagster.tools.network_policy import NetworkPolicy

from .conftest import _Server

LOOPBACK_SPELLINGS = ["0.0.0.0", "2130706433", "0x7f000001", "127.1", "017700000001", "[::ffff:127.0.0.1]",
                      "[::ffff:7f00:1]", "localhost", "127.0.0.1", socket.gethostname()]


def context(tmp_path: Path, allowlist: str) -> ToolContext:
    return ToolContext(settings=load_settings(home=tmp_path, http_allowlist=allowlist))


def call(registry: ToolRegistry, ctx: ToolContext, **raw: object) -> HttpRequestOutput:
    out = registry.run("http_request", raw, ctx)
    assert isinstance(out, HttpRequestOutput)
    return out


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS)
def test_every_spelling_of_loopback_is_refused_under_star(
    registry: ToolRegistry, http_server: _Server, tmp_path: Path, host: str
) -> None:
    port = http_server.server_address[1]
    out = call(registry, context(tmp_path, "*"), url=f"http://{host}:{port}/json")
    assert not out.success and "refused" in (out.error or ""), out.error
    assert http_server.seen == []


def test_the_machines_own_hostname_resolves_to_loopback_here() -> None:
    """The hostname case above is only meaningful where the name maps to this machine."""
    addresses = {info[4][0] for info in socket.getaddrinfo(socket.gethostname(), 80, type=socket.SOCK_STREAM)}
    assert any(a.startswith("127.") or a == "::1" for a in addresses), addresses


@pytest.mark.parametrize(
    ("host", "kind"),
    [("169.254.169.254", "link-local"), ("10.0.0.1", "private"), ("192.168.1.1", "private"),
     ("172.16.0.1", "private"), ("100.64.0.1", "non-public"), ("fe80::1", "link-local"), ("fc00::1", "private"),
     ("::", "unspecified"), ("224.0.0.1", "multicast"), ("2002:7f00:1::1", "6to4 (127.0.0.1)")],
)
def test_non_public_addresses_are_refused_under_star(host: str, kind: str) -> None:
    with pytest.raises(ToolError, match=re.escape(f"a {kind} address")):
        NetworkPolicy(("*",)).addresses(host, 80)


def resolver(*answers: str) -> Any:
    return lambda host, port: list(answers)


def test_every_resolved_address_must_pass() -> None:
    assert [str(a) for a in NetworkPolicy(("*",), resolver("93.184.216.34")).addresses("example.com", 443)] == [
        "93.184.216.34"
    ]
    with pytest.raises(ToolError, match=re.escape("example.com' resolves to 127.0.0.1, a loopback address")):
        NetworkPolicy(("*",), resolver("93.184.216.34", "127.0.0.1")).addresses("example.com", 443)
    # a wildcard reaches public addresses only
    with pytest.raises(ToolError, match=re.escape("10.9.8.7, a private address")):
        NetworkPolicy(("*.corp.example",), resolver("10.9.8.7")).addresses("git.corp.example", 443)


def test_private_addresses_need_an_explicit_entry() -> None:
    internal = resolver("10.9.8.7")
    assert NetworkPolicy(("git.corp.example",), internal).addresses("git.corp.example", 443)  # named exactly
    assert NetworkPolicy(("*.corp.example", "10.0.0.0/8"), internal).addresses("git.corp.example", 443)
    assert NetworkPolicy(("*", "169.254.169.254")).addresses("169.254.169.254", 80)
    with pytest.raises(ToolError, match="never a destination"):  # not even when listed
        NetworkPolicy(("0.0.0.0",)).addresses("0.0.0.0", 80)


def test_an_explicitly_allowlisted_loopback_is_reached_with_its_host_header(
    registry: ToolRegistry, http_server: _Server, tmp_path: Path
) -> None:
    port = http_server.server_address[1]
    out = call(registry, context(tmp_path, "*,localhost"), url=f"http://localhost:{port}/json")
    assert out.success and out.url == f"http://localhost:{port}/json"
    assert http_server.seen[-1]["headers"]["Host"] == f"localhost:{port}"


def test_a_redirect_to_a_non_public_address_is_refused_at_that_hop(
    registry: ToolRegistry, http_server: _Server, tmp_path: Path
) -> None:
    targets = ["http://169.254.169.254/latest/meta-data/", "http://[::ffff:a9fe:a9fe]/", "http://10.0.0.1/"]
    ctx = context(tmp_path, "127.0.0.1,*")
    for target in targets:
        out = call(registry, ctx, url=f"{http_server.base_url}/goto?{quote(target, safe='')}")
        assert not out.success and "refused" in (out.error or ""), out.error
    assert [seen["path"] for seen in http_server.seen] == [f"/goto?{quote(t, safe='')}" for t in targets]


def test_dns_rebinding_between_check_and_connect_does_not_reach_loopback(
    registry: ToolRegistry, http_server: _Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The name answers a public address first and loopback after: the connection must go to the
    address that was checked (which the tests' network guard then refuses), never to a second answer."""
    real = socket.getaddrinfo
    asked: list[str] = []

    def rebinding(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "rebind.example":
            return real(host, port, *args, **kwargs)
        asked.append(host)
        address = "93.184.216.34" if len(asked) == 1 else "127.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    port = http_server.server_address[1]
    out = call(registry, context(tmp_path, "*"), url=f"http://rebind.example:{port}/json")
    assert not out.success and "93.184.216.34" in (out.error or ""), out.error
    assert asked == ["rebind.example"] and http_server.seen == []


@pytest.fixture
def tls_server(tmp_path: Path) -> Any:
    """An HTTPS server on 127.0.0.1 whose certificate names only `localhost` (made by the openssl CLI)."""
    import ssl
    import subprocess
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    if not shutil.which("openssl"):
        pytest.skip("needs the openssl command")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"],
                   check=True, capture_output=True)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            body = f"sni={names[-1]}".encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    names: list[str | None] = []
    context.sni_callback = lambda sock, name, ctx: names.append(name)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server, ssl.create_default_context(cafile=str(cert))
    server.shutdown()
    server.server_close()


def test_tls_keeps_the_host_name_for_sni_and_certificate_checks(tls_server: Any) -> None:
    server, trusting = tls_server
    port = server.server_address[1]
    with NetworkPolicy(("localhost",)).client(verify=trusting) as client:  # connects to 127.0.0.1
        assert client.get(f"https://localhost:{port}/").text == "sni=localhost"
    mismatch = pytest.raises(httpx.ConnectError, match=re.escape("not valid for '127.0.0.1'"))
    with NetworkPolicy(("127.0.0.1",)).client(verify=trusting) as client, mismatch:  # the certificate names no IP
        client.get(f"https://127.0.0.1:{port}/")
