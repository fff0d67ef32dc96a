"""The REST API through HTTP: the earlier tool's shapes, meaningful status codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.server.conftest import SECRET, Dashboard


def _add_provider(d: Dashboard, **fields: object) -> dict[str, object]:
    body = {"type": "openai", "name": "P", **fields}
    response = d.api("POST", "/providers", json=body)
    assert response.status_code == 201, response.text
    provider: dict[str, object] = response.json()["provider"]
    return provider


def test_spec_examples_work_as_written(dashboard: Dashboard) -> None:
    created = dashboard.api(
        "POST",
        "/providers",
        content='{"name": "My OpenAI", "type": "openai", '
        '"apiKey": "${OPENAI_API_KEY}", "enabled": true}',
        headers={"Content-Type": "application/json"},
    )
    assert created.status_code == 201
    body = created.json()
    assert body["success"] is True
    provider = body["provider"]
    assert provider["id"].startswith("openai-")
    assert provider["apiKey"] == "${OPENAI_API_KEY}"
    assert provider["apiKeySource"] == "env"

    endpoint = dashboard.api(
        "POST",
        "/endpoints",
        json={
            "id": "my-gpt4o",
            "name": "GPT-4o with Cache",
            "providerId": provider["id"],
            "model": "gpt-4o",
            "cacheStrategy": {
                "enabled": True,
                "ttlMinutes": 60,
                "maxSizeKB": 512,
                "filePatterns": ["*.md", "*.ts"],
            },
            "enabled": True,
        },
    )
    assert endpoint.status_code == 201, endpoint.text
    assert endpoint.json()["endpoint"]["cacheStrategy"]["maxSizeKB"] == 512

    on_disk = json.loads(dashboard.config_path.read_text())
    assert on_disk["providers"][0]["apiKey"] == "${OPENAI_API_KEY}"
    assert on_disk["endpoints"][0]["id"] == "my-gpt4o"
    assert on_disk["defaultEndpoint"] == "my-gpt4o"


def test_lists_have_the_earlier_shapes_and_builtins(dashboard: Dashboard) -> None:
    _add_provider(dashboard, id="p1")
    providers = dashboard.api("GET", "/providers").json()
    assert providers["count"] == len(providers["providers"]) == 2
    by_id = {p["id"]: p for p in providers["providers"]}
    assert by_id["p1"]["builtin"] is False
    assert by_id["local"]["builtin"] is True
    endpoints = dashboard.api("GET", "/endpoints").json()
    assert endpoints["count"] == 1
    assert endpoints["endpoints"][0]["id"] == "local"
    assert dashboard.api("GET", "/providers/local").json()["type"] == "local"


def test_literal_keys_are_masked_and_a_masked_put_keeps_the_key(dashboard: Dashboard) -> None:
    provider = _add_provider(dashboard, id="lit", apiKey=SECRET)
    assert provider["apiKey"] == "sk-…2e1b"
    shown = dashboard.api("GET", "/providers/lit").json()
    assert shown["apiKey"] == "sk-…2e1b" and shown["apiKeySource"] == "literal"

    updated = dashboard.api("PUT", "/providers/lit", json={**shown, "name": "Renamed"})
    assert updated.status_code == 200, updated.text
    assert updated.json()["provider"]["name"] == "Renamed"
    stored = json.loads(dashboard.config_path.read_text())["providers"][0]
    assert stored["apiKey"] == SECRET
    assert SECRET not in dashboard.api("GET", "/config").text


def test_update_and_delete_with_cascade(dashboard: Dashboard) -> None:
    _add_provider(dashboard, id="p1")
    _add_provider(dashboard, id="p2")
    for endpoint_id, provider_id in (("e1", "p1"), ("e2", "p2")):
        created = dashboard.api(
            "POST", "/endpoints", json={"id": endpoint_id, "providerId": provider_id, "model": "m"}
        )
        assert created.status_code == 201
    assert dashboard.api("GET", "/config").json()["defaultEndpoint"] == "e1"

    changed = dashboard.api(
        "PUT", "/endpoints/e2", json={"model": "gpt-4o", "cacheStrategy": {"ttlMinutes": 5}}
    )
    assert changed.status_code == 200
    strategy = changed.json()["endpoint"]["cacheStrategy"]
    assert strategy["ttlMinutes"] == 5 and strategy["maxSizeKB"] == 512

    deleted = dashboard.api("DELETE", "/providers/p1")
    assert deleted.json() == {
        "success": True,
        "message": "provider p1 deleted",
        "deletedEndpoints": ["e1"],
    }
    config = dashboard.api("GET", "/config").json()
    assert "defaultEndpoint" not in config
    assert [e["id"] for e in config["endpoints"]] == ["e2"]

    assert dashboard.api("DELETE", "/endpoints/e2").json() == {"success": True}
    assert dashboard.api("GET", "/endpoints/e2").status_code == 404


def test_default_endpoint_and_cache_settings(dashboard: Dashboard) -> None:
    _add_provider(dashboard, id="p1")
    for endpoint_id in ("a", "b"):
        dashboard.api(
            "POST", "/endpoints", json={"id": endpoint_id, "providerId": "p1", "model": "m"}
        )
    answer = dashboard.api("PUT", "/config/default-endpoint", json={"endpointId": "b"})
    assert answer.json() == {"success": True, "defaultEndpoint": "b"}
    listed = dashboard.api("GET", "/endpoints").json()
    assert listed["defaultEndpoint"] == "b"
    assert [e["id"] for e in listed["endpoints"] if e["isDefault"]] == ["b"]
    assert (
        dashboard.api("PUT", "/config/default-endpoint", json={"endpointId": "zz"}).status_code
        == 404
    )

    settings = dashboard.api("PUT", "/config/cache", json={"enabled": False, "maxTotalSizeMB": 5})
    assert settings.json()["globalCacheSettings"]["enabled"] is False
    assert dashboard.api("GET", "/config").json()["globalCacheSettings"]["maxTotalSizeMB"] == 5


def test_status_codes_mean_something(dashboard: Dashboard) -> None:
    _add_provider(dashboard, id="p1")
    duplicate = dashboard.api("POST", "/providers", json={"id": "p1", "type": "openai"})
    assert duplicate.status_code == 409
    assert duplicate.json()["error"] == "provider id already exists: p1"

    missing = dashboard.api("PUT", "/providers/nope", json={"name": "x"})
    assert missing.status_code == 404
    assert "p1" in missing.json()["fix"]

    bad_type = dashboard.api("POST", "/providers", json={"type": "nonsense"})
    assert bad_type.status_code == 422
    assert bad_type.json()["fields"][0]["loc"] == ["body", "type"]

    bad_base = dashboard.api("PUT", "/providers/p1", json={"apiBase": "ftp://x"})
    assert bad_base.status_code in (400, 422)
    assert "apiBase" in bad_base.json()["error"]

    bad_json = dashboard.api(
        "POST", "/providers", content="{", headers={"content-type": "application/json"}
    )
    assert bad_json.status_code == 422
    no_provider = dashboard.api(
        "POST", "/endpoints", json={"id": "e", "providerId": "x", "model": "m"}
    )
    assert no_provider.status_code == 404
    bad_id = dashboard.api(
        "POST", "/endpoints", json={"id": "-x", "providerId": "p1", "model": "m"}
    )
    assert bad_id.status_code == 422
    assert dashboard.api("GET", "/models/nonsense").status_code == 404
    assert dashboard.api("GET", "/nope").status_code == 404


def test_models_and_provider_types(dashboard: Dashboard) -> None:
    models = dashboard.api("GET", "/models/openai").json()
    assert models["providerType"] == "openai" and models["count"] == len(models["models"])
    assert {"id": "gpt-4o", "name": "gpt-4o", "provider": "openai", "description": ""} in (
        models["models"]
    )
    google = dashboard.api("GET", "/models/google").json()
    assert google["providerType"] == "google" and google["count"] > 0
    types = {t["type"]: t for t in dashboard.api("GET", "/provider-types").json()["types"]}
    assert types["anthropic"]["keyEnv"] == "ANTHROPIC_API_KEY"
    assert types["custom"]["needsBase"] is True


def test_health_openapi_and_page(dashboard: Dashboard) -> None:
    health = dashboard.api("GET", "/health").json()
    assert health["status"] == "ok"
    assert health["configPath"] == str(dashboard.config_path)
    assert health["projectRoot"] == str(dashboard.project)
    paths = dashboard.client.get("/openapi.json").json()["paths"]
    assert "/api/litellm-api/providers/{provider_id}/test" in paths
    assert dashboard.client.get("/docs").status_code == 200
    page = dashboard.client.get("/")
    assert page.status_code == 200 and "ccw dashboard" in page.text
    assert dashboard.client.get("/static/app.js").status_code == 200


def test_change_stamp_moves_when_the_file_changes(dashboard: Dashboard) -> None:
    before = dashboard.api("GET", "/changes").json()
    assert dashboard.api("GET", "/changes").json() == before
    _add_provider(dashboard, id="p1")
    after = dashboard.api("GET", "/changes").json()
    assert after["config"] != before["config"]


def test_cache_dir_values_the_file_system_refuses_are_400(
    dashboard: Dashboard, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    existing = tmp_path / "a-file"
    existing.write_text("x")
    values = [
        "/dev/null",
        str(existing),
        "/tmp/nul\0here",
        "/tmp/" + "n" * 5000,
        str(tmp_path / "x" / "$OPENAI_API_KEY"),
    ]
    for value in values:
        answer = dashboard.api("PUT", "/config/cache", json={"cacheDir": value})
        assert answer.status_code == 400, (value[:40], answer.text)
        assert "cacheDir" in answer.json()["error"]
    stats = dashboard.api("GET", "/cache/stats")
    assert stats.status_code == 200 and SECRET not in stats.text
    assert not any(SECRET in str(path) for path in tmp_path.rglob("*"))


def test_long_ids_are_refused(dashboard: Dashboard) -> None:
    long_id = "p" * 100_000
    answer = dashboard.api("POST", "/providers", json={"id": long_id, "type": "openai"})
    assert answer.status_code in (400, 413, 422), answer.status_code
    assert long_id not in answer.text
    assert not dashboard.config_path.exists() or long_id not in dashboard.config_path.read_text()
    _add_provider(dashboard, id="p")
    endpoint = {"id": "e" * 129, "providerId": "p", "model": "m"}
    answer = dashboard.api("POST", "/endpoints", json=endpoint)
    assert answer.status_code in (400, 422), answer.text
    assert "128" in answer.text


def test_a_locked_config_is_503_with_retry_after(
    dashboard: Dashboard, monkeypatch: pytest.MonkeyPatch
) -> None:
    from filelock import FileLock

    from ccw.config import store as store_module
    from ccw.config.store import ConfigStore

    monkeypatch.setattr(store_module, "LOCK_TIMEOUT_S", 0.05)
    lock = ConfigStore(dashboard.config_path).lock_path
    lock.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(lock)):
        answer = dashboard.api("POST", "/providers", json={"id": "p", "type": "openai"})
    assert answer.status_code == 503, answer.text
    assert int(answer.headers["Retry-After"]) > 0
    assert str(lock) in answer.json()["fix"]
