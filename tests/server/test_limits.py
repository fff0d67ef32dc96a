"""Limits on what a client may send: body size, ids, headers, and a strictly parsed Host."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from filelock import FileLock

from ccw.config import store as config_store
from ccw.config.store import ConfigStore
from ccw.server.security import MAX_BODY_BYTES
from tests.server.conftest import API, Dashboard

JSON = {"content-type": "application/json"}


def raw_request(port: int, head: str, body: bytes = b"") -> tuple[int, bytes]:
    """Send ``head`` (and ``body``) as is; the status and body of the answer.

    The socket timeout only turns a server that waits for more input into a failure.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(head.encode("latin-1") + body)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        status_line, _, rest = answer.partition(b"\r\n")
        headers, _, payload = rest.partition(b"\r\n\r\n")
        length = re.search(rb"(?i)content-length: *(\d+)", headers)
        while length and len(payload) < int(length.group(1)):
            chunk = sock.recv(65536)
            if not chunk:
                break
            payload += chunk
    return int(status_line.split()[1]), payload


def test_a_body_announced_too_large_is_refused_before_it_is_sent(dashboard: Dashboard) -> None:
    head = (
        f"POST {API}/providers HTTP/1.1\r\nHost: 127.0.0.1:{dashboard.port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {50 * 1024 * 1024}\r\n\r\n"
    )
    status, payload = raw_request(dashboard.port, head)
    assert status == 413
    answer = json.loads(payload)
    assert answer["error"] == f"request body too large (at most {MAX_BODY_BYTES} bytes)"
    assert answer["fix"]
    assert not dashboard.config_path.exists()


def _big_provider(size: int) -> bytes:
    return json.dumps({"id": "p", "type": "openai", "name": "n" * size}).encode()


def test_a_streamed_body_is_counted_as_it_arrives(dashboard: Dashboard) -> None:
    body = _big_provider(2 * MAX_BODY_BYTES)

    def chunks() -> Iterator[bytes]:  # no Content-Length: chunked transfer encoding
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    answer = dashboard.api("POST", "/providers", content=chunks(), headers=JSON)
    assert answer.status_code == 413
    assert "too large" in answer.json()["error"]
    assert not dashboard.config_path.exists()
    sized = dashboard.api("POST", "/providers", content=body, headers=JSON)
    assert sized.status_code == 413
    assert not dashboard.config_path.exists()


def test_a_body_within_the_limit_is_accepted(dashboard: Dashboard) -> None:
    answer = dashboard.api("POST", "/providers", content=_big_provider(1000), headers=JSON)
    assert answer.status_code == 201, answer.text


@pytest.mark.parametrize("field", ["id", "providerId"])
def test_ids_in_bodies_are_at_most_128_characters(dashboard: Dashboard, field: str) -> None:
    assert dashboard.api("POST", "/providers", json={"id": "p", "type": "openai"}).is_success
    endpoint = {"id": "e", "providerId": "p", "model": "m"}
    too_long = dashboard.api("POST", "/endpoints", json={**endpoint, field: "e" * 100_000})
    assert too_long.status_code == 422
    assert too_long.json()["fields"][0]["loc"] == ["body", field]
    assert len(too_long.text) < 2000  # the id is not echoed back
    longest = dashboard.api("POST", "/endpoints", json={**endpoint, "id": "e" * 128})
    assert longest.status_code == 201, longest.text


def test_provider_ids_in_bodies_follow_the_id_rule(dashboard: Dashboard) -> None:
    for bad in ("p" * 129, "a b", "-p", "p/q"):
        answer = dashboard.api("POST", "/providers", json={"id": bad, "type": "openai"})
        assert answer.status_code == 422, bad
    assert not dashboard.config_path.exists()
    assert dashboard.api("PUT", "/config/default-endpoint", json={"endpointId": "e" * 129}).json()[
        "fields"
    ][0]["loc"] == ["body", "endpointId"]


@pytest.mark.parametrize(
    "path",
    [
        "/providers/" + "p" * 129,
        "/endpoints/" + "e" * 5000,
        "/providers/a%20b",
        "/endpoints/a%00b",
        "/models/%0a",
        "/cache/entries/" + "c" * 129,
        "/history/a%01b",
    ],
)
def test_ids_in_paths_are_checked(dashboard: Dashboard, path: str) -> None:
    for method in ("GET", "DELETE"):
        if path.startswith(("/models", "/history")) and method == "DELETE":
            continue
        answer = dashboard.client.request(method, API + path)
        assert answer.status_code == 400, (method, path, answer.text)
        assert set(answer.json()) == {"error", "fix"}
        assert len(answer.text) < 400


def test_history_and_cache_ids_may_hold_any_printable_text(dashboard: Dashboard) -> None:
    assert dashboard.api("GET", "/history/my%20review").status_code == 404
    assert dashboard.api("GET", "/cache/entries/" + "c" * 128).status_code == 404


def test_too_many_headers_are_refused(dashboard: Dashboard) -> None:
    headers = {f"x-extra-{n}": "1" for n in range(150)}
    answer = dashboard.api("GET", "/health", headers=headers)
    assert answer.status_code == 400
    assert "too many request headers" in answer.json()["error"]
    assert dashboard.api("GET", "/health", headers=dict(list(headers.items())[:50])).is_success


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1:{port}.evil.com",
        "[::1]evil.com",
        "[::1]:{port}evil.com",
        "localhost:{port}:{port}",
        "localhost:abc",
        "localhost:",
        "127.0.0.1:{other}",
        "localhost:+{port}",
        "::1",
        "[::1",
        "[evil.com]",
        "127.0.0.1:{port}@evil.com",
        "127.0.0.1.evil.com",
        "evil.com:{port}",
    ],
)
def test_the_host_header_is_parsed_strictly(dashboard: Dashboard, host: str) -> None:
    value = host.format(port=dashboard.port, other=dashboard.port + 1)
    head = f"GET {API}/health HTTP/1.1\r\nHost: {value}\r\n\r\n"
    status, payload = raw_request(dashboard.port, head)
    assert status in (400, 403), value  # 400: the HTTP parser refused it first
    if status == 403:
        assert "not this server" in json.loads(payload)["error"]


@pytest.mark.parametrize(
    "host", ["127.0.0.1:{port}", "LOCALHOST:{port}", "localhost", "[::1]:{port}", "127.0.0.2"]
)
def test_own_hosts_are_accepted(dashboard: Dashboard, host: str) -> None:
    value = host.format(port=dashboard.port)
    assert dashboard.api("GET", "/health", headers={"host": value}).status_code == 200, value


@pytest.mark.parametrize(
    "origin",
    [
        "http://127.0.0.1:{port}.evil.com",
        "http://127.0.0.1:{port}/",
        "http://127.0.0.1",
        "ftp://127.0.0.1:{port}",
        "null",
        "http://localhost:{port}",
    ],
)
def test_the_origin_is_parsed_strictly(dashboard: Dashboard, origin: str) -> None:
    headers = {**JSON, "origin": origin.format(port=dashboard.port)}
    answer = dashboard.api("POST", "/providers", json={"type": "openai"}, headers=headers)
    assert answer.status_code == 403
    assert not dashboard.config_path.exists()


def test_the_own_origin_is_accepted(dashboard: Dashboard) -> None:
    for origin in (f"http://127.0.0.1:{dashboard.port}", f"HTTPS://127.0.0.1:{dashboard.port}"):
        headers = {**JSON, "origin": origin}
        answer = dashboard.api("POST", "/providers", json={"type": "openai"}, headers=headers)
        assert answer.status_code == 201, origin


def test_a_locked_config_answers_503_with_retry_after(
    dashboard: Dashboard, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(config_store, "LOCK_TIMEOUT_S", 0.2)
    with FileLock(str(ConfigStore(dashboard.config_path).lock_path)):
        answer = dashboard.api("PUT", "/config/cache", json={"enabled": False})
    assert answer.status_code == 503, answer.text
    assert int(answer.headers["retry-after"]) >= 1
    assert "locked" in answer.json()["error"]
    assert dashboard.api("PUT", "/config/cache", json={"enabled": False}).is_success


@pytest.fixture
def served(project: Path, ccw_env: dict[str, str]) -> Iterator[int]:
    """``ccw serve`` as a user starts it; the port it listens on."""
    process = subprocess.Popen(
        [sys.executable, "-m", "ccw", "serve", "--port", "0"],
        cwd=project,
        env=ccw_env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        for line in process.stderr:
            found = re.search(r"dashboard: http://127\.0\.0\.1:(\d+)/", line)
            if found:
                yield int(found.group(1))
                break
        else:
            pytest.fail("ccw serve did not start")
    finally:
        process.terminate()
        process.communicate(timeout=10)  # reads stderr to its end and closes it


def test_ccw_serve_bounds_headers_and_checks_the_host_port(served: int) -> None:
    health = f"GET {API}/health HTTP/1.1\r\n"
    assert raw_request(served, f"{health}Host: 127.0.0.1:{served}\r\n\r\n")[0] == 200
    evil = f"{health}Host: 127.0.0.1:{served}.evil.com\r\n\r\n"
    assert raw_request(served, evil)[0] == 403
    huge = f"{health}Host: 127.0.0.1:{served}\r\nX-Big: {'b' * 20_000}\r\n\r\n"
    assert raw_request(served, huge)[0] == 400
