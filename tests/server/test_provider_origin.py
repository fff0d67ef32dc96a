"""Stored keys cannot be aimed at another host through the API, and the API can refer only to
the environment variables the user allowed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from ccw.paths import CONFIG_RELATIVE
from tests.config.conftest import ok, user_error
from tests.conftest import RunCcw
from tests.fakes.provider_server import ProviderServer
from tests.server.conftest import Dashboard

SECRET = "sk-origin-STOREDKEY-9f8e7d6c5b4a"
NEW_KEY = "sk-origin-NEWKEY-0123456789ab"
AWS = "aws-SECRET-ACCESS-KEY-never-sent-42"


@pytest.fixture
def attacker() -> Iterator[ProviderServer]:
    with ProviderServer() as srv:
        yield srv


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS)


def _stored(dashboard: Dashboard, provider_id: str) -> dict[str, object]:
    providers = json.loads(dashboard.config_path.read_text())["providers"]
    found: dict[str, object] = next(p for p in providers if p["id"] == provider_id)
    return found


def _refused(answer: object, *needles: str) -> None:
    status = answer.status_code  # type: ignore[attr-defined]
    body = answer.json()  # type: ignore[attr-defined]
    assert status == 400, body
    text = body["error"] + " " + (body.get("fix") or "")
    for needle in needles:
        assert needle in text, text


def test_moving_apibase_needs_the_key_again(
    dashboard: Dashboard, fake: ProviderServer, attacker: ProviderServer
) -> None:
    created = dashboard.api(
        "POST",
        "/providers",
        json={"id": "p", "type": "custom", "apiBase": fake.url + "/v1", "apiKey": SECRET},
    )
    assert created.status_code == 201, created.text
    masked = created.json()["provider"]["apiKey"]

    for body in (
        {"apiBase": attacker.url + "/v1"},
        {"apiBase": attacker.url + "/v1", "apiKey": masked},
    ):
        _refused(dashboard.api("PUT", "/providers/p", json=body), "entered again")
    assert _stored(dashboard, "p")["apiBase"] == fake.url + "/v1"
    dashboard.api("POST", "/providers/p/test")
    assert attacker.requests == []
    assert fake.requests[-1].headers["authorization"] == f"Bearer {SECRET}"

    # The same host on another path keeps the key; a new key re-entered may move it.
    same = dashboard.api("PUT", "/providers/p", json={"apiBase": fake.url + "/other/v1"})
    assert same.status_code == 200, same.text
    moved = dashboard.api(
        "PUT", "/providers/p", json={"apiBase": attacker.url + "/v1", "apiKey": NEW_KEY}
    )
    assert moved.status_code == 200, moved.text
    dashboard.api("POST", "/providers/p/test")
    assert [r.headers["authorization"] for r in attacker.requests] == [f"Bearer {NEW_KEY}"]


def test_stored_secret_headers_do_not_follow_a_new_apibase(
    dashboard: Dashboard, fake: ProviderServer, attacker: ProviderServer
) -> None:
    headers = {"Authorization": f"Bearer {SECRET}"}
    dashboard.api(
        "POST",
        "/providers",
        json={"id": "h", "type": "custom", "apiBase": fake.url + "/v1", "customHeaders": headers},
    )
    shown = dashboard.api("GET", "/providers/h").json()["customHeaders"]
    answer = dashboard.api(
        "PUT", "/providers/h", json={"apiBase": attacker.url + "/v1", "customHeaders": shown}
    )
    _refused(answer, "entered again")


def test_api_may_not_refer_to_arbitrary_variables(
    dashboard: Dashboard, fake: ProviderServer, attacker: ProviderServer, aws_env: None
) -> None:
    assert (
        dashboard.api(
            "POST", "/providers", json={"id": "o", "type": "openai", "apiKey": "${OPENAI_API_KEY}"}
        ).status_code
        == 201
    )
    attempts = [
        ("PUT", "/providers/o", {"apiBase": attacker.url + "/v1"}),
        (
            "PUT",
            "/providers/o",
            {"apiBase": attacker.url + "/v1", "apiKey": "${AWS_SECRET_ACCESS_KEY}"},
        ),
        ("PUT", "/providers/o", {"apiKey": "${AWS_SECRET_ACCESS_KEY}"}),
        ("PUT", "/providers/o", {"customHeaders": {"X-Steal": "${AWS_SECRET_ACCESS_KEY}"}}),
        (
            "POST",
            "/providers",
            {"type": "custom", "apiBase": attacker.url + "/v1", "apiKey": "${OPENAI_API_KEY}"},
        ),
        ("POST", "/providers", {"type": "openai", "apiBase": "http://${AWS_SECRET_ACCESS_KEY}/"}),
    ]
    for method, path, body in attempts:
        answer = dashboard.api(method, path, json=body)
        _refused(answer, "ccw config allow-env")
        assert AWS not in answer.text
    assert _stored(dashboard, "o") == {**_stored(dashboard, "o"), "apiKey": "${OPENAI_API_KEY}"}
    assert "apiBase" not in _stored(dashboard, "o")
    assert [p["id"] for p in json.loads(dashboard.config_path.read_text())["providers"]] == ["o"]
    dashboard.api("POST", "/providers/o/test")
    assert attacker.requests == []


def test_the_allow_list_is_edited_only_from_the_cli(
    dashboard: Dashboard, run_ccw: RunCcw, fake: ProviderServer, aws_env: None
) -> None:
    dashboard.api(
        "POST", "/providers", json={"id": "c", "type": "custom", "apiBase": fake.url + "/v1"}
    )
    for method, path in (("PUT", "/providers/c"), ("PUT", "/config/cache")):
        answer = dashboard.api(method, path, json={"allowedEnvVars": ["AWS_SECRET_ACCESS_KEY"]})
        _refused(answer, "ccw config allow-env")
    assert "allowedEnvVars" not in json.loads(dashboard.config_path.read_text())

    ok(run_ccw("config", "allow-env", "CCW_GATEWAY_TOKEN"))
    assert json.loads(dashboard.config_path.read_text())["allowedEnvVars"] == ["CCW_GATEWAY_TOKEN"]
    header = {"X-Gateway": "${CCW_GATEWAY_TOKEN}"}
    answer = dashboard.api("PUT", "/providers/c", json={"customHeaders": header})
    assert answer.status_code == 200, answer.text
    bad = run_ccw("config", "allow-env", "not a name")
    assert bad.returncode == 2
    user_error(bad, "not an environment variable name")


def test_header_references_resolve_only_for_allowed_variables(
    run_ccw: RunCcw, fake: ProviderServer, project: Path
) -> None:
    """A header written into the file by hand (or arriving with a cloned project) may name
    only variables the user allowed; the CLI's own --headers allows what it names."""
    env = {"AWS_SECRET_ACCESS_KEY": AWS, "CCW_GATEWAY_TOKEN": "gateway-token-1234567"}
    ok(run_ccw("provider", "add", "--type", "custom", "--id", "g", "--api-base", fake.url + "/v1"))
    config_file = project / CONFIG_RELATIVE
    data = json.loads(config_file.read_text())
    data["providers"][0]["customHeaders"] = {"X-Steal": "${AWS_SECRET_ACCESS_KEY}"}
    config_file.write_text(json.dumps(data))
    refused = run_ccw("provider", "test", "g", "--json", env=env)
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert "ccw config allow-env AWS_SECRET_ACCESS_KEY" in json.loads(refused.stdout)["error"]
    assert fake.requests == []
    ok(run_ccw("endpoint", "add", "e", "--provider", "g", "--model", "test-model"))
    called = run_ccw("cli", "-p", "hi", "--model", "e", env=env)
    assert called.returncode == 3, called.stderr
    assert "allow-env" in called.stderr and AWS not in called.stderr
    assert fake.requests == []

    ok(run_ccw("config", "allow-env", "AWS_SECRET_ACCESS_KEY"))
    ok(run_ccw("provider", "test", "g", env=env))
    assert fake.requests[-1].headers["x-steal"] == AWS
    ok(run_ccw("config", "allow-env", "--remove", "AWS_SECRET_ACCESS_KEY"))
    assert run_ccw("provider", "test", "g", env=env).returncode == 3
