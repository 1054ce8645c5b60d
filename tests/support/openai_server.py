"""A local OpenAI-compatible HTTP server for tests: the real `openai` client talks to it.

Bound to 127.0.0.1 on a free port, in a thread. Each test scripts it with a queue of
replies (status, headers such as Retry-After, body, delay); with the queue empty it answers
chat calls with a schema-valid object built from the request's JSON schema (marked
"[test-server]") and embeddings with deterministic vectors. Every request is recorded.

    with OpenAIServer() as server:
        server.enqueue(error_reply(429, "slow down", headers={"Retry-After": "0"}))
        server.enqueue(chat_reply({"summary": "ok", "key_points": [], "confidence": 0.9}))
        server.enqueue(tool_calls_reply(("echo", {"value": 1}), ("echo", {"value": 2})))  # parallel calls
        client = openai.OpenAI(base_url=server.base_url, api_key="sk-test")
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cognitionos_dagster.llm.offline import OFFLINE_MARK, offline_answer

SERVER_MARK = "[test-server]"


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict/list -> JSON; str -> sent as is (e.g. broken JSON)
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    json: Any

    @property
    def route(self) -> str:
        """The path without its query string (Azure adds ?api-version=...)."""
        return self.path.split("?", 1)[0]


def chat_reply(content: dict[str, Any] | str, *, model: str = "test-model", prompt_tokens: int = 100,
               completion_tokens: int = 20, delay: float = 0.0) -> Reply:
    """A chat completion whose message content is `content` (a dict is JSON-encoded)."""
    text = content if isinstance(content, str) else json.dumps(content)
    return Reply(body=_completion(text, model, prompt_tokens, completion_tokens), delay=delay)


def tool_calls_reply(*calls: tuple[str, dict[str, Any] | str], model: str = "test-model", prompt_tokens: int = 100,
                     completion_tokens: int = 20, delay: float = 0.0) -> Reply:
    """An answer that asks for tools: (name, arguments) pairs; arguments given as a string are sent
    as they are (e.g. broken JSON). Call ids are call_1, call_2, ..."""
    tool_calls = [{"id": f"call_{i}", "type": "function",
                   "function": {"name": name, "arguments": args if isinstance(args, str) else json.dumps(args)}}
                  for i, (name, args) in enumerate(calls, 1)]
    body = _completion("", model, prompt_tokens, completion_tokens)
    body["choices"][0].update(finish_reason="tool_calls",
                              message={"role": "assistant", "content": None, "tool_calls": tool_calls})
    return Reply(body=body, delay=delay)


def error_reply(status: int, message: str = "error", *, headers: dict[str, str] | None = None,
                code: str | None = None, delay: float = 0.0) -> Reply:
    return Reply(status=status, headers=headers or {}, delay=delay,
                 body={"error": {"message": message, "type": "test_error", "param": None, "code": code}})


def _completion(text: str, model: str, prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()), "model": model,
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }


def _remark(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace(OFFLINE_MARK, SERVER_MARK)
    if isinstance(value, list):
        return [_remark(v) for v in value]
    if isinstance(value, dict):
        return {k: _remark(v) for k, v in value.items()}
    return value


def _schema_of(body: dict[str, Any]) -> dict[str, Any] | None:
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        return fmt["json_schema"]["schema"]
    for message in body.get("messages", []):  # JSON mode: the schema travels in the prompt
        match = re.search(r"JSON Schema[^:]*:\n(\{.*\})", str(message.get("content", "")), re.S)
        if match:
            return json.loads(match.group(1))
    return None


def auto_reply(request: RecordedRequest) -> Reply:
    """The default answer: schema-valid chat output, or deterministic embeddings."""
    body = request.json or {}
    if request.route.endswith("/embeddings"):
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        dim = int(body.get("dimensions") or 8)
        data = [{"object": "embedding", "index": i, "embedding": _vector(t, dim)} for i, t in enumerate(texts)]
        return Reply(body={"object": "list", "data": data, "model": body.get("model"),
                           "usage": {"prompt_tokens": 5 * len(texts), "total_tokens": 5 * len(texts)}})
    schema = _schema_of(body)
    content = _remark(offline_answer(schema, {"request": "auto"})) if schema else {"text": SERVER_MARK}
    return chat_reply(content, model=body.get("model", "test-model"))


def _vector(text: str, dim: int) -> list[float]:
    seed = hashlib.sha256(text.encode()).digest()
    return [((seed[i % len(seed)] + i) % 251) / 251.0 - 0.5 for i in range(dim)]


class OpenAIServer:
    def __init__(self, *, default: Callable[[RecordedRequest], Reply] = auto_reply) -> None:
        self.replies: deque[Reply] = deque()
        self.requests: list[RecordedRequest] = []
        self.default = default
        self.reject_json_schema = False
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="openai-test-server", daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.socket.getsockname()[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> OpenAIServer:
        self._thread.start()
        return self

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> OpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def enqueue(self, *replies: Reply) -> None:
        with self._lock:
            self.replies.extend(replies)

    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.route.endswith("/chat/completions")]

    def _next(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self.requests.append(request)
            body = request.json if isinstance(request.json, dict) else {}
            if self.reject_json_schema and (body.get("response_format") or {}).get("type") == "json_schema":
                return error_reply(400, "response_format type json_schema is not supported by this server")
            if self.replies:
                return self.replies.popleft()
        return self.default(request)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else headers and body wait ~40 ms for delayed ACKs

            def log_message(self, format: str, *args: Any) -> None:  # quiet test output
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                payload = json.loads(raw) if raw else None
                reply = server._next(RecordedRequest(
                    self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, payload))
                if reply.delay:
                    time.sleep(reply.delay)
                data = reply.body.encode() if isinstance(reply.body, str) else json.dumps(reply.body).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
                    pass

            do_POST = _serve
            do_GET = _serve

        return Handler


try:  # a ready-made fixture: `from support.openai_server import openai_server` in a conftest.py
    import pytest

    @pytest.fixture
    def openai_server() -> Any:
        from cognitionos_dagster.llm.openai_chat import forget_formats

        forget_formats()  # what one test's server rejected must not leak into the next
        with OpenAIServer() as server:
            yield server
        forget_formats()
except ImportError:  # pragma: no cover - used outside pytest (benchmarks)
    pass
