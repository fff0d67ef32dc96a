"""Test connection for real, against loopback test provider servers."""

from __future__ import annotations

import json

import pytest

from ccw.config.schema import Provider
from ccw.exec import probe
from tests.fakes.ports import free_port
from tests.fakes.provider_server import ProviderServer
from tests.server.conftest import SECRET, Dashboard, MakeDashboard


def test_openai_compatible_lists_models_with_bearer_key(fake: ProviderServer) -> None:
    fake.models = ["a", "b", "c"]
    provider = Provider(
        id="o",
        type="openai",
        api_key=SECRET,
        api_base=fake.url + "/v1",
        organization="org-1",
        custom_headers={"X-Team": "blue"},
    )
    result = probe.test_provider(provider)
    assert result.success and result.models == 3 and result.error_kind is None
    seen = fake.requests[-1]
    assert (seen.method, seen.path) == ("GET", "/v1/models")
    assert seen.headers["authorization"] == f"Bearer {SECRET}"
    assert seen.headers["openai-organization"] == "org-1"
    assert seen.headers["x-team"] == "blue"
    assert result.to_dict()["latencyMs"] >= 0


def test_anthropic_and_ollama_use_their_own_routes(
    fake: ProviderServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CCW_TEST_ANTHROPIC", SECRET)
    anthropic = Provider(
        id="a", type="anthropic", api_key="${CCW_TEST_ANTHROPIC}", api_base=fake.url
    )
    assert probe.test_provider(anthropic).success
    seen = fake.requests[-1]
    assert seen.path == "/v1/models"
    assert seen.headers["x-api-key"] == SECRET
    assert seen.headers["anthropic-version"] == "2023-06-01"

    ollama = Provider(id="l", type="ollama", api_base=fake.url)
    result = probe.test_provider(ollama)
    assert result.success and result.models == 1
    assert fake.requests[-1].path == "/api/tags"


def test_failures_are_classified(fake: ProviderServer) -> None:
    wrong_path = Provider(id="c", type="custom", api_base=fake.url + "/nope")
    result = probe.test_provider(wrong_path)
    assert (result.success, result.error_kind) == (False, "not_found")
    assert "HTTP 404" in (result.error or "")

    gone = Provider(id="g", type="custom", api_base=f"http://127.0.0.1:{free_port()}/v1")
    assert probe.test_provider(gone).error_kind == "unreachable"

    no_base = Provider(id="n", type="custom")
    assert probe.test_provider(no_base).error_kind == "unreachable"


def test_missing_key_is_reported_without_a_request(
    fake: ProviderServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CCW_TEST_UNSET", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    referenced = Provider(id="r", type="openai", api_key="${CCW_TEST_UNSET}", api_base=fake.url)
    result = probe.test_provider(referenced)
    assert result.error_kind == "missing_key"
    assert "CCW_TEST_UNSET" in (result.error or "")
    keyless = Provider(id="k", type="openai", api_base=fake.url)
    assert probe.test_provider(keyless).error_kind == "missing_key"
    assert fake.requests == []


def test_the_api_tests_with_the_stored_provider(
    dashboard: Dashboard, fake: ProviderServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CCW_TEST_KEY", SECRET)
    monkeypatch.setenv("CCW_OTHER_SECRET", "sk-other-secret-value-0000")
    dashboard.config_path.parent.mkdir(parents=True, exist_ok=True)
    dashboard.config_path.write_text(json.dumps({"allowedEnvVars": ["CCW_TEST_KEY"]}))
    dashboard.api(
        "POST",
        "/providers",
        json={
            "id": "f",
            "type": "openai",
            "apiKey": "${CCW_TEST_KEY}",
            "apiBase": fake.url + "/v1",
        },
    )
    answer = dashboard.api(
        "POST", "/providers/f/test", json={"apiKey": "${CCW_OTHER_SECRET}", "apiBase": "http://x"}
    )
    body = answer.json()
    assert answer.status_code == 200
    assert body["success"] is True and body["providerId"] == "f" and body["models"] == 1
    assert fake.requests[-1].headers["authorization"] == f"Bearer {SECRET}"
    assert SECRET not in answer.text

    curl_style = dashboard.client.post("/api/litellm-api/providers/f/test")
    assert curl_style.json()["success"] is True
    assert dashboard.api("POST", "/providers/zz/test").status_code == 404


def test_a_failing_test_answers_its_class_and_never_the_key(
    dashboard: Dashboard, fake: ProviderServer
) -> None:
    dashboard.api(
        "POST",
        "/providers",
        json={"id": "bad", "type": "custom", "apiKey": SECRET, "apiBase": fake.url + "/missing"},
    )
    body = dashboard.api("POST", "/providers/bad/test").json()
    assert body["success"] is False and body["errorKind"] == "not_found"
    assert SECRET not in str(body)


def test_an_authentication_failure_is_classified(make_dashboard: MakeDashboard) -> None:
    """A server that answers 401 on its model list: a dashboard with a token of its own."""
    guarded = make_dashboard(token="other-token")
    provider = Provider(
        id="auth", type="custom", api_key=SECRET, api_base=guarded.url + "/api/litellm-api"
    )
    result = probe.test_provider(provider)
    assert (result.success, result.error_kind) == (False, "authentication")
    assert "HTTP 401" in (result.error or "") and SECRET not in (result.error or "")


def test_the_local_provider_is_tested_where_the_local_model_listens(
    dashboard: Dashboard, fake: ProviderServer
) -> None:
    port = int(fake.url.rsplit(":", 1)[1])
    config = {"version": 1, "localModel": {"port": port}}
    dashboard.config_path.parent.mkdir(parents=True)
    dashboard.config_path.write_text(json.dumps(config))
    body = dashboard.api("POST", "/providers/local/test").json()
    assert body["success"] is True and body["providerId"] == "local"
    assert fake.requests[-1].path == "/v1/models"
