"""The CSRF token flow in process: the token store, and the middleware over ``create_app``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ccw.paths import CONFIG_RELATIVE
from ccw.server import csrf
from ccw.server.app import create_app
from ccw.server.csrf import CsrfTokens
from tests.server.conftest import API

ORIGIN = "http://127.0.0.1:3000"
BODY = {"type": "custom", "apiBase": "http://127.0.0.1:9/v1"}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_tokens_are_single_use_bound_to_their_session_and_expire() -> None:
    clock = Clock()
    tokens = CsrfTokens(ttl=60, clock=clock)
    (one,) = tokens.issue("s1")
    assert not tokens.consume("s2", one)
    assert tokens.consume("s1", one)
    assert not tokens.consume("s1", one)
    (late,) = tokens.issue("s1")
    clock.now += 61
    assert not tokens.consume("s1", late)
    many = tokens.issue("s1", csrf.MAX_TOKENS_PER_SESSION + 3)
    assert not tokens.consume("s1", many[0])  # the oldest unused ones go first
    assert tokens.consume("s1", many[-1])


def test_sessions_are_bounded() -> None:
    tokens = CsrfTokens()
    (first,) = tokens.issue("s-first")
    for n in range(csrf.MAX_SESSIONS):
        tokens.issue(f"s{n}")
    assert not tokens.consume("s-first", first)


def _client(project: Path, token: str | None = None) -> TestClient:
    return TestClient(
        create_app(project / CONFIG_RELATIVE, token, "127.0.0.1", 3000), base_url=ORIGIN
    )


@pytest.fixture
def client(project: Path, server_env: dict[str, str]) -> Iterator[TestClient]:
    with _client(project) as test_client:
        yield test_client


def test_the_token_route_sets_the_session_and_answers_one_or_many(client: TestClient) -> None:
    one = client.get("/api/csrf-token")
    assert one.status_code == 200 and len(one.json()["csrfToken"]) == 64
    assert one.headers["x-csrf-token"] == one.json()["csrfToken"]
    cookies = one.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("ccw_session_id="))
    assert "HttpOnly" in session and "SameSite=Strict" in session
    assert any(c.startswith("XSRF-TOKEN=") for c in cookies)
    many = client.get("/api/csrf-token?count=50").json()
    assert len(many["tokens"]) == csrf.MAX_COUNT and many["expiresIn"] == 900
    assert client.get("/api/csrf-token?count=x").json()["csrfToken"]
    # The session cookie is issued once and then kept.
    again = client.get("/api/csrf-token")
    assert not any(c.startswith("ccw_session_id=") for c in again.headers.get_list("set-cookie"))


def test_a_mutation_with_the_session_cookie_needs_a_token(client: TestClient) -> None:
    token = client.get("/api/csrf-token").json()["csrfToken"]
    refused = client.post(f"{API}/providers", json=BODY)
    assert refused.status_code == 403 and "X-CSRF-Token" in refused.json()["error"]
    assert refused.headers["x-frame-options"] == "DENY"  # still under the security headers
    wrong = client.post(f"{API}/providers", json=BODY, headers={"x-csrf-token": "f" * 64})
    assert wrong.status_code == 403
    ok = client.post(f"{API}/providers", json=BODY, headers={"x-csrf-token": token})
    assert ok.status_code == 201 and ok.headers["x-csrf-token"] not in ("", token)
    # Reads need no token; the Origin rule still applies to a tokened mutation.
    assert client.get(f"{API}/providers").status_code == 200
    nxt = ok.headers["x-csrf-token"]
    foreign = client.post(
        f"{API}/providers",
        json=BODY,
        headers={"x-csrf-token": nxt, "origin": "http://evil.test"},
    )
    assert foreign.status_code == 403 and "cross-origin" in foreign.json()["error"]


def test_no_cookie_or_the_server_token_needs_no_csrf_token(
    project: Path, server_env: dict[str, str]
) -> None:
    with _client(project) as plain:
        assert plain.post(f"{API}/providers", json=BODY).status_code == 201
    with _client(project, token="s3cret-token-for-tests") as tokened:
        auth = {"authorization": "Bearer s3cret-token-for-tests"}
        tokened.get("/api/csrf-token", headers=auth)  # now holds the session cookie
        assert tokened.post(f"{API}/providers", json=BODY, headers=auth).status_code == 201
        # The token route itself is under /api/: it needs the server token too.
        assert tokened.get("/api/csrf-token").status_code == 401
