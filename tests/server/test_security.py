"""Secure by default: DNS rebinding, CSRF, tokens, masked keys, loopback only."""

from __future__ import annotations

import json

import pytest

from tests.conftest import RunCcw
from tests.server.conftest import API, SECRET, Dashboard, MakeDashboard

PROVIDER = json.dumps({"id": "p", "type": "openai", "apiKey": SECRET})


def test_a_foreign_host_is_refused(dashboard: Dashboard) -> None:
    for host in ("evil.example", "evil.example:3000", "localhost.evil.example"):
        answer = dashboard.client.get(f"{API}/providers", headers={"host": host})
        assert answer.status_code == 403, host
        assert "not this server" in answer.json()["error"]
    assert dashboard.client.get("/", headers={"host": "rebind.example"}).status_code == 403
    for host in (f"localhost:{dashboard.port}", f"127.0.0.1:{dashboard.port}", "[::1]"):
        assert dashboard.client.get(f"{API}/health", headers={"host": host}).status_code == 200


def test_cross_origin_mutations_are_refused(dashboard: Dashboard) -> None:
    headers = {"content-type": "application/json", "origin": "http://evil.example"}
    answer = dashboard.client.post(f"{API}/providers", content=PROVIDER, headers=headers)
    assert answer.status_code == 403
    fetch_site = {"content-type": "application/json", "sec-fetch-site": "cross-site"}
    assert dashboard.client.post(f"{API}/cache/clear", headers=fetch_site).status_code == 403
    other_port = {"origin": f"http://127.0.0.1:{dashboard.port + 1}"}
    assert dashboard.client.delete(f"{API}/providers/p", headers=other_port).status_code == 403
    assert not dashboard.config_path.exists()

    own = {"content-type": "application/json", "origin": dashboard.url}
    assert (
        dashboard.client.post(f"{API}/providers", content=PROVIDER, headers=own).status_code == 201
    )


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None],
)
def test_mutations_must_be_json(dashboard: Dashboard, content_type: str | None) -> None:
    headers = {"content-type": content_type} if content_type else {}
    answer = dashboard.client.post(f"{API}/providers", content=PROVIDER, headers=headers)
    assert answer.status_code == 415
    assert answer.json()["error"] == "a request body must be JSON"
    assert not dashboard.config_path.exists()


def test_no_cors_headers(dashboard: Dashboard) -> None:
    answer = dashboard.client.get(f"{API}/providers", headers={"origin": "http://evil.example"})
    assert not any(name.startswith("access-control-") for name in answer.headers)
    preflight = dashboard.client.options(
        f"{API}/providers",
        headers={"origin": "http://evil.example", "access-control-request-method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers
    page = dashboard.client.get("/")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"


def test_with_a_token_every_api_call_needs_it(make_dashboard: MakeDashboard) -> None:
    dashboard = make_dashboard(token="s3cret-token")
    assert dashboard.api("GET", "/providers").status_code == 401
    assert (
        dashboard.api("GET", "/health", headers={"authorization": "Bearer wrong"}).status_code
        == 401
    )
    assert dashboard.api("POST", "/providers", json={"type": "openai"}).status_code == 401
    assert not dashboard.config_path.exists()
    good = {"authorization": "Bearer s3cret-token"}
    assert dashboard.api("GET", "/providers", headers=good).status_code == 200
    assert (
        dashboard.api("GET", "/providers", headers={"x-ccw-token": "s3cret-token"}).status_code
        == 200
    )
    assert dashboard.client.get("/").status_code == 200


def test_no_response_ever_contains_the_key(dashboard: Dashboard) -> None:
    bodies = []

    def call(method: str, path: str, **kwargs: object) -> None:
        bodies.append(dashboard.api(method, path, **kwargs).text)

    call("POST", "/providers", json={"id": "p", "type": "openai", "apiKey": SECRET})
    call("POST", "/providers", json={"id": "p", "type": "openai", "apiKey": SECRET})
    call("POST", "/providers", json={"type": "bogus", "apiKey": SECRET})
    call("POST", "/providers", json={"apiKey": SECRET})
    call("PUT", "/providers/p", json={"apiKey": SECRET, "timeout": -1})
    call("PUT", "/providers/p", json={"apiKey": SECRET, "apiBase": "nope"})
    call("PUT", "/providers/p", json={"apiKey": SECRET, "name": "again"})
    call("GET", "/providers")
    call("GET", "/providers/p")
    call("GET", "/config")
    call("POST", "/providers/p/test")
    call("POST", "/endpoints", json={"id": "e", "providerId": "p", "model": "m"})
    call("GET", "/endpoints")
    call("DELETE", "/providers/p")
    assert json.loads(bodies[0])["provider"]["apiKey"] == "sk-…2e1b"
    for body in bodies:
        assert SECRET not in body
        assert "SECRETKEYVALUE" not in body


def test_serve_refuses_other_interfaces_without_a_token(run_ccw: RunCcw) -> None:
    refused = run_ccw("serve", "--host", "0.0.0.0", "--port", "0")
    assert refused.returncode == 2
    assert "needs a token" in refused.stderr
    assert "Traceback" not in refused.stderr
