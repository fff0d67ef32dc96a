"""The dashboard's main routes in process, through FastAPI's ``TestClient`` over ``create_app``.

A fast layer under the tests that serve the app with uvicorn on a socket: the same app, the
same project files, no server thread and no network.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ccw.paths import CONFIG_RELATIVE
from ccw.server.app import create_app
from tests.server.conftest import API, SECRET

HOST, PORT = "127.0.0.1", 3000
ORIGIN = f"http://{HOST}:{PORT}"


def _client(project: Path, token: str | None = None) -> TestClient:
    app = create_app(project / CONFIG_RELATIVE, token, HOST, PORT)
    return TestClient(app, base_url=ORIGIN)


@pytest.fixture
def client(project: Path, server_env: dict[str, str]) -> Iterator[TestClient]:
    with _client(project) as test_client:
        yield test_client


def test_providers_round_trip_with_masked_keys(client: TestClient, project: Path) -> None:
    created = client.post(f"{API}/providers", json={"id": "p1", "type": "openai", "apiKey": SECRET})
    assert created.status_code == 201, created.text
    assert created.json()["provider"]["apiKey"] == "sk-…2e1b"
    listed = client.get(f"{API}/providers").json()
    assert listed["count"] == 2
    assert {p["id"]: p["builtin"] for p in listed["providers"]} == {"p1": False, "local": True}
    shown = client.get(f"{API}/providers/p1").json()
    assert shown["apiKeySource"] == "literal"

    renamed = client.put(f"{API}/providers/p1", json={**shown, "name": "Renamed"})
    assert renamed.status_code == 200 and renamed.json()["provider"]["name"] == "Renamed"
    on_disk = json.loads((project / CONFIG_RELATIVE).read_text())
    assert on_disk["providers"][0]["apiKey"] == SECRET
    assert SECRET not in client.get(f"{API}/config").text

    duplicate = client.post(f"{API}/providers", json={"id": "p1", "type": "openai"})
    assert duplicate.status_code == 409
    assert duplicate.json()["error"] == "provider id already exists: p1"
    assert client.put(f"{API}/providers/nope", json={"name": "x"}).status_code == 404
    assert client.post(f"{API}/providers", json={"type": "nonsense"}).status_code == 422


def test_endpoints_default_and_cascade(client: TestClient) -> None:
    assert client.post(f"{API}/providers", json={"id": "p1", "type": "openai"}).status_code == 201
    for endpoint_id in ("a", "b"):
        made = client.post(
            f"{API}/endpoints", json={"id": endpoint_id, "providerId": "p1", "model": "m"}
        )
        assert made.status_code == 201, made.text
    assert client.get(f"{API}/config").json()["defaultEndpoint"] == "a"

    changed = client.put(f"{API}/endpoints/b", json={"cacheStrategy": {"ttlMinutes": 5}})
    assert changed.json()["endpoint"]["cacheStrategy"] == {
        "enabled": True,
        "ttlMinutes": 5,
        "maxSizeKB": 512,
        "filePatterns": [],
    }
    chosen = client.put(f"{API}/config/default-endpoint", json={"endpointId": "b"})
    assert chosen.json() == {"success": True, "defaultEndpoint": "b"}
    listed = client.get(f"{API}/endpoints").json()
    assert [e["id"] for e in listed["endpoints"] if e["isDefault"]] == ["b"]

    deleted = client.delete(f"{API}/providers/p1")
    assert deleted.json()["deletedEndpoints"] == ["a", "b"]
    assert deleted.json()["message"] == "provider p1 deleted"
    assert client.get(f"{API}/endpoints/a").status_code == 404
    orphan = client.post(f"{API}/endpoints", json={"id": "e", "providerId": "x", "model": "m"})
    assert orphan.status_code == 404


def test_cache_history_meta_routes(client: TestClient, project: Path) -> None:
    stats = client.get(f"{API}/cache/stats").json()
    assert stats["entries"] == 0
    assert client.post(f"{API}/cache/clear", json={"expiredOnly": True}).json()["removed"] == 0
    settings = client.put(f"{API}/config/cache", json={"enabled": False, "maxTotalSizeMB": 5})
    assert settings.json()["globalCacheSettings"]["enabled"] is False
    assert client.put(f"{API}/config/cache", json={"maxTotalSizeMB": 0}).status_code == 422

    assert client.get(f"{API}/history").json()["history"] == []
    assert client.get(f"{API}/history/call-nope").status_code == 404
    assert client.get(f"{API}/history", params={"limit": 0}).status_code == 422

    health = client.get(f"{API}/health").json()
    assert health["status"] == "ok" and health["projectRoot"] == str(project)
    assert "gpt-4o" in [m["id"] for m in client.get(f"{API}/models/openai").json()["models"]]
    assert client.get(f"{API}/models/nonsense").status_code == 404
    assert "/api/litellm-api/providers" in client.get("/openapi.json").json()["paths"]
    assert "ccw dashboard" in client.get("/").text


def test_foreign_hosts_origins_and_bodies_are_refused(client: TestClient) -> None:
    body = '{"type": "openai"}'
    json_type = {"content-type": "application/json"}
    assert client.get(f"{API}/providers", headers={"host": "rebind.example"}).status_code == 403
    foreign = {**json_type, "origin": "http://evil.example"}
    assert client.post(f"{API}/providers", content=body, headers=foreign).status_code == 403
    plain = {"content-type": "text/plain"}
    assert client.post(f"{API}/providers", content=body, headers=plain).status_code == 415
    own = {**json_type, "origin": ORIGIN}
    assert client.post(f"{API}/providers", content=body, headers=own).status_code == 201


def test_a_token_guards_the_api(project: Path, server_env: dict[str, str]) -> None:
    with _client(project, token="s3cret-token") as guarded:
        assert guarded.get(f"{API}/providers").status_code == 401
        good = {"authorization": "Bearer s3cret-token"}
        assert guarded.get(f"{API}/providers", headers=good).status_code == 200
        assert guarded.get("/").status_code == 200
