"""Key health in the dashboard: the background checks ``ccw serve`` runs, the health routes
and the per-key provider test, in process through FastAPI's ``TestClient`` (lifespan on)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ccw.paths import CONFIG_RELATIVE
from ccw.server.app import create_app
from tests.fakes.provider_server import ProviderServer
from tests.server.conftest import API

HOST, PORT = "127.0.0.1", 3000
GOOD = "sk-good-key-0000000000001111"
BAD = "sk-bad-key-00000000000002222"


@pytest.fixture
def fake() -> Iterator[ProviderServer]:
    with ProviderServer() as server:
        yield server


@pytest.fixture
def configured(
    project: Path, fake: ProviderServer, monkeypatch: pytest.MonkeyPatch, server_env: dict[str, str]
) -> Path:
    monkeypatch.setenv("CCW_KEY_GOOD", GOOD)
    monkeypatch.setenv("CCW_KEY_BAD", BAD)
    path = project / CONFIG_RELATIVE
    path.parent.mkdir(parents=True, exist_ok=True)
    keys = [
        {"id": "good", "key": "${CCW_KEY_GOOD}", "enabled": True},
        {"id": "bad", "key": "${CCW_KEY_BAD}", "enabled": True},
    ]
    check = {"enabled": True, "intervalSeconds": 60, "cooldownSeconds": 30, "failureThreshold": 1}
    path.write_text(
        json.dumps(
            {
                "providers": [
                    {
                        "id": "watched",
                        "type": "openai",
                        "apiBase": fake.url + "/v1",
                        "apiKey": "",
                        "apiKeys": keys,
                        "healthCheck": check,
                    },
                    {
                        "id": "quiet",
                        "type": "openai",
                        "apiBase": fake.url + "/v1",
                        "apiKey": "${CCW_KEY_GOOD}",
                    },
                ],
                "endpoints": [],
            }
        )
    )
    fake.refuse_key(BAD)
    return path


def _model_lists(fake: ProviderServer) -> int:
    return len([r for r in fake.requests if r.method == "GET"])


def test_serve_checks_each_key_in_the_background_once_per_interval(
    configured: Path, fake: ProviderServer
) -> None:
    app = create_app(configured, None, HOST, PORT)
    with TestClient(app, base_url=f"http://{HOST}:{PORT}") as client:
        deadline = time.monotonic() + 20
        keys: dict[str, dict[str, object]] = {}
        while time.monotonic() < deadline:
            shown = client.get(f"{API}/providers/watched/health").json()
            keys = {k["keyId"]: k for k in shown["keys"]}
            if all(k["healthStatus"] != "unknown" for k in keys.values()):
                break
            time.sleep(0.1)
        assert keys["good"]["healthStatus"] == "healthy"
        assert keys["bad"]["healthStatus"] == "unhealthy"
        assert "authentication" in str(keys["bad"]["lastError"])
        time.sleep(1.5)  # more than a tick of the loop: no second round within the interval
        assert _model_lists(fake) == 2
        everything = client.get(f"{API}/key-health").json()
        quiet = next(p for p in everything["providers"] if p["providerId"] == "quiet")
        assert quiet["keys"][0]["healthStatus"] == "unknown"  # its checks are off
        text = json.dumps(everything)
        assert GOOD not in text and BAD not in text
    assert "healthStatus" not in configured.read_text()


def test_health_check_now_and_the_per_key_test_route(
    configured: Path, fake: ProviderServer, project: Path
) -> None:
    app = create_app(configured, None, HOST, PORT)
    client = TestClient(app, base_url=f"http://{HOST}:{PORT}")  # no lifespan: no background
    checked = client.post(f"{API}/providers/quiet/health/check")
    assert checked.status_code == 200, checked.text
    assert checked.json()["keys"][0]["healthStatus"] == "healthy"
    one = client.post(f"{API}/providers/watched/test", params={"key_id": "bad"}).json()
    assert one["success"] is False and one["errorKind"] == "authentication"
    assert [k["keyId"] for k in one["keys"]] == ["bad"]
    both = client.post(f"{API}/providers/watched/test").json()
    assert [k["success"] for k in both["keys"]] == [True, False]
    missing = client.post(f"{API}/providers/watched/test", params={"key_id": "nope"})
    assert missing.status_code == 404
    assert GOOD not in json.dumps(both) and BAD not in json.dumps(both)
