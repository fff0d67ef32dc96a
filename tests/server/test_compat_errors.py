"""The original page's routes in process: their user errors, and pools written to the right file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ccw.paths import CONFIG_RELATIVE
from ccw.server.app import create_app
from tests.server.conftest import API


@pytest.fixture
def client(project: Path, server_env: dict[str, str]) -> Iterator[TestClient]:
    app = create_app(project / CONFIG_RELATIVE, None, "127.0.0.1", 3000)
    with TestClient(app, base_url="http://127.0.0.1:3000") as test_client:
        yield test_client


def test_key_routes_name_what_is_missing(client: TestClient) -> None:
    provider = {"id": "p", "type": "custom", "apiBase": "http://127.0.0.1:9/v1"}
    assert client.post(f"{API}/providers", json=provider).status_code == 201
    no_key_id = client.post(f"{API}/providers/p/test-key", json={})
    assert no_key_id.status_code == 400 and no_key_id.json()["error"] == "keyId is required"
    unknown = client.post(f"{API}/providers/p/test-key", json={"keyId": "zz"})
    assert unknown.status_code == 404 and "known keys: default" in unknown.json()["fix"]
    for method, path in (
        ("GET", "/providers/nope/health-status"),
        ("POST", "/providers/nope/health-check-now"),
        ("POST", "/providers/nope/test-key"),
    ):
        answer = client.request(method, API + path, json={"keyId": "default"})
        assert answer.status_code == 404, (path, answer.text)


def test_rotation_routes_say_they_belong_to_another_tool(client: TestClient) -> None:
    for method, path in (
        ("GET", "/codexlens/rotation"),
        ("PUT", "/codexlens/rotation"),
        ("GET", "/codexlens/rotation/endpoints"),
        ("POST", "/codexlens/rotation/sync"),
    ):
        answer = client.request(method, API + path, json={} if method != "GET" else None)
        assert answer.status_code == 404
        assert "another tool (CodexLens)" in answer.json()["error"]
        assert "embedding-pool" in answer.json()["fix"]


def test_pool_errors_leave_the_file_as_it_was(client: TestClient, project: Path) -> None:
    config_file = project / CONFIG_RELATIVE
    created = client.post(f"{API}/model-pools", json={"id": "p1", "targetModel": "m"})
    assert created.status_code == 201
    before = config_file.read_text()
    bad = client.post(f"{API}/model-pools", json={"targetModel": "m", "strategy": "fastest"})
    assert bad.status_code == 400 and "strategy" in bad.json()["error"]
    taken = client.post(f"{API}/model-pools", json={"id": "p1", "targetModel": "m"})
    assert taken.status_code == 409
    bad_update = client.put(f"{API}/model-pools/p1", json={"defaultCooldown": -1})
    assert bad_update.status_code == 400
    assert client.put(f"{API}/model-pools/zz", json={}).status_code == 404
    assert client.delete(f"{API}/model-pools/zz").status_code == 404
    assert client.get(f"{API}/model-pools/zz").status_code == 404
    wrong_type = client.get(f"{API}/model-pools/available-models/video")
    assert wrong_type.status_code == 404 and "llm, embedding, reranker" in wrong_type.json()["fix"]
    assert client.get(f"{API}/model-pools/discover/video/m").status_code == 404
    assert config_file.read_text() == before
    assert json.loads(before)["modelPools"] == [
        {
            "id": "p1",
            "modelType": "llm",
            "enabled": True,
            "targetModel": "m",
            "strategy": "round_robin",
            "autoDiscover": True,
            "defaultCooldown": 60,
            "defaultMaxConcurrentPerKey": 4,
        }
    ]


def test_the_embedding_pool_is_set_and_removed(client: TestClient, project: Path) -> None:
    pool = {"enabled": True, "targetModel": "e1", "strategy": "round_robin"}
    put = client.put(f"{API}/embedding-pool", json=pool)
    assert put.status_code == 200 and put.json()["poolConfig"]["targetModel"] == "e1"
    assert client.get(f"{API}/embedding-pool").json()["poolConfig"]["enabled"] is True
    assert client.put(f"{API}/embedding-pool", json={"strategy": "x"}).status_code == 400
    assert client.put(f"{API}/embedding-pool", json=None).json()["poolConfig"] is None
    on_disk = json.loads((project / CONFIG_RELATIVE).read_text())
    assert "embeddingPoolConfig" not in on_disk
